"""Health for any kind against the real API server: a custom resource whose `spec.healthChecks` CEL rule is
not true yet keeps the Release from Ready (an expression that cannot be evaluated is reported naming the
object), and setting the status field the rule reads makes it Ready; a pod stuck in ImagePullBackOff fails
the revision fast with the pod's reason and message in status, long before `spec.timeout`, and with
`atomic` the last Ready revision comes back then; `dependsOn[].readyExpr` holds a Release until the expression
over its dependency is true; an expression that does not parse is an InvalidSpec naming its field, nothing is
applied, and fixing it proceeds."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.support.cluster import Cluster
from tests.support.controller import ControllerProcess
from tests.support.releases import (
    DEPLOYMENT,
    GROUP,
    VERSION,
    create_release,
    events_for,
    get_release,
    histories,
    patch_release,
    release_body,
    wait_release,
)
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration

WIDGET = """\
apiVersion: {{ values.apiVersion }}
kind: Widget
metadata:
  name: {{ release.name }}-w
spec:
  size: 1
"""


@pytest.fixture
def widget_group(cluster: Cluster, namespace: str) -> Iterator[str]:
    """A namespaced Widget CRD (with a status subresource) in a group of this test's own; deleted at the end."""
    group = f"{namespace}.health.test"
    name = f"widgets.{group}"
    ext = client.ApiextensionsV1Api(cluster.api)
    open_schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    cluster.apply({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": name},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"kind": "Widget", "listKind": "WidgetList", "plural": "widgets", "singular": "widget"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                   "spec": open_schema, "status": open_schema}}}}]},
    })

    def established() -> bool:
        conditions = ext.read_custom_resource_definition(name).status.conditions or []
        return any(c.type == "Established" and c.status == "True" for c in conditions)

    wait_for(established, timeout=60, what=f"CRD {name} Established")
    try:
        yield group
    finally:
        ext.delete_custom_resource_definition(name)
        wait_for(lambda: _gone(lambda: ext.read_custom_resource_definition(name)), timeout=60,
                 what=f"CRD {name} deleted")


def _gone(read: Callable[[], object]) -> bool:
    try:
        read()
    except ApiException as exc:
        return exc.status == 404
    return False


def _delete_release(cluster: Cluster, namespace: str, name: str) -> None:
    """Uninstall before the CRD goes, so the controller deletes the Widget it made while its kind exists."""
    cluster.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "releases", name)
    wait_for(lambda: _gone(lambda: get_release(cluster, namespace, name)), timeout=60,
             what=f"Release {name} uninstalled")


