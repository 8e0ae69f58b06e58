"""Status and objects follow the cluster, level-triggered and event-driven (the session controller's safety-net
resync is an hour): drifted fields are restored and deleted objects recreated, a crash after the rollout and a
pod going unready show in status without any change to the Release, suspend/resume scale to zero and back, a
revision past its timeout is Failed and with `atomic` the last Ready revision comes back."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.cluster import Cluster
from tests.support.controller import ControllerProcess
from tests.support.releases import (
    UNSCHEDULABLE,
    create_release,
    get_release,
    histories,
    patch_release,
    release_body,
    wait_release,
)
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration


def test_drift_is_restored_and_deleted_objects_recreated(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    create_release(cluster, namespace, release_body("drift"))
    wait_release(cluster, namespace, "drift", phase="Ready", revision=1)

    cluster.core.patch_namespaced_config_map("drift-config", namespace, {"data": {"greeting": "hacked"}})
    wait_for(lambda: cluster.core.read_namespaced_config_map("drift-config", namespace).data
             == {"greeting": "hello"}, timeout=30, what="drifted field restored")

    cluster.core.delete_namespaced_service("drift-web", namespace)
    wait_for(lambda: cluster.core.read_namespaced_service("drift-web", namespace), timeout=30,
             what="deleted Service recreated")
    assert get_release(cluster, namespace, "drift")["status"]["revision"] == 1
    assert len(histories(cluster, namespace, "drift")) == 1


def _crash(cluster: Cluster, namespace: str, pod: Any) -> None:
    status = {"status": {"containerStatuses": [{
        "name": "web", "image": pod.spec.containers[0].image, "imageID": "", "ready": False, "restartCount": 5,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off restarting failed container"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
    }]}}
    cluster.core.patch_namespaced_pod_status(pod.metadata.name, namespace, status)


def test_crash_after_rollout_shows_in_status_without_touching_the_release(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    create_release(cluster, namespace, release_body("crashy"))
    rel = wait_release(cluster, namespace, "crashy", phase="Ready", revision=1)
    generation = rel["metadata"]["generation"]
    pod = cluster.core.list_namespaced_pod(namespace, label_selector="app=crashy-web").items[0]

    _crash(cluster, namespace, pod)

    def crashing() -> dict[str, Any] | None:
        r = get_release(cluster, namespace, "crashy")
        stats = r["status"].get("podStatistics", {}).get("updated", {})
        return r if "CrashLoopBackOff" in stats and pod.metadata.name in r["status"]["message"] else None

    rel = wait_for(crashing, timeout=30, what="the crash to show in status")
    assert rel["metadata"]["generation"] == generation
    assert rel["status"]["phase"] in ("Failed", "Progressing")


def _unready(cluster: Cluster, namespace: str, pod: Any) -> None:
    now = "2026-01-01T00:00:00Z"
    cluster.core.patch_namespaced_pod_status(pod.metadata.name, namespace, {"status": {
        "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": now},
                       {"type": "ContainersReady", "status": "False", "lastTransitionTime": now}],
        "containerStatuses": [{
            "name": "web", "image": pod.spec.containers[0].image, "imageID": "", "ready": False,
            "restartCount": 3, "started": False,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off restarting failed container"}},
        }],
    }})


def test_a_pod_going_unready_flips_the_release_status(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    ns = namespace
    create_release(cluster, ns, release_body("pods"))
    rel = wait_release(cluster, ns, "pods", phase="Ready", revision=1)
    pod = cluster.core.list_namespaced_pod(ns, label_selector="app=pods-web").items[0]

    _unready(cluster, ns, pod)

    def flipped() -> dict[str, Any] | None:
        r = get_release(cluster, ns, "pods")
        return r if r["status"]["phase"] != "Ready" and pod.metadata.name in r["status"]["message"] else None

    after = wait_for(flipped, timeout=30, what="the unready pod to show in the Release's status")
    assert after["metadata"]["generation"] == rel["metadata"]["generation"]
    assert after["status"]["phase"] in ("Failed", "Progressing")


def test_suspend_scales_to_zero_and_resume_restores_replicas(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    create_release(cluster, namespace, release_body("nap", chart_values={"greeting": "x", "replicas": 3,
                                                                          "tag": "3.10"}))
    wait_release(cluster, namespace, "nap", phase="Ready", revision=1)

    patch_release(cluster, namespace, "nap", {"spec": {"suspend": True}})
    wait_release(cluster, namespace, "nap", phase="Suspended")
    wait_for(lambda: cluster.apps.read_namespaced_deployment("nap-web", namespace).spec.replicas == 0,
             timeout=30, what="scaled to zero")
    wait_for(lambda: not cluster.core.list_namespaced_pod(namespace, label_selector="app=nap-web").items,
             timeout=60, what="pods gone")

    patch_release(cluster, namespace, "nap", {"spec": {"suspend": False}})
    wait_release(cluster, namespace, "nap", phase="Ready", revision=1)
    assert cluster.apps.read_namespaced_deployment("nap-web", namespace).spec.replicas == 3
    assert len(histories(cluster, namespace, "nap")) == 1




def test_timeout_fails_and_atomic_restores_last_ready_revision(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    templates = {"deployment.yaml": UNSCHEDULABLE}
    values = {"replicas": 1, "tag": "3.10", "nodeSelector": {}}
    create_release(cluster, namespace, release_body("atom", templates=templates, chart_values=values,
                                                    timeout="8s", atomic=True))
    wait_release(cluster, namespace, "atom", phase="Ready", revision=1)

    # Revision 2 can never be scheduled: past its timeout it fails and revision 1 comes back.
    patch_release(cluster, namespace, "atom", {"spec": {"values": {"nodeSelector": {"nowhere": "true"}}}})
    def phases() -> list[tuple[int, str | None]]:
        return [(h["spec"]["revision"], (h.get("status") or {}).get("phase"))
                for h in histories(cluster, namespace, "atom")]

    # Revision 2 fails its deadline and is marked Failed; revision 1 is current again.
    wait_for(lambda: phases() == [(1, "Deployed"), (2, "Failed")], timeout=120, what="revision 2 Failed")
    rel = wait_release(cluster, namespace, "atom", phase="Ready", revision=1, timeout=120)

    assert rel["spec"]["values"] == {} or "nodeSelector" not in rel["spec"].get("values", {})
    assert phases() == [(1, "Deployed"), (2, "Failed")]
    dep = cluster.apps.read_namespaced_deployment("atom-web", namespace)
    assert not dep.spec.template.spec.node_selector


def test_timeout_without_atomic_leaves_release_failed(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    templates = {"deployment.yaml": UNSCHEDULABLE}
    values = {"replicas": 1, "tag": "3.10", "nodeSelector": {"nowhere": "true"}}
    create_release(cluster, namespace, release_body("slow", templates=templates, chart_values=values,
                                                    timeout="5s"))

    rel = wait_release(cluster, namespace, "slow", phase="Failed", revision=1, timeout=60)

    assert "not ready within 5s" in rel["status"]["message"]
    failed = {c["type"]: c for c in rel["status"]["conditions"]}["Failed"]
    assert failed["status"] == "True" and failed["reason"] == "ProgressDeadlineExceeded"
