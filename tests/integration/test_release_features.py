"""Release features beyond the basic lifecycle, each against the real cluster: valuesFrom secrets
never appear in clear yet rollback stays exact; ConfigMap and archive chart sources (a changed
ConfigMap makes a new revision); dependsOn waits and reports cycles; historyLimit prunes old
histories but never the current or last Ready one; deletion removes every managed object except kept
ones, then the histories; HPA-owned replicas are left alone; many Releases reconcile at once."""

from __future__ import annotations

import base64
import contextlib
import json
from pathlib import Path

import pytest
from kubernetes.client.exceptions import ApiException

from rudder.render import pack_chart_archive, read_chart_directory
from tests.support.cluster import Cluster
from tests.support.controller import ControllerProcess
from tests.support.releases import (
    CONFIGMAP,
    GROUP,
    VERSION,
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

REPO = Path(__file__).resolve().parents[2]
SECRET_TEMPLATE = """\
apiVersion: v1
kind: Secret
metadata: {name: {{ release.name }}-creds}
stringData: {password: {{ values.db.password | quote }}}
"""
USER_CM = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: {{ release.name }}-user}
data: {user: {{ values.db.user | quote }}}
"""


def test_values_from_secret_stays_out_of_history_status_and_events_yet_rollback_is_exact(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    cluster.core.create_namespaced_secret(namespace, {
        "metadata": {"name": "db"}, "stringData": {"values.yaml": "db: {password: s3cr3t-one, user: alice}"}})
    body = release_body("vault", templates={"secret.yaml": SECRET_TEMPLATE, "cm.yaml": USER_CM},
                        chart_values={"db": {"password": "", "user": ""}},
                        valuesFrom=[{"secretKeyRef": {"name": "db", "key": "values.yaml"}}])
    create_release(cluster, namespace, body)
    wait_release(cluster, namespace, "vault", phase="Ready", revision=1)

    cluster.core.patch_namespaced_secret("db", namespace, {
        "stringData": {"values.yaml": "db: {password: s3cr3t-two, user: bob}"}})
    wait_release(cluster, namespace, "vault", phase="Ready", revision=2)
    secret = cluster.core.read_namespaced_secret("vault-creds", namespace)
    assert base64.b64decode(secret.data["password"]).decode() == "s3cr3t-two"

    stored = json.dumps(histories(cluster, namespace, "vault"))
    status = json.dumps(get_release(cluster, namespace, "vault")["status"])
    events = json.dumps([e.message for e in events_for(cluster, namespace, "vault")])
    for text in (stored, status, events):
        assert "s3cr3t" not in text
        assert base64.b64encode(b"s3cr3t-one").decode() not in text
        assert "alice" not in text

    patch_release(cluster, namespace, "vault", {"spec": {"rollbackTo": {"revision": 1}}})
    wait_release(cluster, namespace, "vault", phase="Ready", revision=1)
    wait_for(lambda: base64.b64decode(cluster.core.read_namespaced_secret("vault-creds", namespace)
                                      .data["password"]).decode() == "s3cr3t-one",
             timeout=30, what="the exact revision-1 secret restored")
    assert cluster.core.read_namespaced_config_map("vault-user", namespace).data == {"user": "alice"}

    # The rollback sticks although the Secret still holds revision 2's values ...
    nudge(cluster, controller, namespace, "vault", 4)
    assert get_release(cluster, namespace, "vault")["status"]["revision"] == 1
    assert len(histories(cluster, namespace, "vault")) == 2
    # ... until the inputs change again: then newest+1.
    cluster.core.patch_namespaced_secret("db", namespace, {
        "stringData": {"values.yaml": "db: {password: s3cr3t-three, user: carol}"}})
    wait_release(cluster, namespace, "vault", phase="Ready", revision=3)
    assert cluster.core.read_namespaced_config_map("vault-user", namespace).data == {"user": "carol"}


def test_configmap_chart_source_and_its_change_make_a_new_revision(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    cluster.core.create_namespaced_config_map(namespace, {
        "metadata": {"name": "chart"},
        "data": {"cm.yaml": CONFIGMAP, "values.yaml": "greeting: from-configmap"}})
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Release", "metadata": {"name": "cmsrc"},
            "spec": {"chart": {"configMapRef": {"name": "chart"}}}}
    create_release(cluster, namespace, body)
    wait_release(cluster, namespace, "cmsrc", phase="Ready", revision=1)
    assert cluster.core.read_namespaced_config_map("cmsrc-config", namespace).data == {"greeting": "from-configmap"}

    cluster.core.patch_namespaced_config_map("chart", namespace, {"data": {"values.yaml": "greeting: changed"}})

    wait_release(cluster, namespace, "cmsrc", phase="Ready", revision=2)
    assert cluster.core.read_namespaced_config_map("cmsrc-config", namespace).data == {"greeting": "changed"}


def test_archive_chart_source_installs_the_stateful_example_with_volumes(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    storage_class = f"manual-{namespace}"
    for i in range(2):
        cluster.core.create_persistent_volume({
            "metadata": {"name": f"pv-{namespace}-{i}"[:63]},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                     "storageClassName": storage_class, "hostPath": {"path": f"/tmp/{namespace}-{i}"},
                     "persistentVolumeReclaimPolicy": "Delete"}})
    archive = pack_chart_archive(read_chart_directory(REPO / "examples" / "stateful"), "stateful")
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Release", "metadata": {"name": "cache"},
            "spec": {"chart": {"archive": archive},
                     "values": {"replicas": 2, "persistence": {"storageClassName": storage_class}}}}
    try:
        create_release(cluster, namespace, body)
        rel = wait_release(cluster, namespace, "cache", phase="Ready", revision=1, timeout=120)
        kinds = {(r["kind"], r["phase"]) for r in rel["status"]["resources"]}
        assert ("StatefulSet", "Ready") in kinds
        claims = cluster.core.list_namespaced_persistent_volume_claim(namespace).items
        assert len(claims) == 2
        assert all(c.status.phase == "Bound" for c in claims)

        patch_release(cluster, namespace, "cache", {"spec": {"values": {"extraArgs": ["--appendonly", "no"]}}})
        wait_release(cluster, namespace, "cache", phase="Ready", revision=2, timeout=120)
        patch_release(cluster, namespace, "cache", {"spec": {"rollbackTo": {"revision": 1}}})
        wait_release(cluster, namespace, "cache", phase="Ready", revision=1, timeout=120)
        cluster.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "releases", "cache")
        wait_for(lambda: not cluster.apps.list_namespaced_stateful_set(namespace).items, timeout=60,
                 what="StatefulSet uninstalled")
    finally:
        for i in range(2):
            with contextlib.suppress(ApiException):
                cluster.core.delete_persistent_volume(f"pv-{namespace}-{i}"[:63])


def test_depends_on_waits_for_ready_and_reports_cycles(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    create_release(cluster, namespace, release_body("front", dependsOn=[{"name": "db"}]))
    rel = wait_release(cluster, namespace, "front", phase="Pending", message="db")
    assert "db (not found)" in rel["status"]["message"]
    assert not cluster.core.list_namespaced_config_map(namespace, label_selector="rudder.dev/release=front").items

    create_release(cluster, namespace, release_body("db"))
    wait_release(cluster, namespace, "db", phase="Ready", revision=1)
    wait_release(cluster, namespace, "front", phase="Ready", revision=1)

    create_release(cluster, namespace, release_body("ping", dependsOn=[{"name": "pong"}]))
    create_release(cluster, namespace, release_body("pong", dependsOn=[{"name": "ping"}]))
    rel = wait_release(cluster, namespace, "ping", phase="Failed", message="cycle")
    assert "ping -> pong -> ping" in rel["status"]["message"]


def test_history_limit_keeps_current_and_last_ready(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    create_release(cluster, namespace, release_body("hist", historyLimit=2))
    wait_release(cluster, namespace, "hist", phase="Ready", revision=1)
    for revision, greeting in enumerate(["b", "c", "d"], start=2):
        patch_release(cluster, namespace, "hist", {"spec": {"values": {"greeting": greeting}}})
        wait_release(cluster, namespace, "hist", phase="Ready", revision=revision)

    wait_for(lambda: [h["spec"]["revision"] for h in histories(cluster, namespace, "hist")] == [3, 4],
             timeout=30, what="only the two newest histories kept")
    secrets = cluster.core.list_namespaced_secret(namespace, label_selector="rudder.dev/release=hist").items
    assert all(s.metadata.labels["rudder.dev/revision"] in ("3", "4") for s in secrets)


def test_deletion_removes_managed_objects_except_kept_then_histories(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    kept = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keepme\n"
            "  annotations: {rudder.dev/keep: 'true'}\ndata: {a: '1'}\n")
    templates = {**release_body("gone")["spec"]["chart"]["templates"], "kept.yaml": kept}
    create_release(cluster, namespace, release_body("gone", templates=templates))
    wait_release(cluster, namespace, "gone", phase="Ready", revision=1)

    cluster.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "releases", "gone")

    def uninstalled() -> bool:
        names = {c.metadata.name for c in cluster.core.list_namespaced_config_map(namespace).items}
        deployments = cluster.apps.list_namespaced_deployment(namespace).items
        services = cluster.core.list_namespaced_service(namespace).items
        releases = cluster.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "releases")["items"]
        return ("gone-config" not in names and not deployments and not services and not releases
                and not histories(cluster, namespace, "gone"))

    wait_for(uninstalled, timeout=60, what="the Release and its objects gone")
    keep = cluster.core.read_namespaced_config_map("keepme", namespace)
    assert not keep.metadata.owner_references
    pods = cluster.core.list_namespaced_pod(namespace).items
    wait_for(lambda: not cluster.core.list_namespaced_pod(namespace).items, timeout=60, what="no orphan pods")
    assert pods is not None


HPA = """\
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: {{ release.name }}-web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: {{ release.name }}-web}
  minReplicas: 2
  maxReplicas: 5
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}}]
"""


def test_replicas_scaled_by_another_manager_are_left_alone(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    no_replicas = release_body("auto")["spec"]["chart"]["templates"]["deployment.yaml"].replace(
        "  replicas: {{ values.replicas }}\n", "")
    templates = {"deployment.yaml": no_replicas, "hpa.yaml": HPA}
    create_release(cluster, namespace, release_body("auto", templates=templates))
    wait_release(cluster, namespace, "auto", phase="Ready", revision=1)

    # What an HPA does: scale through the scale subresource.
    cluster.apps.patch_namespaced_deployment_scale("auto-web", namespace, {"spec": {"replicas": 4}})
    def applies() -> dict[str, float]:
        return {k: v for k, v in controller.write_samples(namespace).items() if 'verb="apply"' in k}

    before = applies()
    nudge(cluster, controller, namespace, "auto", 4)

    assert cluster.apps.read_namespaced_deployment("auto-web", namespace).spec.replicas == 4
    # Status follows the new pod count; nothing is re-applied over the HPA's replicas.
    assert applies() == before


def test_many_releases_reconcile_concurrently(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    names = [f"r{i}" for i in range(8)]
    for name in names:
        create_release(cluster, namespace, release_body(name))
    for name in names:
        wait_release(cluster, namespace, name, phase="Ready", revision=1, timeout=120)
    for name in names:
        assert len(histories(cluster, namespace, name)) == 1
