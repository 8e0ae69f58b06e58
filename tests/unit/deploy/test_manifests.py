"""deploy/ renders with kustomize into a complete, consistent install: two peering replicas of the
controllers with probes on the health port, requests and limits, a locked-down security context and
/tmp as the only writable path; a metrics Service and a PodDisruptionBudget that select those pods;
the CRDs (Rudder's and kopf's peering kinds), the policy library and the peering object the
replicas name; a namespaced overlay with nothing cluster-scoped but the CRDs; a ServiceMonitor
overlay that scrapes the metrics port."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from rudder.controller import parse_args
from tests.unit.deploy.manifests import (
    DEPLOY,
    KUSTOMIZATIONS,
    REPO,
    container,
    find,
    grants,
    kinds,
    rbac_rules,
    render,
)

BASE = KUSTOMIZATIONS["base"]
NAMESPACED = KUSTOMIZATIONS["namespaced"]
SERVICEMONITOR = KUSTOMIZATIONS["servicemonitor"]


def pod_spec(objects: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = find(objects, "Deployment", "rudder-controller")["spec"]["template"]["spec"]
    return spec


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_every_kustomization_builds(name: str) -> None:
    objects = render(KUSTOMIZATIONS[name])
    assert "Deployment" in kinds(objects)
    assert all(o["metadata"].get("name") for o in objects)


def test_base_holds_the_whole_install() -> None:
    objects = render(BASE)
    crds = {o["metadata"]["name"] for o in objects if o["kind"] == "CustomResourceDefinition"}
    expected_crds = {doc["metadata"]["name"] for path in (REPO / "crds").glob("*.yaml")
                     for doc in yaml.safe_load_all(path.read_text()) if doc}
    assert crds == expected_crds | {"clusterkopfpeerings.kopf.dev", "kopfpeerings.kopf.dev"}
    policies = {o["metadata"]["name"] for o in objects if o["kind"] == "ClusterMetricPolicy"}
    library = {doc["metadata"]["name"] for path in (REPO / "policies").glob("*.yaml")
               for doc in yaml.safe_load_all(path.read_text()) if doc}
    assert policies == library and policies
    for kind in ("Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Deployment", "Service",
                 "PodDisruptionBudget", "ClusterKopfPeering"):
        assert kind in kinds(objects), kind
    assert find(objects, "Namespace")["metadata"]["name"] == "rudder-system"
    namespaced = [o for o in objects if o["kind"] in ("ServiceAccount", "Deployment", "Service", "PodDisruptionBudget")]
    assert {o["metadata"]["namespace"] for o in namespaced} == {"rudder-system"}


@pytest.mark.parametrize("directory", ["crds", "policies"])
def test_directory_kustomizations_list_every_manifest_beside_them(directory: str) -> None:
    """crds/ and policies/ are included as directories; a YAML file added there must be listed too."""
    folder = REPO / directory
    listed = yaml.safe_load((folder / "Kustomization").read_text())["resources"]
    present = sorted(p.name for p in folder.glob("*.yaml"))
    assert sorted(listed) == present


@pytest.mark.parametrize(("directory", "kind"), [("crds", "CustomResourceDefinition"),
                                                 ("policies", "ClusterMetricPolicy")])
def test_kubectl_apply_f_of_the_directory_still_applies_only_its_objects(directory: str, kind: str) -> None:
    """`kubectl apply -f crds/` (the API contract's install) reads every *.yaml, *.yml and *.json file
    there: the kustomization must not be one of them."""
    folder = REPO / directory
    files = [p for p in folder.iterdir() if p.suffix in (".yaml", ".yml", ".json")]
    docs = [doc for path in files for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert docs and {doc["kind"] for doc in docs} == {kind}


def test_two_replicas_peer_under_the_peering_object_that_ships() -> None:
    objects = render(BASE)
    deployment = find(objects, "Deployment", "rudder-controller")
    assert deployment["spec"]["replicas"] == 2
    cfg = parse_args(container(objects)["args"])
    assert cfg.peering is not None
    assert find(objects, "ClusterKopfPeering")["metadata"]["name"] == cfg.peering
    assert cfg.priority < 0, "auto priority: replicas rank by start time (equal priorities would pause both)"
    assert cfg.namespaces == (), "the base install watches the whole cluster (ClusterKopfPeering)"
    env = {e["name"]: e for e in container(objects)["env"]}
    assert env["POD_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name", "peers are named after pods"
    rollout = deployment["spec"]["strategy"]["rollingUpdate"]
    assert rollout["maxUnavailable"] == 0


def test_probes_and_ports_follow_the_controller_flags() -> None:
    objects = render(BASE)
    c = container(objects)
    cfg = parse_args(c["args"])
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"metrics": cfg.metrics_port, "health": cfg.health_port}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/healthz", "port": "health"}, probe
    assert c["resources"]["requests"].keys() == {"cpu", "memory"}
    assert c["resources"]["limits"].keys() == {"cpu", "memory"}


def test_pod_is_locked_down_with_tmp_the_only_writable_path() -> None:
    objects = render(BASE)
    spec, c = pod_spec(objects), container(objects)
    pod_ctx, ctx = spec["securityContext"], c["securityContext"]
    assert pod_ctx["runAsNonRoot"] is True and pod_ctx["runAsUser"] > 0
    assert pod_ctx["seccompProfile"] == {"type": "RuntimeDefault"}
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
    (mount,) = c["volumeMounts"]
    assert mount["mountPath"] == "/tmp"
    (volume,) = spec["volumes"]
    assert volume["name"] == mount["name"] and "emptyDir" in volume
    assert spec["serviceAccountName"] == find(objects, "ServiceAccount")["metadata"]["name"]
    namespace = find(objects, "Namespace")["metadata"]["labels"]
    assert namespace["pod-security.kubernetes.io/enforce"] == "restricted"


def test_metrics_service_and_disruption_budget_select_the_controller_pods() -> None:
    objects = render(BASE)
    labels = find(objects, "Deployment", "rudder-controller")["spec"]["template"]["metadata"]["labels"]
    service = find(objects, "Service", "rudder-controller-metrics")
    assert selects(service["spec"]["selector"], labels)
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == "metrics" and port["name"] == "metrics"
    pdb = find(objects, "PodDisruptionBudget")
    assert selects(pdb["spec"]["selector"]["matchLabels"], labels)
    assert pdb["spec"]["minAvailable"] == 1


def test_cluster_role_is_bound_to_the_pods_service_account() -> None:
    objects = render(BASE)
    binding = find(objects, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == find(objects, "ClusterRole")["metadata"]["name"]
    sa = find(objects, "ServiceAccount")["metadata"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa["name"], "namespace": sa["namespace"]}]


def test_peering_crds_are_structural() -> None:
    crds = [o for o in render(DEPLOY / "crds") if o["spec"]["group"] == "kopf.dev"]
    assert {(c["spec"]["names"]["kind"], c["spec"]["scope"]) for c in crds} == {
        ("ClusterKopfPeering", "Cluster"), ("KopfPeering", "Namespaced")}

    def typed(schema: dict[str, Any], where: str) -> None:
        assert "type" in schema, f"{where} has no type"
        for name, sub in (schema.get("properties") or {}).items():
            typed(sub, f"{where}.{name}")
        if isinstance(schema.get("additionalProperties"), dict):
            typed(schema["additionalProperties"], f"{where}[*]")

    for crd in crds:
        (version,) = crd["spec"]["versions"]
        typed(version["schema"]["openAPIV3Schema"], crd["metadata"]["name"])


def test_namespaced_overlay_has_nothing_cluster_scoped_but_the_crds() -> None:
    objects = render(NAMESPACED)
    assert {o["kind"] for o in objects} == {
        "CustomResourceDefinition", "ServiceAccount", "Role", "RoleBinding", "Deployment", "Service",
        "PodDisruptionBudget", "KopfPeering"}
    namespaced = [o for o in objects if o["kind"] != "CustomResourceDefinition"]
    (namespace,) = {o["metadata"]["namespace"] for o in namespaced}
    binding = find(objects, "RoleBinding")
    assert binding["subjects"][0]["namespace"] == namespace
    c = container(objects)
    env = {e["name"]: e for e in c["env"]}
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    cfg = parse_args(c["args"])
    assert cfg.namespaces == ("$(POD_NAMESPACE)",), "the kubelet expands it to the pod's namespace"
    assert find(objects, "KopfPeering")["metadata"]["name"] == cfg.peering


def test_namespaced_role_grants_only_what_the_cluster_role_grants_in_a_namespace() -> None:
    cluster = set(grants(rbac_rules(render(BASE))))
    role = set(grants(rbac_rules(render(NAMESPACED))))
    peering = {g for g in role if g.resource == "kopfpeerings"}
    assert {g.verb for g in peering} == {"list", "watch", "patch"}
    assert role - peering <= cluster
    cluster_only = {g.resource for g in cluster - role}
    assert cluster_only == {"customresourcedefinitions", "namespaces", "clusterkopfpeerings",
                            "clustermetricpolicies"}


def test_servicemonitor_overlay_scrapes_the_metrics_port() -> None:
    objects = render(SERVICEMONITOR)
    monitor = find(objects, "ServiceMonitor")
    service = find(objects, "Service", "rudder-controller-metrics")
    assert selects(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    assert monitor["spec"]["namespaceSelector"]["matchNames"] == [service["metadata"]["namespace"]]
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"]
    assert endpoint["honorLabels"] is True, "the metrics' own namespace label must survive the scrape"
    assert kinds(objects) == sorted([*kinds(render(BASE)), "ServiceMonitor"])