def _resource(rel: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(r for r in rel["status"]["resources"] if r["kind"] == kind)


def test_a_cel_health_rule_gates_ready_for_a_custom_resource(
    cluster: Cluster, namespace: str, controller: ControllerProcess, widget_group: str
) -> None:
    api_version = f"{widget_group}/v1"
    # No has(): until the field exists the rule cannot be evaluated, and status says so.
    checks = [{"apiVersion": api_version, "kind": "Widget", "current": "self.status.ready == true",
               "failed": "has(self.status.error)"}]
    created = create_release(cluster, namespace, release_body(
        "gadget", templates={"widget.yaml": WIDGET}, chart_values={"apiVersion": api_version},
        healthChecks=checks))
    try:
        assert created["spec"]["healthChecks"] == checks, "the Release CRD keeps spec.healthChecks"
        rel = wait_release(cluster, namespace, "gadget", phase="Progressing", revision=1,
                           message="spec.healthChecks[0].current: cannot evaluate on Widget/gadget-w")
        assert _resource(rel, "Widget")["phase"] == "Progressing"
        assert "no such member" in _resource(rel, "Widget")["message"]

        cluster.custom.patch_namespaced_custom_object_status(
            widget_group, "v1", namespace, "widgets", "gadget-w", {"status": {"ready": False}})
        rel = wait_release(cluster, namespace, "gadget", phase="Progressing", revision=1,
                           message="Widget/gadget-w: waiting for spec.healthChecks[0].current")
        assert rel["status"]["conditions"][0]["status"] == "False"

        cluster.custom.patch_namespaced_custom_object_status(
            widget_group, "v1", namespace, "widgets", "gadget-w", {"status": {"ready": True}})
        rel = wait_release(cluster, namespace, "gadget", phase="Ready", revision=1)
        assert _resource(rel, "Widget") == {"apiVersion": api_version, "kind": "Widget", "name": "gadget-w",
                                            "phase": "Ready", "message": "spec.healthChecks[0].current is true"}

        cluster.custom.patch_namespaced_custom_object_status(
            widget_group, "v1", namespace, "widgets", "gadget-w", {"status": {"error": "disk full"}})
        rel = wait_release(cluster, namespace, "gadget", phase="Failed", revision=1,
                           message="Widget/gadget-w: spec.healthChecks[0].failed is true")
        assert len(histories(cluster, namespace, "gadget")) == 1
    finally:
        _delete_release(cluster, namespace, "gadget")


UNSCHEDULABLE = DEPLOYMENT.replace(
    "      containers:", "      nodeSelector: {{ values.nodeSelector | tojson }}\n      containers:")
PULL_ERROR = 'Back-off pulling image "registry.k8s.io/pause:nope"'


def _image_pull_back_off(cluster: Cluster, namespace: str, pod: Any) -> None:
    # KWOK pulls no images: the pod is given the status a kubelet reports for an image that does not exist.
    cluster.core.patch_namespaced_pod_status(pod.metadata.name, namespace, {"status": {"containerStatuses": [{
        "name": "web", "image": pod.spec.containers[0].image, "imageID": "", "ready": False, "restartCount": 0,
        "state": {"waiting": {"reason": "ImagePullBackOff", "message": PULL_ERROR}},
    }]}})


def _pending_pod(cluster: Cluster, namespace: str, label: str) -> Any:
    def find() -> Any:
        pods = cluster.core.list_namespaced_pod(namespace, label_selector=label).items
        return next((p for p in pods if p.spec.node_selector and not p.metadata.deletion_timestamp), None)

    return wait_for(find, timeout=60, what="the new revision's pod")


def test_image_pull_back_off_fails_fast_with_the_pods_reason(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    # The pod is never scheduled (so nothing else touches its status) and the timeout is far away.
    values = {"replicas": 1, "tag": "3.10", "nodeSelector": {"nowhere": "true"}}
    create_release(cluster, namespace, release_body("pull", templates={"deployment.yaml": UNSCHEDULABLE},
                                                    chart_values=values, timeout="30m"))
    wait_release(cluster, namespace, "pull", phase="Progressing", revision=1)
    pod = _pending_pod(cluster, namespace, "app=pull-web")

    _image_pull_back_off(cluster, namespace, pod)

    rel = wait_release(cluster, namespace, "pull", phase="Failed", revision=1, message="failed fast")
    failed = {c["type"]: c for c in rel["status"]["conditions"]}["Failed"]
    assert failed["status"] == "True"
    assert failed["reason"] == "ImagePullBackOff"
    message = rel["status"]["message"]
    assert f"pod {pod.metadata.name} container web: ImagePullBackOff" in message
    assert PULL_ERROR in message
    assert rel["status"]["podStatistics"]["updated"] == {"ImagePullBackOff": 1}
    assert [(h["spec"]["revision"], (h.get("status") or {}).get("phase")) for h in histories(
        cluster, namespace, "pull")] == [(1, "Failed")]


def test_atomic_rolls_back_when_the_revision_fails_fast(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    values = {"replicas": 1, "tag": "3.10", "nodeSelector": {}}
    create_release(cluster, namespace, release_body("quick", templates={"deployment.yaml": UNSCHEDULABLE},
                                                    chart_values=values, timeout="30m", atomic=True))
    wait_release(cluster, namespace, "quick", phase="Ready", revision=1)

    patch_release(cluster, namespace, "quick", {"spec": {"values": {"nodeSelector": {"nowhere": "true"}}}})
    wait_release(cluster, namespace, "quick", phase="Progressing", revision=2)
    _image_pull_back_off(cluster, namespace, _pending_pod(cluster, namespace, "app=quick-web"))

    def phases() -> list[tuple[int, str | None]]:
        return [(h["spec"]["revision"], (h.get("status") or {}).get("phase"))
                for h in histories(cluster, namespace, "quick")]

    wait_for(lambda: phases() == [(1, "Deployed"), (2, "Failed")], timeout=60, what="revision 2 Failed")
    rel = wait_release(cluster, namespace, "quick", phase="Ready", revision=1, timeout=90)
    assert "nodeSelector" not in rel["spec"].get("values", {})
    reasons = {e.reason for e in events_for(cluster, namespace, "quick")}
    assert {"ImagePullBackOff", "AtomicRollback"} <= reasons
    assert not cluster.apps.read_namespaced_deployment("quick-web", namespace).spec.template.spec.node_selector


def test_depends_on_with_a_ready_expression_waits_for_it(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    create_release(cluster, namespace, release_body("db"))
    wait_release(cluster, namespace, "db", phase="Ready", revision=1)
    depends = [{"name": "db", "readyExpr": "dep.status.phase == 'Ready' && dep.status.revision >= 2"}]
    created = create_release(cluster, namespace, release_body("front", dependsOn=depends))
    assert created["spec"]["dependsOn"] == depends, "the Release CRD keeps spec.dependsOn[].readyExpr"

    rel = wait_release(cluster, namespace, "front", phase="Pending",
                       message="db (spec.dependsOn[0].readyExpr is false)")
    assert "revision" not in rel["status"]
    assert not cluster.core.list_namespaced_config_map(namespace, label_selector="rudder.dev/release=front").items

    patch_release(cluster, namespace, "db", {"spec": {"values": {"greeting": "v2"}}})
    wait_release(cluster, namespace, "db", phase="Ready", revision=2)
    wait_release(cluster, namespace, "front", phase="Ready", revision=1)


def test_a_bad_expression_is_an_invalid_spec_naming_its_field_and_nothing_is_applied(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    bad = [{"group": "apps", "kind": "Deployment", "current": "self.status.readyReplicas >"}]
    create_release(cluster, namespace, release_body("typo", healthChecks=bad))

    rel = wait_release(cluster, namespace, "typo", phase="Failed",
                       message="spec.healthChecks[0].current: syntax error at line 1")
    assert {c["type"]: c for c in rel["status"]["conditions"]}["Failed"]["reason"] == "InvalidSpec"
    assert not cluster.apps.list_namespaced_deployment(namespace).items

    good = [{"group": "apps", "kind": "Deployment",
             "current": "has(self.status.readyReplicas) && self.status.readyReplicas == self.spec.replicas"}]
    patch_release(cluster, namespace, "typo", {"spec": {"healthChecks": good}})
    rel = wait_release(cluster, namespace, "typo", phase="Ready", revision=1)
    web = next(r for r in rel["status"]["resources"] if r["kind"] == "Deployment")
    assert web["message"] == "spec.healthChecks[0].current is true"
