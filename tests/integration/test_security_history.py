"""Stored history against a tenant, on the real API server (issue 11, F1/F12/F13).

A tenant that can write its namespace's Secrets and ReleaseHistories forges (1) the payload of a history
Secret so that drift repair or a rollback would apply an object into another namespace, and (2) a
label-only ReleaseHistory whose inventory entry traverses into another namespace. A namespace each test
creates stands in for kube-system as the victim. The Release fails with HistoryCorrupt, nothing is applied
or deleted outside its namespace, and forged histories are reported by an Event. With
`--allow-cluster-scoped`, a same-named Release in another namespace does not own a cluster-scoped object.
"""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from rudder.domain.digest import canonical_json, sha256_hex
from rudder.domain.history_codec import decode_payload, stored_manifest_text
from rudder.render.yamlio import load_documents
from tests.support import cluster as kube
from tests.support.cluster import Cluster
from tests.support.controller import LOG_DIR, ControllerProcess
from tests.support.releases import (
    GROUP,
    VERSION,
    create_release,
    events_for,
    get_release,
    patch_release,
    release_body,
    wait_release,
)
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration

CHART = {
    "config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\n"
                   "data: {greeting: {{ values.greeting | quote }}}\n",
    "secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: web-creds}\n"
                   "stringData: {password: {{ values.password | quote }}}\n",
}


@pytest.fixture
def victim(cluster: Cluster) -> Iterator[str]:
    """The namespace a forged history aims at (kube-system's stand-in)."""
    yield from kube.temp_namespace(cluster, "victim")


def _reasons(release: dict[str, Any]) -> set[str]:
    return {c.get("reason", "") for c in (release.get("status") or {}).get("conditions") or []}


