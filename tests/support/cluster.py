"""Access to the test cluster: the local control plane, or whatever $KUBECONFIG names."""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config, dynamic
from kubernetes.client.exceptions import ApiException

from tests.support.wait import WaitTimeout, wait_for

REPO = Path(__file__).resolve().parents[2]
CLUSTER_SH = REPO / "deploy" / "local" / "cluster.sh"
FIELD_MANAGER = "rudder-tests"


@dataclass
class Cluster:
    """A reachable Kubernetes API server and clients for it."""

    kubeconfig: str
    api: client.ApiClient
    started_here: bool

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api)

    @property
    def networking(self) -> client.NetworkingV1Api:
        return client.NetworkingV1Api(self.api)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    @property
    def dynamic(self) -> dynamic.DynamicClient:
        return dynamic.DynamicClient(self.api)

    def apply(self, body: dict[str, Any], namespace: str | None = None) -> Any:
        """Server-side apply one object as the tests' field manager."""
        resource = self.dynamic.resources.get(api_version=body["apiVersion"], kind=body["kind"])
        ns = namespace or body.get("metadata", {}).get("namespace")
        return resource.server_side_apply(
            body=body, name=body["metadata"]["name"], namespace=ns,
            field_manager=FIELD_MANAGER, force_conflicts=True,
        )

    def apply_file(self, path: Path, namespace: str | None = None) -> list[Any]:
        return [self.apply(doc, namespace) for doc in yaml.safe_load_all(path.read_text()) if doc]


def start_or_connect() -> Cluster:
    """Use $KUBECONFIG when set; otherwise bring up the local control plane."""
    started = False
    kubeconfig = os.environ.get("KUBECONFIG", "")
    if not kubeconfig:
        # A cluster that was already up (say, left by `RUDDER_DEMO_KEEP=1 make demo`) is reused and kept.
        already_up = subprocess.run([str(CLUSTER_SH), "status"], capture_output=True, check=False).returncode == 0
        subprocess.run([str(CLUSTER_SH), "up"], check=True, stdout=subprocess.DEVNULL)
        kubeconfig = subprocess.run(
            [str(CLUSTER_SH), "kubeconfig"], check=True, capture_output=True, text=True
        ).stdout.strip()
        started = not already_up and os.environ.get("RUDDER_KEEP_CLUSTER", "") == ""
    api = config.new_client_from_config(config_file=kubeconfig)
    return Cluster(kubeconfig=kubeconfig, api=api, started_here=started)


def stop(cluster: Cluster) -> None:
    if cluster.started_here:
        subprocess.run([str(CLUSTER_SH), "down"], check=True, stdout=subprocess.DEVNULL)


def install_crds(cluster: Cluster) -> None:
    """Apply crds/ and wait until every CRD is Established."""
    ext = client.ApiextensionsV1Api(cluster.api)
    names = []
    for path in sorted((REPO / "crds").glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            cluster.apply(doc)
            names.append(doc["metadata"]["name"])

    def established() -> bool:
        for name in names:
            conds = ext.read_custom_resource_definition(name).status.conditions or []
            if not any(c.type == "Established" and c.status == "True" for c in conds):
                return False
        return True

    wait_for(established, timeout=60, what="CRDs to be Established")


# Namespaces of this test session start with this, so the session's controller works only on its own
# namespaces even when other sessions share the cluster (their controllers never touch ours).
SESSION_PREFIX = f"s{uuid.uuid4().hex[:4]}-"
# Every namespace this session created (session-prefixed and isolated ones), so the session's end can
# wait for their deletion and prove that none is left behind.
CREATED: set[str] = set()
RUDDER_PLURALS = ("canaryreleases", "releases")


def temp_namespace(cluster: Cluster, prefix: str, *, isolated: bool = False) -> Iterator[str]:
    """Create a uniquely named namespace, yield it, delete it afterwards. `isolated` namespaces are outside
    the session controller's pattern (tests that run their own controller there).

    The deletion is not awaited here: the session controller is still up and runs its finalizers
    (uninstall, roll back) while the next tests run; `drain_namespaces` waits for them at the end."""
    lead = "iso-" if isolated else SESSION_PREFIX
    name = f"{lead}{prefix[:36].rstrip('-')}-{uuid.uuid4().hex[:6]}".lower()
    cluster.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    CREATED.add(name)
    wait_for(
        lambda: cluster.core.read_namespaced_service_account("default", name),
        timeout=60, what=f"default ServiceAccount in {name}",
    )
    try:
        yield name
    finally:
        if isolated:
            # The test's own controller is gone by now; nobody else would release these finalizers.
            release_finalizers(cluster, name)
        try:
            cluster.core.delete_namespace(name)
        except ApiException as exc:
            if exc.status != 404:
                raise


def release_finalizers(cluster: Cluster, namespace: str) -> list[str]:
    """Drop the controllers' finalizers so the namespace can go even where no controller runs any more
    (tests that stop their own controller); its objects are garbage-collected with the namespace.
    Returns `plural/name` of the objects whose finalizers were dropped."""
    dropped = []
    for plural in RUDDER_PLURALS:
        try:
            items = cluster.custom.list_namespaced_custom_object("rudder.dev", "v1alpha1", namespace, plural)["items"]
        except ApiException:
            continue
        for item in items:
            if item["metadata"].get("finalizers"):
                with contextlib.suppress(ApiException):
                    cluster.custom.patch_namespaced_custom_object(
                        "rudder.dev", "v1alpha1", namespace, plural, item["metadata"]["name"],
                        {"metadata": {"finalizers": None}})
                    dropped.append(f"{plural}/{item['metadata']['name']}")
    return dropped


def present(cluster: Cluster, names: Iterable[str]) -> list[str]:
    """Which of `names` still exist (Active or Terminating)."""
    wanted = set(names)
    return sorted(ns.metadata.name for ns in cluster.core.list_namespace().items if ns.metadata.name in wanted)


def drain_namespaces(
    cluster: Cluster, names: Iterable[str], *, grace: float, timeout: float = 60,
) -> dict[str, list[str]]:
    """Wait until the namespaces `names` are gone. A controller still running gets `grace` seconds to
    run its finalizers; then the rudder finalizers of what is left are dropped (those objects are being
    deleted, so a controller can no longer add them back) and the rest of `timeout` is waited for.
    Returns the objects whose finalizers had to be dropped, by namespace."""
    names = set(names)
    with contextlib.suppress(WaitTimeout):
        wait_for(lambda: not present(cluster, names), timeout=grace, interval=0.5,
                 what="deleted namespaces to go")
    stripped: dict[str, list[str]] = {}
    for ns in present(cluster, names):
        dropped = release_finalizers(cluster, ns)
        if dropped:
            stripped[ns] = dropped
    with contextlib.suppress(WaitTimeout):
        wait_for(lambda: not present(cluster, names), timeout=timeout, interval=0.5,
                 what="deleted namespaces to go")
    return stripped


def stuck_report(cluster: Cluster, names: Iterable[str]) -> str:
    """One line per namespace still present: its phase and what the namespace controller says remains."""
    lines = []
    wanted = set(names)
    for ns in cluster.core.list_namespace().items:
        if ns.metadata.name not in wanted:
            continue
        why = [c.message for c in (ns.status.conditions or []) if c.status == "True"]
        lines.append(f"{ns.metadata.name} ({ns.status.phase}): {'; '.join(why) or 'no condition'}")
    return "\n".join(lines)
