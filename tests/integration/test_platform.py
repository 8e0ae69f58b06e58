"""The local control plane behaves like a real cluster where the controllers rely on it:
Deployments roll out to Ready pods on KWOK nodes, template changes create new ReplicaSets,
owners garbage-collect their dependents, and CRD schemas are enforced at admission."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from tests.support.cluster import Cluster
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration


def deployment(name: str, replicas: int, image: str = "registry.k8s.io/pause:3.10") -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
        },
    }


def rolled_out(cluster: Cluster, namespace: str, name: str, replicas: int) -> bool:
    d = cluster.apps.read_namespaced_deployment(name, namespace)
    s = d.status
    return bool(
        s.observed_generation == d.metadata.generation
        and s.updated_replicas == replicas
        and s.ready_replicas == replicas
        and s.available_replicas == replicas
        and (s.replicas or 0) == replicas
    )


def ready_pods(cluster: Cluster, namespace: str, selector: str) -> list[Any]:
    pods = cluster.core.list_namespaced_pod(namespace, label_selector=selector).items
    return [
        p for p in pods
        if p.spec.node_name
        and any(c.type == "Ready" and c.status == "True" for c in (p.status.conditions or []))
    ]


def test_deployment_becomes_available_with_three_ready_pods(cluster: Cluster, namespace: str) -> None:
    cluster.apply(deployment("web", 3), namespace)

    wait_for(lambda: rolled_out(cluster, namespace, "web", 3), timeout=90, what="web to roll out")

    conds = cluster.apps.read_namespaced_deployment("web", namespace).status.conditions
    assert any(c.type == "Available" and c.status == "True" for c in conds)
    pods = ready_pods(cluster, namespace, "app=web")
    assert len(pods) == 3
    assert all(p.spec.node_name for p in pods), "pods are scheduled onto (KWOK) nodes"


def test_template_change_creates_new_replicaset_and_finishes(cluster: Cluster, namespace: str) -> None:
    cluster.apply(deployment("web", 2), namespace)
    wait_for(lambda: rolled_out(cluster, namespace, "web", 2), timeout=90, what="first rollout")
    first = {rs.metadata.name for rs in cluster.apps.list_namespaced_replica_set(namespace).items}

    cluster.apply(deployment("web", 2, image="registry.k8s.io/pause:3.9"), namespace)
    wait_for(lambda: rolled_out(cluster, namespace, "web", 2), timeout=90, what="second rollout")

    sets = cluster.apps.list_namespaced_replica_set(namespace).items
    new = [rs for rs in sets if rs.metadata.name not in first]
    assert len(new) == 1
    assert new[0].spec.template.spec.containers[0].image == "registry.k8s.io/pause:3.9"
    assert new[0].status.ready_replicas == 2
    old = [rs for rs in sets if rs.metadata.name in first]
    wait_for(
        lambda: all((cluster.apps.read_namespaced_replica_set(rs.metadata.name, namespace).spec.replicas == 0)
                    for rs in old),
        timeout=60, what="old ReplicaSet scaled to 0",
    )


def test_deleting_owner_garbage_collects_dependents(cluster: Cluster, namespace: str) -> None:
    owner = cluster.core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "owner"}, "data": {"a": "1"}}
    )
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
    cluster.core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "dependent", "ownerReferences": [ref]}, "data": {"b": "2"}}
    )
    cluster.apply(deployment("web", 1), namespace)
    wait_for(lambda: rolled_out(cluster, namespace, "web", 1), timeout=90, what="rollout")

    cluster.core.delete_namespaced_config_map("owner", namespace)
    cluster.apps.delete_namespaced_deployment("web", namespace, propagation_policy="Background")

    def gone() -> bool:
        cms = {c.metadata.name for c in cluster.core.list_namespaced_config_map(namespace).items}
        sets = cluster.apps.list_namespaced_replica_set(namespace).items
        pods = cluster.core.list_namespaced_pod(namespace, label_selector="app=web").items
        return "dependent" not in cms and not sets and not pods

    wait_for(gone, timeout=90, what="dependents to be garbage-collected")


def test_crd_schema_rejects_invalid_object_and_status_is_a_subresource(
    cluster: Cluster, namespace: str
) -> None:
    group, version, plural = "rudder.dev", "v1alpha1", "releases"
    bad = {
        "apiVersion": "rudder.dev/v1alpha1",
        "kind": "Release",
        "metadata": {"name": "bad"},
        "spec": {"chart": {"templates": {"a.yaml": "x: 1"}, "archive": "H4sI"}},
    }
    with pytest.raises(ApiException) as err:
        cluster.custom.create_namespaced_custom_object(group, version, namespace, plural, bad)
    assert err.value.status == 422
    assert "exactly one source" in err.value.body

    good = {
        "apiVersion": "rudder.dev/v1alpha1",
        "kind": "Release",
        "metadata": {"name": "good"},
        "spec": {"chart": {"templates": {"a.yaml": "x: 1"}}},
        "status": {"phase": "Ready"},
    }
    created = cluster.custom.create_namespaced_custom_object(group, version, namespace, plural, good)
    assert "status" not in created, "status is ignored on the main resource"
    assert created["spec"]["historyLimit"] == 10, "schema defaults apply"

    created["status"] = {"phase": "Progressing", "revision": 1}
    updated = cluster.custom.replace_namespaced_custom_object_status(
        group, version, namespace, plural, "good", created
    )
    assert updated["status"]["phase"] == "Progressing"
