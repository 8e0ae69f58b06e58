"""`--shard`: two controllers with different label selectors split the Releases of one namespace. Each Release
is reconciled (its objects applied, its status and finalizer written) by exactly the controller whose selector
matches its labels, and carries only that shard's finalizer; the other controller sends it no write; a Release
matching neither selector is left alone (no finalizer, no status)."""

from __future__ import annotations

from typing import Any

from rudder.sharding import finalizer
from tests.support.cluster import Cluster
from tests.support.controller import LOG_DIR, ControllerProcess
from tests.support.releases import create_release, get_release, release_body, wait_release

SHARD = "rudder.dev/shard"
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '{{ release.name }}'}\ndata: {a: '1'}\n"
ACCOUNT = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: '{{ release.name }}'}\n"


def labelled(name: str, template: str, shard: str | None) -> dict[str, Any]:
    body = release_body(name, templates={"t.yaml": template}, chart_values={})
    if shard is not None:
        body["metadata"]["labels"] = {SHARD: shard}
    return body


def kind_writes(ctl: ControllerProcess, namespace: str, kind: str) -> float:
    return sum(v for k, v in ctl.write_samples(namespace).items() if f'kind="{kind}"' in k)


def test_two_shards_split_the_releases_and_neither_touches_the_rest(cluster: Cluster, iso_namespace: str) -> None:
    ns = iso_namespace
    shard_a = ControllerProcess(cluster.kubeconfig, args=[
        "--controllers", "release", "--namespace", ns, "--shard", f"{SHARD}=a"])
    shard_b = ControllerProcess(cluster.kubeconfig, args=[
        "--controllers", "release", "--namespace", ns, "--shard", f"{SHARD} in (b)"])
    shard_a.start(LOG_DIR)
    try:
        shard_b.start(LOG_DIR)
        try:
            # Created first: in the namespace's watch stream both controllers see it before the other two,
            # so once those are Ready each controller has already passed over this one.
            create_release(cluster, ns, labelled("nobody", CONFIGMAP, None))
            create_release(cluster, ns, labelled("alpha", CONFIGMAP, "a"))  # writes only ConfigMaps
            create_release(cluster, ns, labelled("beta", ACCOUNT, "b"))  # writes only ServiceAccounts
            wait_release(cluster, ns, "alpha", phase="Ready", revision=1)
            wait_release(cluster, ns, "beta", phase="Ready", revision=1)

            assert kind_writes(shard_a, ns, "ConfigMap") > 0
            assert kind_writes(shard_a, ns, "ServiceAccount") == 0, shard_a.write_samples(ns)
            assert kind_writes(shard_b, ns, "ServiceAccount") > 0
            assert kind_writes(shard_b, ns, "ConfigMap") == 0, shard_b.write_samples(ns)
            # Each shard's own finalizer, and only that one (shards would strip a shared one from each other).
            assert get_release(cluster, ns, "alpha")["metadata"]["finalizers"] == [finalizer(f"{SHARD}=a")]
            assert get_release(cluster, ns, "beta")["metadata"]["finalizers"] == [finalizer(f"{SHARD} in (b)")]
            nobody = get_release(cluster, ns, "nobody")
            assert not nobody.get("status")
            assert not nobody["metadata"].get("finalizers")
            assert cluster.core.list_namespaced_config_map(ns, field_selector="metadata.name=nobody").items == []
        finally:
            shard_b.stop()
    finally:
        shard_a.stop()
