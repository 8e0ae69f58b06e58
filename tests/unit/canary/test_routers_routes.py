"""The `gateway-api` and `istio` routers: percentage weights on the user's HTTPRoute backendRefs and
VirtualService routes, per-track Services behind them, rules they do not own left alone, optimistic
concurrency, and finalize restoring the route to its primary backend."""

from __future__ import annotations

from typing import Any

import pytest

from canary.models import RouterSpec, RouterType
from canary.routers import Patch, RouterError
from canary.routers.gateway_api import GatewayApiRouter
from canary.routers.istio import IstioRouter
from tests.unit.canary.cluster import Cluster, release_objects

GATEWAY = RouterSpec(type=RouterType.GATEWAY_API, http_route="shop")
ISTIO = RouterSpec(type=RouterType.ISTIO, virtual_service="shop")


def http_route(*rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "shop", "namespace": "prod", "resourceVersion": "7"},
        "spec": {"parentRefs": [{"name": "gw"}], "rules": [{"backendRefs": refs} for refs in rules]},
    }


def route_of(c: Cluster) -> dict[str, Any]:
    found = c.get("gateway.networking.k8s.io/v1", "HTTPRoute", "shop")
    assert found is not None
    return found


def weights(rule: dict[str, Any]) -> list[tuple[str, int | None]]:
    return [(r["name"], r.get("weight")) for r in rule["backendRefs"]]


def test_gateway_router_splits_the_forked_backend() -> None:
    c = Cluster([*release_objects(), http_route([{"name": "web", "port": 80}], [{"name": "api", "port": 80}])])
    router = GatewayApiRouter()
    c.apply(router.reconcile(c.context(GATEWAY)))
    assert c.get("v1", "Service", "web-canary") is not None
    assert c.get("v1", "Service", "web-baseline") is not None
    c.apply(router.set_weight(c.context(GATEWAY), 10))
    web, api = route_of(c)["spec"]["rules"]
    assert weights(web) == [("web", 80), ("web-canary", 10), ("web-baseline", 10)]
    assert all(r["port"] == 80 for r in web["backendRefs"])
    assert weights(api) == [("api", None)]
    assert route_of(c)["spec"]["parentRefs"] == [{"name": "gw"}]
    assert router.get_weight(c.context(GATEWAY)) == 10
    # Setting the next weight rebuilds from what is there (idempotent, no duplicated refs).
    c.apply(router.set_weight(c.context(GATEWAY), 60))
    c.apply(router.set_weight(c.context(GATEWAY), 60))
    assert weights(route_of(c)["spec"]["rules"][0]) == [("web", 0), ("web-canary", 60), ("web-baseline", 40)]
    assert router.get_weight(c.context(GATEWAY)) == 60


def test_gateway_router_patches_only_the_version_it_read() -> None:
    c = Cluster([*release_objects(), http_route([{"name": "web"}])])
    [change] = GatewayApiRouter().set_weight(c.context(GATEWAY), 10)
    assert isinstance(change, Patch)
    assert change.resource_version == "7"


def test_gateway_router_finalize_restores_the_primary_backend() -> None:
    c = Cluster([*release_objects(), http_route([{"name": "web", "port": 80}])])
    router = GatewayApiRouter()
    c.apply(router.reconcile(c.context(GATEWAY)))
    c.apply(router.set_weight(c.context(GATEWAY), 50))
    c.apply(router.finalize(c.context(GATEWAY)))
    assert weights(route_of(c)["spec"]["rules"][0]) == [("web", None)]
    assert c.get("v1", "Service", "web-canary") is None
    assert router.get_weight(c.context(GATEWAY)) == 0


def test_gateway_router_refuses_rules_it_cannot_split() -> None:
    mixed = Cluster([*release_objects(), http_route([{"name": "web"}, {"name": "api"}])])
    with pytest.raises(RouterError, match="mixes"):
        GatewayApiRouter().set_weight(mixed.context(GATEWAY), 10)
    unrelated = Cluster([*release_objects(), http_route([{"name": "api"}])])
    with pytest.raises(RouterError, match="sends no traffic to a forked"):
        GatewayApiRouter().get_weight(unrelated.context(GATEWAY))
    foreign = Cluster([*release_objects(), http_route([{"name": "web", "namespace": "other"}])])
    with pytest.raises(RouterError):
        GatewayApiRouter().get_weight(foreign.context(GATEWAY))
    with pytest.raises(RouterError, match="not found"):
        GatewayApiRouter().get_weight(Cluster(release_objects()).context(GATEWAY))


def virtual_service(host: str, subset: str | None = None) -> dict[str, Any]:
    destination: dict[str, Any] = {"host": host, "port": {"number": 80}}
    if subset:
        destination["subset"] = subset
    return {
        "apiVersion": "networking.istio.io/v1beta1",
        "kind": "VirtualService",
        "metadata": {"name": "shop", "namespace": "prod", "resourceVersion": "3"},
        "spec": {
            "hosts": ["shop.example"],
            "http": [
                {"match": [{"uri": {"prefix": "/"}}], "route": [{"destination": destination}]},
                {"route": [{"destination": {"host": "api"}}]},
            ],
        },
    }


def vs_of(c: Cluster) -> dict[str, Any]:
    found = c.get("networking.istio.io/v1beta1", "VirtualService", "shop")
    assert found is not None
    return found


@pytest.mark.parametrize("host", ["web", "web.prod", "web.prod.svc", "web.prod.svc.cluster.local"])
def test_istio_router_weights_per_track_services(host: str) -> None:
    c = Cluster([*release_objects(), virtual_service(host, subset="v1")])
    router = IstioRouter()
    c.apply(router.reconcile(c.context(ISTIO)))
    c.apply(router.set_weight(c.context(ISTIO), 20))
    first, second = vs_of(c)["spec"]["http"]
    suffix = host.removeprefix("web")
    assert [(r["destination"]["host"], r["weight"]) for r in first["route"]] == [
        (host, 60),
        (f"web-canary{suffix}", 20),
        (f"web-baseline{suffix}", 20),
    ]
    # The primary keeps its subset; the track Services need none.
    assert [r["destination"].get("subset") for r in first["route"]] == ["v1", None, None]
    assert first["match"] == [{"uri": {"prefix": "/"}}]
    assert second["route"] == [{"destination": {"host": "api"}}]
    assert router.get_weight(c.context(ISTIO)) == 20
    c.apply(router.finalize(c.context(ISTIO)))
    assert vs_of(c)["spec"]["http"][0]["route"] == [
        {"destination": {"host": host, "port": {"number": 80}, "subset": "v1"}}
    ]
    assert router.get_weight(c.context(ISTIO)) == 0


def test_istio_router_ignores_other_namespaces_and_needs_its_object() -> None:
    other = Cluster([*release_objects(), virtual_service("web.other.svc.cluster.local")])
    with pytest.raises(RouterError, match="sends no traffic to a forked"):
        IstioRouter().get_weight(other.context(ISTIO))
    with pytest.raises(RouterError, match="not found"):
        IstioRouter().get_weight(Cluster(release_objects()).context(ISTIO))
    assert IstioRouter().finalize(Cluster(release_objects()).context(ISTIO)) == ()
