"""A tenant's template cannot take the shared controller down (issue 11, F2/F3/F10, against the real API
server): a Release whose template exhausts memory, burns CPU, or builds a huge string, or whose values are
an alias bomb, is marked Failed with a RenderError naming the template (or values source), nothing of it is
applied, no secret appears in its status or events, and the same controller process stays alive and
still installs another Release afterwards.
"""

from __future__ import annotations

import base64

import pytest

from tests.support.cluster import Cluster
from tests.support.controller import ControllerProcess
from tests.support.releases import create_release, events_for, histories, release_body, wait_release

pytestmark = pytest.mark.integration

SENTINEL = "tenant-secret-SENTINEL-42"
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\ndata: {a: '1'}\n"
MEMORY_BOMB = ('{% set ns = namespace(s=values.secret) %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}'
               '{% endfor %}\n')
CPU_BOMB = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}\n"
SIZE_BOMB = "kind: ConfigMap\nx: {{ values.secret * 10**9 }}\n"
LAUGHS = "\n".join(
    ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
) + "\n"

BOMBS = [
    ("memory", {"a.yaml": CM, "bomb.yaml": MEMORY_BOMB},
     "bomb.yaml:1: the render exceeded its memory limit of 512 MiB"),
    ("cpu", {"a.yaml": CM, "bomb.yaml": CPU_BOMB}, "bomb.yaml:1: the render exceeded its CPU time limit of 10 s"),
    ("size", {"a.yaml": CM, "bomb.yaml": SIZE_BOMB},
     f"bomb.yaml:2: repetition with * would make {len(SENTINEL) * 10**9} characters (limit 4194304)"),
]


def _secret_leaks(cluster: Cluster, namespace: str, name: str, message: str) -> list[str]:
    forms = (SENTINEL, base64.b64encode(SENTINEL.encode()).decode())
    texts = [message, *(f"{e.reason} {e.message}" for e in events_for(cluster, namespace, name))]
    return [t for t in texts if any(form in t for form in forms)]


def _configmaps(cluster: Cluster, namespace: str) -> set[str]:
    return {c.metadata.name for c in cluster.core.list_namespaced_config_map(namespace).items} - {"kube-root-ca.crt"}


def _values_secret(cluster: Cluster, namespace: str, text: str) -> None:
    cluster.core.create_namespaced_secret(namespace, {
        "metadata": {"name": "tenant-values"}, "stringData": {"values.yaml": text},
    })


@pytest.mark.corpus("sandbox")
@pytest.mark.parametrize(("kind", "templates", "message"), BOMBS, ids=[b[0] for b in BOMBS])
def test_a_bomb_template_fails_its_release_and_the_controller_carries_on(
    *, kind: str, templates: dict[str, str], message: str, cluster: Cluster, namespace: str,
    controller: ControllerProcess,
) -> None:
    _values_secret(cluster, namespace, f"secret: {SENTINEL}\n")
    create_release(cluster, namespace, release_body(
        "bomb", templates=templates, chart_values={},
        valuesFrom=[{"secretKeyRef": {"name": "tenant-values", "key": "values.yaml"}}]))

    failed = wait_release(cluster, namespace, "bomb", phase="Failed", timeout=300)

    assert failed["status"]["message"] == message
    assert [c["reason"] for c in failed["status"]["conditions"] if c["type"] == "Ready"] == ["RenderFailed"]
    assert _configmaps(cluster, namespace) == set(), "nothing of the bomb's revision is applied"
    assert histories(cluster, namespace, "bomb") == []
    assert any(e.reason == "RenderFailed" for e in events_for(cluster, namespace, "bomb"))
    assert _secret_leaks(cluster, namespace, "bomb", failed["status"]["message"]) == []
    # The same controller process is alive and still reconciles.
    assert controller.healthy()
    create_release(cluster, namespace, release_body("after", templates={"a.yaml": CM}, chart_values={}))
    wait_release(cluster, namespace, "after", phase="Ready", revision=1)
    assert controller.healthy()


@pytest.mark.corpus("values")
def test_an_alias_bomb_in_values_from_fails_naming_the_source(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    _values_secret(cluster, namespace, f"secret: {SENTINEL}\n" + LAUGHS)
    create_release(cluster, namespace, release_body(
        "laughs", templates={"a.yaml": CM}, chart_values={},
        valuesFrom=[{"secretKeyRef": {"name": "tenant-values", "key": "values.yaml"}}]))

    failed = wait_release(cluster, namespace, "laughs", phase="Failed", timeout=120)

    assert failed["status"]["message"] == (
        "spec.valuesFrom[0] (Secret tenant-values, key values.yaml):7: "
        "invalid YAML: aliases expand to more than 200000 nodes")
    assert _configmaps(cluster, namespace) == set()
    assert _secret_leaks(cluster, namespace, "laughs", failed["status"]["message"]) == []
    assert controller.healthy()


@pytest.mark.corpus("models")
def test_a_schema_valid_but_absurd_timeout_is_a_field_error_not_a_crash_loop(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    # `99999999999h` matches the CRD's pattern and length; it used to overflow date arithmetic on every resync.
    create_release(cluster, namespace, release_body("forever", templates={"a.yaml": CM}, chart_values={},
                                                    timeout="99999999999h"))

    failed = wait_release(cluster, namespace, "forever", phase="Failed")

    assert failed["status"]["message"] == "spec.timeout: duration too long: at most 2562047h (Go's largest duration)"
    assert _configmaps(cluster, namespace) == set()
    assert controller.healthy()