def _history(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    return cluster.custom.get_namespaced_custom_object(  # type: ignore[no-any-return]
        GROUP, VERSION, namespace, "releasehistories", name)


def _forge_payload(cluster: Cluster, namespace: str, history_name: str, victim: str) -> None:
    """Rewrite the history Secret's payload as a tenant can: every object it restores now lands in `victim`,
    with internally consistent digests (the tenant can read and recompute all of them)."""
    history = _history(cluster, namespace, history_name)
    secret_name = history["spec"]["secretRef"]["name"]
    secret = cluster.core.read_namespaced_secret(secret_name, namespace)
    payload = decode_payload(dict(secret.data))
    stored = [d for d in load_documents(stored_manifest_text(history["spec"])) if d]
    for index in payload["objects"]:
        stored[int(index)] = {"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "pwned", "namespace": victim}, "data": {"x": "y"}}
        payload["objects"][index] = stored[int(index)]
    payload["manifestDigest"] = "sha256:" + sha256_hex(canonical_json(stored))
    packed = base64.b64encode(gzip.compress(json.dumps(payload).encode(), mtime=0)).decode()
    cluster.core.patch_namespaced_secret(secret_name, namespace, {"data": {"payload": packed}})


def _victim_untouched(cluster: Cluster, victim: str) -> None:
    assert [c.metadata.name for c in cluster.core.list_namespaced_config_map(victim).items
            if c.metadata.name == "pwned"] == []


@pytest.mark.corpus("history")
def test_forged_history_payload_is_never_applied_by_drift_repair(
    cluster: Cluster, namespace: str, victim: str, controller: ControllerProcess
) -> None:
    create_release(cluster, namespace, release_body("web", templates=CHART,
                                                    chart_values={"greeting": "hi", "password": "s3cret-pw"}))
    wait_release(cluster, namespace, "web", phase="Ready", revision=1)
    _forge_payload(cluster, namespace, "web-v1", victim)
    # Drift: someone else takes over a field the Release applied, so the controller re-applies revision 1.
    cluster.core.patch_namespaced_config_map("web-config", namespace, {"data": {"greeting": "tampered"}})
    rel = wait_release(cluster, namespace, "web", phase="Failed",
                       message="revision 1: the history's Secret payload is not the one this history was "
                               "written with (altered or replaced); nothing applied")
    assert "HistoryCorrupt" in _reasons(rel)
    assert controller.write_samples(victim) == {}
    _victim_untouched(cluster, victim)
    # Nothing was re-applied: the drifted field keeps the tenant's value.
    assert cluster.core.read_namespaced_config_map("web-config", namespace).data == {"greeting": "tampered"}


@pytest.mark.corpus("history")
def test_forged_history_payload_is_never_applied_by_a_rollback(
    cluster: Cluster, namespace: str, victim: str, controller: ControllerProcess
) -> None:
    create_release(cluster, namespace, release_body("web", templates=CHART,
                                                    chart_values={"greeting": "one", "password": "pw-one-123"}))
    wait_release(cluster, namespace, "web", phase="Ready", revision=1)
    patch_release(cluster, namespace, "web", {"spec": {"values": {"greeting": "two"}}})
    wait_release(cluster, namespace, "web", phase="Ready", revision=2)
    _forge_payload(cluster, namespace, "web-v1", victim)
    patch_release(cluster, namespace, "web", {"spec": {"rollbackTo": {"revision": 1}}})
    rel = wait_release(cluster, namespace, "web", phase="Failed", message="revision 1: the history's Secret payload")
    assert "HistoryCorrupt" in _reasons(rel) and rel["status"]["revision"] == 2
    assert controller.write_samples(victim) == {}
    _victim_untouched(cluster, victim)
    assert cluster.core.read_namespaced_config_map("web-config", namespace).data == {"greeting": "two"}


@pytest.mark.corpus("history")
def test_a_recreated_release_history_with_the_releases_owner_reference_is_not_trusted(
    cluster: Cluster, namespace: str, victim: str, controller: ControllerProcess
) -> None:
    # The tenant deletes the current history and re-creates it under the same name, owned by the Release's
    # uid, with the original signature annotations copied and a manifest aimed at another namespace.
    create_release(cluster, namespace, release_body("web", templates=CHART,
                                                    chart_values={"greeting": "hi", "password": "s3cret-pw"}))
    wait_release(cluster, namespace, "web", phase="Ready", revision=1)
    original = _history(cluster, namespace, "web-v1")
    manifest = (f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: pwned, namespace: {victim}}}\n"
                "data: {x: y}\n")
    forged = {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "ReleaseHistory",
        "metadata": {"name": "web-v1", "labels": original["metadata"]["labels"],
                     "annotations": original["metadata"]["annotations"],
                     "ownerReferences": original["metadata"]["ownerReferences"]},
        "spec": {**{k: v for k, v in original["spec"].items() if k != "secretRef"},
                 "manifest": manifest, "manifestDigest": "sha256:" + sha256_hex(manifest)},
    }
    cluster.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "releasehistories", "web-v1")
    wait_for(lambda: all(h["metadata"]["name"] != "web-v1" for h in cluster.custom.list_namespaced_custom_object(
        GROUP, VERSION, namespace, "releasehistories")["items"]), timeout=30, what="web-v1 deleted")
    cluster.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "releasehistories", forged)
    rel = wait_release(cluster, namespace, "web", phase="Failed",
                       message="revision 1: ReleaseHistory web-v1 has an invalid signature (altered or forged); "
                               "it is not used; nothing applied")
    assert "HistoryCorrupt" in _reasons(rel)
    cluster.core.patch_namespaced_config_map("web-config", namespace, {"data": {"greeting": "tampered"}})
    wait_for(lambda: any(e.reason == "HistoryIgnored" for e in events_for(cluster, namespace, "web")),
             timeout=30, what="a HistoryIgnored event")
    assert controller.write_samples(victim) == {}
    _victim_untouched(cluster, victim)
    assert cluster.core.read_namespaced_config_map("web-config", namespace).data == {"greeting": "tampered"}


