"""Each router drives its traffic objects on the real API server at every step: replicas scales the
copies, service weights the per-track Services, nginx writes a canary Ingress with canary-weight,
gateway-api sets HTTPRoute backendRef weights, istio sets VirtualService route weights and smi owns a
TrafficSplit; after promotion all traffic is back on the primary and the router's own objects are gone.
Third-party CRDs are minimal stand-ins from tests/fixtures/crds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.canary import WEB, WEB_SERVICE
from tests.support.cluster import Cluster
from tests.support.controller import ControllerProcess
from tests.support.releases import GROUP, VERSION, create_release, release_body, wait_release
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "crds"

INGRESS = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules:
    - host: web.example
      http:
        paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]
"""
HTTPROUTE = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  parentRefs: [{name: gateway}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
"""
VIRTUALSERVICE = """\
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: [web]
  http: [{route: [{destination: {host: web}}]}]
"""

ROUTERS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "replicas": ({}, {"service": "web"}),
    "service": ({}, {"service": "web"}),
    "nginx": ({"ingress.yaml": INGRESS}, {"ingress": "web"}),
    "gateway-api": ({"route.yaml": HTTPROUTE}, {"httpRoute": "web"}),
    "istio": ({"vs.yaml": VIRTUALSERVICE}, {"virtualService": "web"}),
    "smi": ({}, {"service": "web", "trafficSplit": "web-split"}),
}


@pytest.fixture(scope="module")
def third_party_crds(cluster: Cluster) -> None:
    for path in sorted(FIXTURES.glob("*.yaml")):
        cluster.apply_file(path)
    wait_for(lambda: all(cluster.dynamic.resources.get(api_version=a, kind=k) for a, k in [
        ("gateway.networking.k8s.io/v1", "HTTPRoute"), ("networking.istio.io/v1beta1", "VirtualService"),
        ("split.smi-spec.io/v1alpha2", "TrafficSplit")]), timeout=60, what="third-party CRDs served")


def custom(cluster: Cluster, namespace: str, api_version: str, plural: str, name: str) -> dict[str, Any] | None:
    group, version = api_version.split("/")
    try:
        return cluster.custom.get_namespaced_custom_object(group, version, namespace, plural, name)  # type: ignore[no-any-return]
    except Exception:
        return None


def weight_seen(router: str, cluster: Cluster, namespace: str) -> int | None:
    """The canary weight as the router's objects express it, read the way a data plane would."""
    if router == "replicas":
        deps = {d.metadata.name: d.spec.replicas for d in cluster.apps.list_namespaced_deployment(namespace).items}
        return deps.get("web-canary")
    if router == "service":
        svcs = {s.metadata.name: s for s in cluster.core.list_namespaced_service(namespace).items}
        canary = svcs.get("web-canary")
        return int(canary.metadata.annotations["rudder.dev/weight"]) if canary else None
    if router == "nginx":
        ings = {i.metadata.name: i for i in cluster.networking.list_namespaced_ingress(namespace).items}
        canary = ings.get("web-canary")
        return int(canary.metadata.annotations["nginx.ingress.kubernetes.io/canary-weight"]) if canary else None
    if router == "gateway-api":
        route = custom(cluster, namespace, "gateway.networking.k8s.io/v1", "httproutes", "web") or {}
        refs = {r["name"]: r.get("weight", 1) for r in route["spec"]["rules"][0]["backendRefs"]}
        return refs.get("web-canary")
    if router == "istio":
        vs = custom(cluster, namespace, "networking.istio.io/v1beta1", "virtualservices", "web") or {}
        dests = {r["destination"]["host"]: r.get("weight", 100) for r in vs["spec"]["http"][0]["route"]}
        return dests.get("web-canary")
    split = custom(cluster, namespace, "split.smi-spec.io/v1alpha2", "trafficsplits", "web-split")
    if split is None:
        return None
    return {b["service"]: b["weight"] for b in split["spec"]["backends"]}.get("web-canary")


@pytest.mark.parametrize("router", sorted(ROUTERS))
def test_router_writes_weights_at_each_step_and_cleans_up(
    cluster: Cluster, namespace: str, controller: ControllerProcess, third_party_crds: None, router: str,
) -> None:
    extra_templates, router_spec = ROUTERS[router]
    templates = {"deployment.yaml": WEB, "service.yaml": WEB_SERVICE, **extra_templates}
    create_release(cluster, namespace, release_body("web", templates=templates,
                                                    chart_values={"replicas": 4, "tag": "3.10"}))
    wait_release(cluster, namespace, "web", phase="Ready", revision=1)
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "CanaryRelease", "metadata": {"name": "c"},
            "spec": {"release": "web", "values": {"tag": "3.9"}, "router": {"type": router, **router_spec},
                     "steps": [{"weight": 25}, {"pause": {}}, {"weight": 50}, {"pause": {}}],
                     "progressDeadline": "90s"}}
    cluster.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "canaryreleases", body)

    def status() -> dict[str, Any]:
        obj = cluster.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "canaryreleases", "c")
        return obj.get("status") or {}

    def resume() -> None:
        cluster.custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, "canaryreleases", "c",
                                                      {"metadata": {"annotations": {"rudder.dev/action": "resume"}}})

    # replicas: copy replica counts; nginx: one canary backend carries canary + baseline shares.
    expected = {"replicas": (1, 2), "nginx": (50, 100)}.get(router, (25, 50))
    for step, weight in zip((1, 3), expected, strict=True):
        wait_for(lambda s=step: status().get("phase") == "Paused" and status().get("step") == s, timeout=90,
                 what=f"paused after step {step - 1}")
        wait_for(lambda w=weight: weight_seen(router, cluster, namespace) == w, timeout=30,
                 what=f"{router} objects expressing canary weight {weight}")
        resume()

    wait_for(lambda: status().get("phase") == "Promoted", timeout=120, what="promoted")
    wait_release(cluster, namespace, "web", phase="Ready", revision=2)
    assert not weight_seen(router, cluster, namespace), "no canary traffic after promotion"
    deployments = {d.metadata.name for d in cluster.apps.list_namespaced_deployment(namespace).items}
    assert deployments == {"web"}
