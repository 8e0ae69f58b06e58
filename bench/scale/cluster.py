"""The benchmark's own cluster and how the API server tells one controller's requests from another's.

Each controller variant runs as its own ServiceAccount. Two API Priority and Fairness FlowSchemas per variant
(one for reads: get/list/watch, one for writes) match only that ServiceAccount, so the API server's
`apiserver_flowcontrol_dispatched_requests_total{flow_schema=...}` counts exactly that controller's requests,
kopf's watches and patches included, whatever client library the variant uses.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config, dynamic
from kubernetes.client.exceptions import ApiException

REPO = Path(__file__).resolve().parents[2]
CLUSTER_SH = REPO / "deploy" / "local" / "cluster.sh"
IDENTITY_NAMESPACE = "rudder-bench"
FIELD_MANAGER = "rudder-bench"
READ_VERBS = ["get", "list", "watch"]
WRITE_VERBS = ["create", "update", "patch", "delete", "deletecollection"]
# Below the built-in `service-accounts` schema (9000) so ours match first; above the system ones.
PRECEDENCE = 1000
PRIORITY_LEVEL = "workload-high"
DISPATCHED = "apiserver_flowcontrol_dispatched_requests_total"


def wait_until(condition: Any, *, timeout: float, what: str, interval: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
            if value:
                return value
        except ApiException:
            pass
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def cluster_up(name: str) -> str:
    """Start (or reuse) the local cluster `name`; return its kubeconfig path."""
    env = {**os.environ, "RUDDER_CLUSTER": name}
    subprocess.run([str(CLUSTER_SH), "up"], check=True, env=env, stdout=subprocess.DEVNULL)
    out = subprocess.run([str(CLUSTER_SH), "kubeconfig"], check=True, env=env, capture_output=True, text=True)
    return out.stdout.strip()


def cluster_down(name: str) -> None:
    subprocess.run([str(CLUSTER_SH), "down"], check=True, env={**os.environ, "RUDDER_CLUSTER": name},
                   stdout=subprocess.DEVNULL)


@dataclass
class Bench:
    """Admin access to the benchmark cluster (the harness's own requests are not counted).

    `shared`: a cluster the benchmark did not start (`--kubeconfig`): CRDs are only created when
    missing (never taken over), and `forget_identities` removes what `variant_identity` created."""

    kubeconfig: str
    api: client.ApiClient
    shared: bool = False

    @classmethod
    def connect(cls, kubeconfig: str, *, shared: bool = False) -> Bench:
        api = config.new_client_from_config(config_file=kubeconfig)
        api.configuration.connection_pool_maxsize = 32
        return cls(kubeconfig, api, shared)

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    def apply(self, body: dict[str, Any]) -> Any:
        resource = dynamic.DynamicClient(self.api).resources.get(api_version=body["apiVersion"], kind=body["kind"])
        return resource.server_side_apply(
            body=body, name=body["metadata"]["name"], namespace=body["metadata"].get("namespace"),
            field_manager=FIELD_MANAGER, force_conflicts=True)

    def install(self, body: dict[str, Any]) -> None:
        """Apply `body`; on a shared cluster only create it when missing."""
        if self.shared:
            resource = dynamic.DynamicClient(self.api).resources.get(api_version=body["apiVersion"], kind=body["kind"])
            try:
                resource.get(name=body["metadata"]["name"])
                return
            except ApiException as exc:
                if exc.status != 404:
                    raise
        self.apply(body)

    def install_crds(self) -> None:
        ext = client.ApiextensionsV1Api(self.api)
        names = []
        for path in sorted((REPO / "crds").glob("*.yaml")):
            for doc in yaml.safe_load_all(path.read_text()):
                if doc and doc.get("kind") == "CustomResourceDefinition":
                    self.install(doc)
                    names.append(doc["metadata"]["name"])

        def established() -> bool:
            return all(any(c.type == "Established" and c.status == "True"
                           for c in ext.read_custom_resource_definition(n).status.conditions or [])
                       for n in names)

        wait_until(established, timeout=60, what="CRDs to be Established")

    def ensure_namespace(self, name: str) -> None:
        try:
            self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
        except ApiException as exc:
            if exc.status != 409:
                raise
        wait_until(lambda: self.core.read_namespaced_service_account("default", name), timeout=60,
                   what=f"default ServiceAccount in {name}")

    def namespace_gone(self, name: str) -> bool:
        try:
            self.core.read_namespace(name)
        except ApiException as exc:
            if exc.status == 404:
                return True
            raise
        return False

    def finalized_objects(self, namespace: str) -> list[str]:
        """`Kind/name` of the Releases and CanaryReleases in `namespace` that still carry finalizers."""
        held = []
        for plural in ("releases", "canaryreleases"):
            for item in self.custom.list_namespaced_custom_object("rudder.dev", "v1alpha1", namespace, plural)["items"]:
                if item["metadata"].get("finalizers"):
                    held.append(f"{item['kind']}/{item['metadata']['name']}")
        return held

    def delete_namespace(self, name: str, timeout: float = 300) -> None:
        try:
            self.core.delete_namespace(name)
        except ApiException as exc:
            if exc.status != 404:
                raise

        def gone() -> bool:
            return self.namespace_gone(name)

        try:
            wait_until(gone, timeout=timeout, what=f"namespace {name} to go")
        except TimeoutError:
            # The controller could not finish its finalizers (it failed or was stopped): release them so
            # the next run starts clean, then wait for the namespace controller.
            for plural in ("canaryreleases", "releases"):
                for item in self.custom.list_namespaced_custom_object("rudder.dev", "v1alpha1", name, plural)["items"]:
                    self.custom.patch_namespaced_custom_object(
                        "rudder.dev", "v1alpha1", name, plural, item["metadata"]["name"],
                        {"metadata": {"finalizers": None}})
            wait_until(gone, timeout=60, what=f"namespace {name} to go once its finalizers were dropped")

    def variant_identity(self, variant: str, out_dir: Path) -> str:
        """A ServiceAccount (cluster-admin: a benchmark, not a deployment) and its FlowSchemas for `variant`;
        returns a kubeconfig that authenticates as it."""
        sa = f"variant-{variant}"
        self.ensure_namespace(IDENTITY_NAMESPACE)
        self.apply({"apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": sa, "namespace": IDENTITY_NAMESPACE}})
        self.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                    "metadata": {"name": f"rudder-bench-{variant}"},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                "name": "cluster-admin"},
                    "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": IDENTITY_NAMESPACE}]})
        subject = {"kind": "ServiceAccount", "serviceAccount": {"name": sa, "namespace": IDENTITY_NAMESPACE}}
        for kind, verbs in (("read", READ_VERBS), ("write", WRITE_VERBS)):
            rules: dict[str, Any] = {"subjects": [subject], "resourceRules": [{
                "verbs": verbs, "apiGroups": ["*"], "resources": ["*"], "namespaces": ["*"], "clusterScope": True}]}
            if kind == "read":
                rules["nonResourceRules"] = [{"verbs": ["*"], "nonResourceURLs": ["*"]}]
            self.apply({"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema",
                        "metadata": {"name": flow_schema(variant, kind)},
                        "spec": {"matchingPrecedence": PRECEDENCE,
                                 "priorityLevelConfiguration": {"name": PRIORITY_LEVEL},
                                 "distinguisherMethod": {"type": "ByUser"}, "rules": [rules]}})
        token = self.core.create_namespaced_service_account_token(sa, IDENTITY_NAMESPACE, {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"audiences": [], "expirationSeconds": 86400}}).status.token
        admin = yaml.safe_load(Path(self.kubeconfig).read_text())
        cluster = admin["clusters"][0]
        kubeconfig = {
            "apiVersion": "v1", "kind": "Config", "clusters": [cluster],
            "users": [{"name": sa, "user": {"token": token}}],
            "contexts": [{"name": sa, "context": {"cluster": cluster["name"], "user": sa}}],
            "current-context": sa,
        }
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{sa}.kubeconfig"
        path.write_text(yaml.safe_dump(kubeconfig))
        path.chmod(0o600)
        return str(path)

    def forget_identities(self, variants: list[str]) -> None:
        """Remove the variants' FlowSchemas, ClusterRoleBindings and the identity namespace (a shared cluster)."""
        flow = client.FlowcontrolApiserverV1Api(self.api)
        rbac = client.RbacAuthorizationV1Api(self.api)
        for variant in variants:
            for kind in ("read", "write"):
                _unless_missing(flow.delete_flow_schema, flow_schema(variant, kind))
            _unless_missing(rbac.delete_cluster_role_binding, f"rudder-bench-{variant}")
        self.delete_namespace(IDENTITY_NAMESPACE, timeout=120)

    def dispatched(self, variant: str) -> dict[str, float]:
        """The API server's count of `variant`'s requests so far: {"read": n, "write": n, "dry_run": n} (dry-run
        requests of any client: on the benchmark's cluster only the controller under test sends them)."""
        response = self.api.call_api("GET", f"{self.api.configuration.host}/metrics")
        response.read()
        text = response.data.decode()
        counts = {kind: parse_dispatched(text, flow_schema(variant, kind)) for kind in ("read", "write")}
        # Dry-run requests are writes to APF but persist nothing; only the controllers under test send them.
        counts["dry_run"] = parse_dry_runs(text)
        return counts


def _unless_missing(delete: Any, name: str) -> None:
    try:
        delete(name)
    except ApiException as exc:
        if exc.status != 404:
            raise


def flow_schema(variant: str, kind: str) -> str:
    return f"rudder-bench-{variant}-{kind}"


def parse_dispatched(metrics_text: str, schema: str) -> float:
    """Sum of `apiserver_flowcontrol_dispatched_requests_total` samples of one FlowSchema."""
    pattern = re.compile(rf'^{DISPATCHED}{{[^}}]*flow_schema="{re.escape(schema)}"[^}}]*}} ([0-9.e+]+)$')
    return sum(float(m.group(1)) for line in metrics_text.splitlines() if (m := pattern.match(line)))


def parse_dry_runs(metrics_text: str) -> float:
    """Sum of `apiserver_request_total` samples of dry-run requests (label dry_run non-empty)."""
    pattern = re.compile(r'^apiserver_request_total{[^}]*dry_run="[^"]+"[^}]*} ([0-9.e+]+)$')
    return sum(float(m.group(1)) for line in metrics_text.splitlines() if (m := pattern.match(line)))