@pytest.mark.corpus("history")
def test_forged_release_histories_steer_no_delete_on_uninstall(
    cluster: Cluster, namespace: str, victim: str, controller: ControllerProcess
) -> None:
    cluster.core.create_namespaced_secret(victim, {"metadata": {"name": "cluster-ca"}, "data": {"ca": "Y2E="}})
    cluster.core.create_namespaced_config_map(namespace, {"metadata": {"name": "bystander"}, "data": {"a": "b"}})
    create_release(cluster, namespace, release_body("web", templates=CHART,
                                                    chart_values={"greeting": "hi", "password": "s3cret-pw"}))
    rel = wait_release(cluster, namespace, "web", phase="Ready", revision=1)
    uid = rel["metadata"]["uid"]
    inventory = [{"apiVersion": "v1", "kind": "Secret", "name": f"x/../../../{victim}/secrets/cluster-ca"},
                 {"apiVersion": "v1", "kind": "ConfigMap", "name": "bystander"}]
    for name, owners in (("web-v8", []), ("web-v9", [{"apiVersion": f"{GROUP}/{VERSION}", "kind": "Release",
                                                       "name": "web", "uid": uid, "controller": True}])):
        cluster.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "releasehistories", {
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "ReleaseHistory",
            "metadata": {"name": name, "labels": {"rudder.dev/release": "web"}, "ownerReferences": owners},
            "spec": {"release": "web", "revision": int(name[-1]), "manifest": "", "manifestDigest": "",
                     "inventory": inventory},
        })

    def ignored() -> list[str] | None:
        messages = sorted(e.message for e in events_for(cluster, namespace, "web") if e.reason == "HistoryIgnored")
        return messages if len(messages) == 2 else None

    assert wait_for(ignored, timeout=60, what="HistoryIgnored events") == [
        "ReleaseHistory web-v8 is not owned by this Release (uid " + uid + "); ignored",
        "ReleaseHistory web-v9 carries no signature (written before history signing, or forged); it is not used",
    ]
    assert get_release(cluster, namespace, "web")["status"]["phase"] == "Ready"
    cluster.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "releases", "web")

    def gone() -> bool:
        try:
            get_release(cluster, namespace, "web")
        except ApiException as exc:
            return exc.status == 404
        return False

    wait_for(gone, timeout=60, what="the Release to be uninstalled")
    assert cluster.core.read_namespaced_secret("cluster-ca", victim).data == {"ca": "Y2E="}
    assert cluster.core.read_namespaced_config_map("bystander", namespace).data == {"a": "b"}
    assert controller.write_samples(victim) == {}
    names = {c.metadata.name for c in cluster.core.list_namespaced_config_map(namespace).items}
    assert "web-config" not in names  # the Release's own objects were uninstalled


