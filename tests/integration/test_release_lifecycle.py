"""A Release installs, upgrades, prunes and rolls back on a real cluster: revisions follow the
contract (new content = newest+1, unchanged content = no revision and no writes, rollback = revision
N current again with no new revision), every revision has its immutable ReleaseHistory, and status
shows each managed resource's health."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.support.cluster import Cluster
from tests.support.controller import ControllerProcess
from tests.support.releases import (
    create_release,
    events_for,
    get_release,
    histories,
    nudge,
    patch_release,
    release_body,
    wait_release,
)
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration


def configmap(cluster: Cluster, namespace: str, name: str) -> Any:
    return cluster.core.read_namespaced_config_map(name, namespace)


def test_install_reports_ready_with_history_and_owned_objects(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    create_release(cluster, namespace, release_body("shop"))

    rel = wait_release(cluster, namespace, "shop", phase="Ready", revision=1)

    status = rel["status"]
    assert status["ready"] == "3/3"
    assert {(r["kind"], r["name"], r["phase"]) for r in status["resources"]} == {
        ("ConfigMap", "shop-config", "Ready"), ("Deployment", "shop-web", "Ready"), ("Service", "shop-web", "Ready"),
    }
    assert status["podStatistics"]["updated"] == {"Running": 2}
    assert status["notes"] == "shop revision 1 greets hello"
    assert status["observedGeneration"] == rel["metadata"]["generation"]
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions == {"Ready": "True", "Progressing": "False", "Failed": "False"}

    (h,) = histories(cluster, namespace, "shop")
    assert h["metadata"]["name"] == "shop-v1"
    assert h["metadata"]["labels"] == {"rudder.dev/release": "shop", "rudder.dev/revision": "1"}
    assert h["metadata"]["ownerReferences"][0]["uid"] == rel["metadata"]["uid"]
    assert h["spec"]["revision"] == 1 and h["spec"]["manifestDigest"].startswith("sha256:")
    assert "Install" in h["spec"]["description"]
    wait_for(lambda: (histories(cluster, namespace, "shop")[0].get("status") or {}).get("phase") == "Deployed",
             timeout=30, what="history v1 Deployed")

    cm = configmap(cluster, namespace, "shop-config")
    assert cm.metadata.labels["rudder.dev/release"] == "shop"
    assert cm.metadata.labels["app.kubernetes.io/managed-by"] == "rudder"
    assert cm.metadata.annotations["rudder.dev/revision"] == "1"
    assert cm.metadata.owner_references[0].uid == rel["metadata"]["uid"]
    assert any(e.reason == "Installed" for e in events_for(cluster, namespace, "shop"))


def test_unchanged_content_makes_no_revision_and_zero_writes(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    create_release(cluster, namespace, release_body("calm"))
    wait_release(cluster, namespace, "calm", phase="Ready", revision=1)
    # Let in-flight status updates settle: the Release stops changing.
    before = wait_for(lambda: _stable_versions(cluster, namespace), timeout=30, what="a quiet Release")
    writes = controller.write_samples(namespace)

    # Changes that leave the content as it is (no-op updates, each waking a pass) must cost nothing.
    nudge(cluster, controller, namespace, "calm", 5)

    assert controller.write_samples(namespace) == writes, "an unchanged Release must cost zero write requests"
    after = _versions(cluster, namespace)
    assert {k: v for k, v in after.items() if k != "release"} == \
        {k: v for k, v in before.items() if k != "release"}
    assert len(histories(cluster, namespace, "calm")) == 1
    assert get_release(cluster, namespace, "calm")["status"]["revision"] == 1


def _versions(cluster: Cluster, namespace: str) -> dict[str, str]:
    rel = get_release(cluster, namespace, "calm")
    out = {"release": rel["metadata"]["resourceVersion"]}
    out["configmap"] = configmap(cluster, namespace, "calm-config").metadata.resource_version
    out["service"] = cluster.core.read_namespaced_service("calm-web", namespace).metadata.resource_version
    deployment = cluster.apps.read_namespaced_deployment("calm-web", namespace)
    out["deployment-generation"] = str(deployment.metadata.generation)
    for h in histories(cluster, namespace, "calm"):
        out[h["metadata"]["name"]] = h["metadata"]["resourceVersion"]
    return out


def _stable_versions(cluster: Cluster, namespace: str) -> dict[str, str] | None:
    first = _versions(cluster, namespace)
    second = first
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        second = _versions(cluster, namespace)
        if second != first:
            return None
    return first if second == first else None


def test_upgrade_prune_rollback_and_next_revision(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    create_release(cluster, namespace, release_body("app"))
    wait_release(cluster, namespace, "app", phase="Ready", revision=1)

    # Upgrade: new values -> revision 2; the ConfigMap's content follows.
    patch_release(cluster, namespace, "app", {"spec": {"values": {"greeting": "hi", "tag": "3.9"}}})
    wait_release(cluster, namespace, "app", phase="Ready", revision=2)
    assert configmap(cluster, namespace, "app-config").data == {"greeting": "hi"}
    image = cluster.apps.read_namespaced_deployment("app-web", namespace).spec.template.spec.containers[0].image
    assert image == "registry.k8s.io/pause:3.9"
    wait_for(lambda: [(h["status"] or {}).get("phase") for h in histories(cluster, namespace, "app")]
             == ["Superseded", "Deployed"], timeout=30, what="v1 Superseded, v2 Deployed")

    # Prune: a template that left the chart is deleted from the cluster.
    rel = get_release(cluster, namespace, "app")
    templates = dict(rel["spec"]["chart"]["templates"])
    del templates["configmap.yaml"]
    patch_release(cluster, namespace, "app", {"spec": {"chart": {"templates": {"configmap.yaml": None}}}})
    wait_release(cluster, namespace, "app", phase="Ready", revision=3)
    wait_for(lambda: not [c for c in cluster.core.list_namespaced_config_map(namespace).items
                          if c.metadata.name == "app-config"], timeout=30, what="app-config pruned")

    # Rollback to 1: its stored manifest is applied, the spec restored, no new revision.
    patch_release(cluster, namespace, "app", {"spec": {"rollbackTo": {"revision": 1}}})
    rel = wait_release(cluster, namespace, "app", phase="Ready", revision=1)
    wait_for(lambda: "rollbackTo" not in get_release(cluster, namespace, "app")["spec"], timeout=30,
             what="rollbackTo cleared")
    rel = get_release(cluster, namespace, "app")
    assert rel["spec"].get("values") in ({}, None)
    assert "configmap.yaml" in rel["spec"]["chart"]["templates"]
    assert configmap(cluster, namespace, "app-config").data == {"greeting": "hello"}
    assert len(histories(cluster, namespace, "app")) == 3
    wait_for(lambda: [(h["status"] or {}).get("phase") for h in histories(cluster, namespace, "app")]
             == ["Deployed", "Superseded", "Superseded"], timeout=30, what="v1 Deployed again")
    assert len(histories(cluster, namespace, "app")[0]["status"]["deployedAt"]) == 2
    assert any(e.reason == "RolledBack" for e in events_for(cluster, namespace, "app"))

    # The next real change is newest+1.
    patch_release(cluster, namespace, "app", {"spec": {"values": {"greeting": "hey"}}})
    wait_release(cluster, namespace, "app", phase="Ready", revision=4)
    assert configmap(cluster, namespace, "app-config").data == {"greeting": "hey"}


def test_rollback_to_missing_revision_fails_and_keeps_running_revision(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    create_release(cluster, namespace, release_body("keep"))
    wait_release(cluster, namespace, "keep", phase="Ready", revision=1)
    version = configmap(cluster, namespace, "keep-config").metadata.resource_version

    patch_release(cluster, namespace, "keep", {"spec": {"rollbackTo": {"revision": 7}}})

    rel = wait_release(cluster, namespace, "keep", phase="Failed", message="revision 7 does not exist")
    assert rel["status"]["revision"] == 1
    assert configmap(cluster, namespace, "keep-config").metadata.resource_version == version
    assert len(histories(cluster, namespace, "keep")) == 1
