"""Golden render tests: each example chart with given values renders exactly the objects (and notes) in
golden/. Regenerate after an intended chart change with RUDDER_UPDATE_GOLDEN=1 and review the diff."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest

from rudder.domain import validate_objects
from rudder.render import ReleaseInfo, RenderedChart, dump_yaml, load_documents, merge_values, render_chart

from .conftest import load_example

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")
RELEASE = ReleaseInfo("demo", "demo-ns", 3)
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "web-app-defaults": ("web-app", {}),
    "web-app-fixed-replicas": (
        "web-app",
        {
            "autoscaling": {"enabled": False},
            "replicaCount": 4,
            "image": {"tag": "1.27.3"},
            "config": {"LOG_LEVEL": "debug", "FEATURE_X": "on"},
            "podAnnotations": {"team": "shop"},
            "service": {"type": "LoadBalancer", "port": 8080},
            "tolerations": [{"key": "spot", "operator": "Exists"}],
        },
    ),
    "stateful-defaults": ("stateful", {}),
    "stateful-ephemeral": ("stateful", {"persistence": {"enabled": False}, "replicas": 1, "extraArgs": []}),
    "stateful-storage-class": ("stateful", {"persistence": {"storageClassName": "fast-ssd", "size": "20Gi"}}),
}


def render_case(case: str) -> RenderedChart:
    chart_name, values = CASES[case]
    chart = load_example(chart_name)
    result = render_chart(chart, merge_values(chart.defaults, [], values), RELEASE)
    assert isinstance(result, RenderedChart), result
    return result


def golden_text(rendered: RenderedChart) -> str:
    return "".join(f"---\n# Source: {o.template}\n{dump_yaml(o.body)}" for o in rendered.objects)


def read_golden(case: str) -> tuple[list[tuple[str, Any]], str]:
    with open(os.path.join(GOLDEN, f"{case}.yaml"), encoding="utf-8") as handle:
        text = handle.read()
    sources = re.findall(r"^# Source: (.+)$", text, flags=re.MULTILINE)
    documents = [doc for doc in load_documents(text) if doc is not None]
    with open(os.path.join(GOLDEN, f"{case}.NOTES.txt"), encoding="utf-8") as handle:
        notes = handle.read().rstrip("\n")
    return list(zip(sources, documents, strict=True)), notes


@pytest.mark.parametrize("case", sorted(CASES))
def test_chart_renders_the_golden_objects(case: str) -> None:
    rendered = render_case(case)
    if os.environ.get("RUDDER_UPDATE_GOLDEN"):
        with open(os.path.join(GOLDEN, f"{case}.yaml"), "w", encoding="utf-8") as handle:
            handle.write(golden_text(rendered))
        with open(os.path.join(GOLDEN, f"{case}.NOTES.txt"), "w", encoding="utf-8") as handle:
            handle.write(rendered.notes + "\n")
    expected, notes = read_golden(case)
    assert [(o.template, o.body) for o in rendered.objects] == expected
    assert rendered.notes == notes


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_objects_pass_validation(case: str) -> None:
    assert validate_objects(render_case(case).objects, RELEASE.namespace) == ()


def test_hpa_owns_replicas_only_when_autoscaling_is_enabled() -> None:
    kinds = {o.body["kind"]: o.body for o in render_case("web-app-defaults").objects}
    assert "HorizontalPodAutoscaler" in kinds
    assert "replicas" not in kinds["Deployment"]["spec"]
    fixed = {o.body["kind"]: o.body for o in render_case("web-app-fixed-replicas").objects}
    assert "HorizontalPodAutoscaler" not in fixed
    assert fixed["Deployment"]["spec"]["replicas"] == 4


def test_config_change_changes_the_pod_template_checksum() -> None:
    def checksum(case: str) -> str:
        deployment = next(o.body for o in render_case(case).objects if o.body["kind"] == "Deployment")
        return str(deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"])

    assert checksum("web-app-defaults") != checksum("web-app-fixed-replicas")