@pytest.mark.corpus("history")
def test_a_secret_holding_the_history_secret_name_fails_the_revision_before_anything_is_applied(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    # F13: another chart (or the tenant) took `web-v2-secret` before revision 2 was written.
    create_release(cluster, namespace, release_body("web", templates=CHART,
                                                    chart_values={"greeting": "one", "password": "pw-one-123"}))
    wait_release(cluster, namespace, "web", phase="Ready", revision=1)
    cluster.core.create_namespaced_secret(namespace, {"metadata": {"name": "web-v2-secret"},
                                                      "data": {"payload": "eA=="}})
    patch_release(cluster, namespace, "web", {"spec": {"values": {"greeting": "two"}}})
    rel = wait_release(cluster, namespace, "web", phase="Failed",
                       message="Secret web-v2-secret already exists and is not Rudder's history Secret")
    assert "HistoryCorrupt" in _reasons(rel) and rel["status"]["revision"] == 1
    assert cluster.core.read_namespaced_config_map("web-config", namespace).data == {"greeting": "one"}


# -- F12: cluster-scoped ownership by namespace and name ------------------------------------------------


@pytest.fixture
def second_iso(cluster: Cluster) -> Iterator[str]:
    yield from kube.temp_namespace(cluster, "f12-b", isolated=True)


@pytest.fixture
def scoped_controller(cluster: Cluster, iso_namespace: str, second_iso: str) -> Iterator[ControllerProcess]:
    proc = ControllerProcess(cluster.kubeconfig, args=[
        "--namespace", iso_namespace, "--namespace", second_iso,
        "--allow-cluster-scoped", "ClusterRole.rbac.authorization.k8s.io"])
    proc.start(LOG_DIR)
    try:
        yield proc
    finally:
        proc.stop()


@pytest.mark.corpus("names")
def test_a_same_named_release_elsewhere_does_not_own_a_cluster_scoped_object(
    cluster: Cluster, iso_namespace: str, second_iso: str, scoped_controller: ControllerProcess
) -> None:
    role = f"f12-reader-{uuid.uuid4().hex[:6]}"
    chart = {"role.yaml": f"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: {role}}}\n"
                          "rules: [{apiGroups: [''], resources: [configmaps], verbs: [{{ values.verb }}]}]\n"}
    rbac = cluster.dynamic.resources.get(api_version="rbac.authorization.k8s.io/v1", kind="ClusterRole")
    try:
        create_release(cluster, iso_namespace, release_body("shop", templates=chart, chart_values={"verb": "get"}))
        wait_release(cluster, iso_namespace, "shop", phase="Ready", revision=1)
        create_release(cluster, second_iso, release_body("shop", templates=chart, chart_values={"verb": "list"}))
        wait_release(cluster, second_iso, "shop", phase="Failed",
                     message=f"ClusterRole/{role} belongs to Release {iso_namespace}/shop")
        assert rbac.get(name=role).rules[0].verbs == ["get"]
        # Deleting the other namespace's Release leaves the ClusterRole; deleting the owner removes it.
        for ns in (second_iso, iso_namespace):
            cluster.custom.delete_namespaced_custom_object(GROUP, VERSION, ns, "releases", "shop")

            def gone(ns: str = ns) -> bool:
                try:
                    get_release(cluster, ns, "shop")
                except ApiException as exc:
                    return exc.status == 404
                return False

            wait_for(gone, timeout=60, what=f"Release {ns}/shop to be uninstalled")
            if ns == second_iso:
                assert rbac.get(name=role).rules[0].verbs == ["get"]

        def role_gone() -> bool:
            try:
                rbac.get(name=role)
            except ApiException as exc:
                return exc.status == 404
            return False

        wait_for(role_gone, timeout=60, what=f"ClusterRole {role} deleted with its Release")
    finally:
        try:
            rbac.delete(name=role)
        except ApiException as exc:
            if exc.status != 404:
                raise


# -- migration: histories written before signing ----------------------------------------------------------


@pytest.fixture
def migrating_controller(cluster: Cluster, iso_namespace: str) -> Iterator[ControllerProcess]:
    proc = ControllerProcess(cluster.kubeconfig, args=["--namespace", iso_namespace, "--accept-unsigned-history"])
    proc.start(LOG_DIR)
    try:
        yield proc
    finally:
        proc.stop()


def test_with_the_migration_flag_an_owned_unsigned_history_still_repairs_drift(
    cluster: Cluster, iso_namespace: str, migrating_controller: ControllerProcess
) -> None:
    ns = iso_namespace
    create_release(cluster, ns, release_body("web", templates=CHART,
                                             chart_values={"greeting": "hi", "password": "s3cret-pw"}))
    wait_release(cluster, ns, "web", phase="Ready", revision=1)
    # As written by a controller before signing existed: no signature annotations.
    cluster.custom.patch_namespaced_custom_object(GROUP, VERSION, ns, "releasehistories", "web-v1", {
        "metadata": {"annotations": {"rudder.dev/history-signature": None,
                                     "rudder.dev/history-payload-digest": None}}})
    cluster.core.patch_namespaced_config_map("web-config", ns, {"data": {"greeting": "tampered"}})
    wait_for(lambda: cluster.core.read_namespaced_config_map("web-config", ns).data == {"greeting": "hi"},
             timeout=60, what="drift repaired from the unsigned history")
    assert get_release(cluster, ns, "web")["status"]["phase"] == "Ready"
