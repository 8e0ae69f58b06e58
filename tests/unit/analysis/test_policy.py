"""MetricPolicy / ClusterMetricPolicy parsing and the policies/ library.

Pins down: every library policy loads into a typed model, carries the documented
exporter section and renders for every track; defaults are the CRD's; invalid
objects are refused with a message naming the object and the field.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from canary.analysis.kayenta import NaNStrategy
from canary.analysis.policy import MetricType, PolicyError, TestKind, load_policies, parse_policy
from canary.analysis.promql import QueryContext, Track, render_queries
from canary.analysis.verdicts import Direction

LIBRARY = Path(__file__).resolve().parents[3] / "policies"
EXPECTED = {
    "http-error-rate", "http-latency-p50", "http-latency-p95", "http-latency-p99",
    "nginx-error-rate", "nginx-latency-p50", "nginx-latency-p95", "nginx-latency-p99",
    "istio-error-rate", "istio-latency-p50", "istio-latency-p95", "istio-latency-p99",
    "pod-restarts", "cpu-saturation",
}  # fmt: skip

MINIMAL: dict[str, Any] = {
    "apiVersion": "rudder.dev/v1alpha1",
    "kind": "MetricPolicy",
    "metadata": {"name": "errors", "namespace": "shop"},
    "spec": {"type": "ratio", "test": "proportion", "queries": {"errors": "e", "total": "t"}},
}


def test_library_loads_and_is_documented() -> None:
    policies = load_policies(LIBRARY)
    assert {p.name for p in policies} == EXPECTED
    readme = (LIBRARY / "README.md").read_text()
    for policy in policies:
        assert f"`{policy.name}`" in readme or policy.name.split("-")[0] in readme
        assert policy.kind == "ClusterMetricPolicy"
        assert policy.namespace is None
        assert policy.description


@pytest.mark.parametrize("track", list(Track))
def test_library_renders_for_every_track(track: Track) -> None:
    context = QueryContext(namespace="prod", workload="web", track=track, pod_regex="web-x-.*", interval="5m")
    for policy in load_policies(LIBRARY):
        rendered = render_queries(policy.queries, context)
        assert set(rendered) == set(policy.queries)
        for query in rendered.values():
            assert "{{" not in query
            assert '"prod"' in query


def test_generic_http_policies_select_namespace_and_pods() -> None:
    context = QueryContext(namespace="prod", workload="web", track=Track.CANARY, pod_regex="web-canary-.*")
    for policy in load_policies(LIBRARY / "http.yaml"):
        for query in render_queries(policy.queries, context).values():
            assert 'namespace="prod"' in query
            assert 'pod=~"web-canary-.*"' in query


def test_defaults_are_the_crds() -> None:
    policy = parse_policy(MINIMAL)
    assert policy.namespace == "shop"
    assert policy.type is MetricType.RATIO
    assert policy.test is TestKind.PROPORTION
    assert policy.direction is Direction.INCREASE
    assert policy.confidence == 0.98
    assert policy.alpha == pytest.approx(0.02)
    assert policy.min_samples == 50
    assert policy.allowed_increase == 1.1  # the CRD default since issue 10 (1.0 failed harmless 1% changes)
    assert policy.nan_strategy is NaNStrategy.REMOVE
    assert not policy.critical


def _with(path: str, value: object) -> dict[str, Any]:
    obj = copy.deepcopy(MINIMAL)
    target = obj
    *parents, last = path.split(".")
    for key in parents:
        target = target[key]
    if value is None:
        del target[last]
    else:
        target[last] = value
    return obj


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("kind", "Policy", "kind 'Policy'"),
        ("apiVersion", "rudder.dev/v1", "apiVersion"),
        ("metadata.name", None, "metadata.name"),
        ("spec.type", "histogram", "spec.type: 'histogram' is not one of"),
        ("spec.test", "t-test", "spec.test"),
        ("spec.test", "mann-whitney", "does not apply to type 'ratio'"),
        ("spec.queries", {"errors": "e"}, "needs total"),
        ("spec.queries", {"errors": "e", "total": ""}, "queries.total"),
        ("spec.confidence", 1.5, "confidence"),
        ("spec.minSamples", -1, "minSamples"),
        ("spec.allowedIncrease", "a lot", "allowedIncrease: expected a number"),
        ("spec.direction", "up", "direction"),
        ("spec.threshold", {"min": 2, "max": 1}, "threshold"),
    ],
)
def test_invalid_policies_name_the_field(path: str, value: object, message: str) -> None:
    with pytest.raises(PolicyError, match=message.replace("(", r"\(")):
        parse_policy(_with(path, value))


def test_threshold_and_quantile_tests_need_their_fields() -> None:
    threshold = _with("spec.type", "threshold")
    threshold["spec"].update(test="threshold", queries={"value": "v"})
    with pytest.raises(PolicyError, match="threshold test needs"):
        parse_policy(threshold)
    quantile = _with("spec.type", "distribution")
    quantile["spec"].update(test="quantile", queries={"buckets": "b"})
    with pytest.raises(PolicyError, match="quantile: required"):
        parse_policy(quantile)


def test_other_kinds_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n")
    (tmp_path / "one.yaml").write_text(yaml.safe_dump(MINIMAL))
    assert [p.name for p in load_policies(tmp_path)] == ["errors"]


def test_a_broken_file_names_itself(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("apiVersion: rudder.dev/v1alpha1\nkind: MetricPolicy\nmetadata: {name: x}\nspec: {type: ratio}\n")
    with pytest.raises(PolicyError, match=r"bad\.yaml"):
        load_policies(path)
