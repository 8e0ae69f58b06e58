"""Post-render patches against the real API server: a Release's strategic merge and JSON 6902 patches and
common labels land on the live objects; changing a patch makes a new revision; a rollback to the earlier
revision restores exactly its patched objects and its spec.postRender, without a new revision; a patch
that does not apply, or one that would move an object out of the Release's namespace, fails the Release
naming the field, and nothing is applied (neither on install nor on an upgrade of a running revision)."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from tests.support.cluster import Cluster
from tests.support.controller import ControllerProcess
from tests.support.releases import (
    create_release,
    get_release,
    histories,
    patch_release,
    release_body,
    wait_release,
)
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration

ENV_PATCH = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}-web}}
spec:
  template:
    spec:
      containers:
        - name: web
          env: [{{name: MODE, value: {mode}}}]
"""


def post_render(name: str, *, replicas: int, mode: str, team: str) -> dict[str, Any]:
    return {
        "commonMetadata": {"labels": {"team": team}},
        "patches": [
            {"patch": ENV_PATCH.format(name=name, mode=mode)},
            {"target": {"kind": "Deployment", "name": "*-web"},
             "patch": f"- {{op: replace, path: /spec/replicas, value: {replicas}}}"},
        ],
    }


def live_state(cluster: Cluster, namespace: str, name: str) -> tuple[int, list[Any], str, str]:
    """What the patches set: replicas, the web container's env, and the team label of two objects."""
    deployment = cluster.apps.read_namespaced_deployment(f"{name}-web", namespace)
    config = cluster.core.read_namespaced_config_map(f"{name}-config", namespace)
    env = [(e.name, e.value) for e in deployment.spec.template.spec.containers[0].env or []]
    return deployment.spec.replicas, env, deployment.metadata.labels.get("team"), config.metadata.labels.get("team")


def test_a_post_render_patch_lands_makes_revisions_and_is_rolled_back_exactly(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    first = post_render("pr", replicas=1, mode="blue", team="alpha")
    created = create_release(cluster, namespace, release_body("pr", postRender=first))
    assert created["spec"]["postRender"] == first, "the installed Release CRD lacks spec.postRender"
    wait_release(cluster, namespace, "pr", phase="Ready", revision=1)
    assert live_state(cluster, namespace, "pr") == (1, [("MODE", "blue")], "alpha", "alpha")
    (v1,) = histories(cluster, namespace, "pr")
    assert v1["spec"]["postRender"] == first

    second = post_render("pr", replicas=2, mode="green", team="beta")
    patch_release(cluster, namespace, "pr", {"spec": {"postRender": second}})
    wait_release(cluster, namespace, "pr", phase="Ready", revision=2)
    assert live_state(cluster, namespace, "pr") == (2, [("MODE", "green")], "beta", "beta")

    patch_release(cluster, namespace, "pr", {"spec": {"rollbackTo": {"revision": 1}}})
    wait_release(cluster, namespace, "pr", phase="Ready", revision=1)
    wait_for(lambda: "rollbackTo" not in get_release(cluster, namespace, "pr")["spec"], timeout=30,
             what="rollbackTo cleared")
    assert live_state(cluster, namespace, "pr") == (1, [("MODE", "blue")], "alpha", "alpha")
    assert get_release(cluster, namespace, "pr")["spec"]["postRender"] == first
    assert [h["spec"]["revision"] for h in histories(cluster, namespace, "pr")] == [1, 2]


def test_a_bad_patch_fails_naming_the_field_and_applies_nothing(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    bad = {"patches": [
        {"target": {"kind": "ConfigMap"}, "patch": "metadata: {annotations: {checked: 'yes'}}"},
        {"target": {"kind": "Deployment"}, "patch": "- {op: replace, path: /spec/replicass, value: 3}"},
    ]}
    create_release(cluster, namespace, release_body("bad", postRender=bad))
    rel = wait_release(cluster, namespace, "bad", phase="Failed",
                       message="spec.postRender.patches[1].patch: Deployment/bad-web: op 0 (replace /spec/replicass)")
    assert "revision" not in rel["status"]
    assert cluster.core.list_namespaced_config_map(namespace, label_selector="rudder.dev/release=bad").items == []
    assert cluster.apps.list_namespaced_deployment(namespace).items == []
    assert histories(cluster, namespace, "bad") == []


def test_a_patch_cannot_move_an_object_out_of_the_namespace_even_on_upgrade(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    create_release(cluster, namespace, release_body("esc"))
    wait_release(cluster, namespace, "esc", phase="Ready", revision=1)
    version = cluster.core.read_namespaced_config_map("esc-config", namespace).metadata.resource_version

    escape = {"patches": [
        {"target": {"kind": "ConfigMap"}, "patch": "[{op: add, path: /metadata/namespace, value: default}]"}]}
    change = {"spec": {"postRender": escape, "values": {"greeting": "moved"}}}
    patched = patch_release(cluster, namespace, "esc", change)
    assert patched["spec"]["postRender"] == escape, "the installed Release CRD lacks spec.postRender"
    rel = wait_release(cluster, namespace, "esc", phase="Failed",
                       message="spec.postRender.patches[0].patch: ConfigMap/esc-config: a patch may not move an "
                               "object out of the Release's namespace")
    assert rel["status"]["revision"] == 1
    assert cluster.core.read_namespaced_config_map("esc-config", namespace).metadata.resource_version == version
    with pytest.raises(ApiException) as missing:
        cluster.core.read_namespaced_config_map("esc-config", "default")
    assert missing.value.status == 404
    assert len(histories(cluster, namespace, "esc")) == 1
