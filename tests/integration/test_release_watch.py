"""The Release controller is driven by watch events, not by its resync timer: with the safety net at an hour,
a managed object edited or deleted by hand is repaired, a pod going unready flips the Release's status, and a
change to an input ConfigMap makes a new revision; passes with nothing changed (the safety net at two seconds)
send no write and no read request at all, every read being answered by the watch-fed cache. These tests run
their own controller in an `iso-` namespace, with the `--resync` they need."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.cluster import Cluster
from tests.support.controller import LOG_DIR, ControllerProcess
from tests.support.releases import create_release, get_release, histories, release_body, wait_release
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration

RECONCILES = 'rudder_release_reconciles_total{outcome="ok"}'


def own_controller(cluster: Cluster, namespace: str, resync: str) -> Iterator[ControllerProcess]:
    proc = ControllerProcess(cluster.kubeconfig, args=["--namespace", namespace, "--controllers", "release",
                                                       "--resync", resync])
    proc.start(LOG_DIR)
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def no_resync(cluster: Cluster, iso_namespace: str) -> Iterator[ControllerProcess]:
    """A controller whose safety-net resync never fires during a test."""
    yield from own_controller(cluster, iso_namespace, "3600")


@pytest.fixture
def fast_resync(cluster: Cluster, iso_namespace: str) -> Iterator[ControllerProcess]:
    """A controller whose safety net re-reads every Release every two seconds."""
    yield from own_controller(cluster, iso_namespace, "2")


def reads(controller: ControllerProcess) -> dict[str, float]:
    """Get and list requests the controller sent to the API server (those its cache did not answer), by kind;
    the watch streams feeding the cache are not requests of a pass."""
    return {k: v for k, v in controller.metrics().items()
            if k.startswith("rudder_api_read_requests_total") and 'verb="watch"' not in k}


def test_hand_edits_and_deletions_are_repaired_without_a_resync(
    cluster: Cluster, iso_namespace: str, no_resync: ControllerProcess
) -> None:
    ns = iso_namespace
    create_release(cluster, ns, release_body("drift"))
    wait_release(cluster, ns, "drift", phase="Ready", revision=1)

    cluster.core.patch_namespaced_config_map("drift-config", ns, {"data": {"greeting": "hacked"}})
    wait_for(lambda: cluster.core.read_namespaced_config_map("drift-config", ns).data == {"greeting": "hello"},
             timeout=30, what="the edited ConfigMap restored")

    cluster.core.delete_namespaced_service("drift-web", ns)
    wait_for(lambda: cluster.core.read_namespaced_service("drift-web", ns), timeout=30,
             what="the deleted Service recreated")
    assert get_release(cluster, ns, "drift")["status"]["revision"] == 1
    assert len(histories(cluster, ns, "drift")) == 1


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


def test_a_pod_going_unready_flips_the_release_status_without_a_resync(
    cluster: Cluster, iso_namespace: str, no_resync: ControllerProcess
) -> None:
    ns = iso_namespace
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


def test_an_input_configmap_change_makes_a_new_revision_without_a_resync(
    cluster: Cluster, iso_namespace: str, no_resync: ControllerProcess
) -> None:
    ns = iso_namespace
    cluster.core.create_namespaced_config_map(ns, {"metadata": {"name": "inputs"},
                                                   "data": {"values.yaml": "greeting: first\n"}})
    body = release_body("fed", valuesFrom=[{"configMapKeyRef": {"name": "inputs", "key": "values.yaml"}}])
    create_release(cluster, ns, body)
    wait_release(cluster, ns, "fed", phase="Ready", revision=1)
    assert cluster.core.read_namespaced_config_map("fed-config", ns).data == {"greeting": "first"}

    cluster.core.patch_namespaced_config_map("inputs", ns, {"data": {"values.yaml": "greeting: second\n"}})

    wait_release(cluster, ns, "fed", phase="Ready", revision=2)
    assert cluster.core.read_namespaced_config_map("fed-config", ns).data == {"greeting": "second"}
    assert [h["spec"]["revision"] for h in histories(cluster, ns, "fed")] == [1, 2]


def test_passes_with_nothing_changed_send_no_request(
    cluster: Cluster, iso_namespace: str, fast_resync: ControllerProcess
) -> None:
    ns = iso_namespace
    create_release(cluster, ns, release_body("idle"))
    wait_release(cluster, ns, "idle", phase="Ready", revision=1)
    # The first safety-net pass after Ready may still settle the history's ready flag; from then on, quiet.
    start = fast_resync.metrics().get(RECONCILES, 0)
    wait_for(lambda: fast_resync.metrics().get(RECONCILES, 0) >= start + 2, timeout=60, what="two more passes")
    writes, read, passes = fast_resync.writes(), reads(fast_resync), fast_resync.metrics().get(RECONCILES, 0)

    wait_for(lambda: fast_resync.metrics().get(RECONCILES, 0) >= passes + 3, timeout=60,
             what="three safety-net passes")

    assert fast_resync.writes() == writes, "an unchanged Release must cost zero write requests"
    assert reads(fast_resync) == read, "every read of an unchanged Release must come from the cache"
    assert get_release(cluster, ns, "idle")["status"]["phase"] == "Ready"
