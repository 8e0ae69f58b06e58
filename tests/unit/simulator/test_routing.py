"""Pins down how each router type's live objects become weighted backends of ready pods:
replicas (one backend over every track), service (annotated copy Services), nginx (canary Ingress
weight), gateway-api (HTTPRoute backendRefs), istio (VirtualService destinations and subsets) and
smi (TrafficSplit backends); plus the registry and the error cases."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.routing import ROUTER_TYPES, RoutingError, StaticReader, read_routing, router_for
from tests.unit.simulator.factories import NS, custom, pod, service, web_fleet


def shares(reader: StaticReader, router: str, name: str = "web", obj: str | None = None) -> dict[str, float]:
    state = read_routing(reader, router, name, obj)
    return {b.name: b.weight / state.total_weight for b in state.backends if b.weight > 0}


def pods_of(reader: StaticReader, router: str, backend: str, name: str = "web") -> list[str]:
    state = read_routing(reader, router, name)
    return [p.name for b in state.backends if b.name == backend for p in b.pods]


def track_services() -> list[dict[str, Any]]:
    return [
        service("web", {"app": "web", "rudder.dev/track": "primary"}),
        service("web-canary", {"app": "web", "rudder.dev/track": "canary"}),
        service("web-baseline", {"app": "web", "rudder.dev/track": "baseline"}),
    ]


def tracked_fleet() -> list[dict[str, Any]]:
    fleet = web_fleet()
    for p in fleet:
        p["metadata"]["labels"].setdefault("rudder.dev/track", "primary")
    return fleet


def test_registry_lists_the_six_types_and_rejects_others() -> None:
    assert set(ROUTER_TYPES) == {"replicas", "service", "nginx", "gateway-api", "istio", "smi"}
    with pytest.raises(ValueError, match="unknown router type 'linkerd'"):
        router_for("linkerd")


def test_replicas_spreads_over_every_ready_pod_of_the_service() -> None:
    fleet = [*web_fleet(), pod("web-starting", {"app": "web"}, ready=False), pod("db-0", {"app": "db"})]
    reader = StaticReader(NS, [*fleet, service("web", {"app": "web"})])
    state = read_routing(reader, "replicas", "web")
    assert [b.name for b in state.backends] == ["web"]
    names = [p.name for p in state.backends[0].pods]
    assert names == ["web-0", "web-1", "web-2", "web-baseline-0", "web-canary-0"]
    assert {p.tag for p in state.backends[0].pods if p.track == "canary"} == {"2.0"}
    assert "web-starting" in state.existing_pods  # not routed to, but its series would stay


def test_replicas_without_the_service_is_a_routing_error() -> None:
    with pytest.raises(RoutingError, match="Service 'web' not found"):
        read_routing(StaticReader(NS, web_fleet()), "replicas", "web")


def test_service_router_weights_come_from_copy_service_annotations() -> None:
    services = track_services()
    services[1]["metadata"]["annotations"] = {"rudder.dev/weight": "20"}
    services[2]["metadata"]["annotations"] = {"rudder.dev/weight": "20"}
    reader = StaticReader(NS, [*tracked_fleet(), *services])
    assert shares(reader, "service") == pytest.approx({"web": 0.6, "web-canary": 0.2, "web-baseline": 0.2})
    assert pods_of(reader, "service", "web-canary") == ["web-canary-0"]
    assert pods_of(reader, "service", "web") == ["web-0", "web-1", "web-2"]


def test_service_router_falls_back_to_the_primary_annotation_then_zero() -> None:
    services = track_services()[:2]
    reader = StaticReader(NS, [*tracked_fleet(), *services])
    assert shares(reader, "service") == {"web": 1.0}
    services[0]["metadata"]["annotations"] = {"rudder.dev/canary-weight": "35"}
    reader = StaticReader(NS, [*tracked_fleet(), *services])
    assert shares(reader, "service") == pytest.approx({"web": 0.65, "web-canary": 0.35})


def ingress(name: str, backend: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    backend_ref = {"service": {"name": backend, "port": {"number": 80}}}
    path = {"path": "/", "pathType": "Prefix", "backend": backend_ref}
    return custom(
        "networking.k8s.io/v1", "Ingress", name,
        {"rules": [{"host": "shop.example", "http": {"paths": [path]}}]},
        annotations=annotations or {},
    )


CANARY = {"nginx.ingress.kubernetes.io/canary": "true"}


def test_nginx_canary_weight() -> None:
    reader = StaticReader(NS, [
        *tracked_fleet(), *track_services(), ingress("web", "web"),
        ingress("web-canary", "web-canary", {**CANARY, "nginx.ingress.kubernetes.io/canary-weight": "30"}),
    ])
    assert shares(reader, "nginx") == pytest.approx({"web": 0.7, "web-canary": 0.3})


def test_nginx_weight_total_and_discovery_by_backend() -> None:
    reader = StaticReader(NS, [
        *tracked_fleet(), *track_services(), ingress("shop", "web"),
        ingress("shop-v2", "web-canary", {
            **CANARY, "nginx.ingress.kubernetes.io/canary-weight": "50",
            "nginx.ingress.kubernetes.io/canary-weight-total": "1000",
        }),
    ])
    assert shares(reader, "nginx") == pytest.approx({"web": 0.95, "web-canary": 0.05})
    assert shares(reader, "nginx", obj="shop") == pytest.approx({"web": 0.95, "web-canary": 0.05})


def test_nginx_canary_without_weight_gets_nothing() -> None:
    reader = StaticReader(NS, [
        *tracked_fleet(), *track_services(),
        ingress("web", "web"), ingress("web-canary", "web-canary", CANARY),
    ])
    assert shares(reader, "nginx") == {"web": 1.0}


def httproute(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    spec = {"parentRefs": [{"name": "gw"}], "rules": rules}
    return custom("gateway.networking.k8s.io/v1", "HTTPRoute", name, spec)


def test_gateway_api_backend_ref_weights() -> None:
    rule = {"backendRefs": [
        {"name": "web", "port": 80, "weight": 90},
        {"name": "web-canary", "port": 80, "weight": 5},
        {"name": "web-baseline", "port": 80, "weight": 5},
        {"name": "bucket", "kind": "Bucket", "group": "example.com", "weight": 50},
    ]}
    other = {"matches": [{"path": {"value": "/admin"}}], "backendRefs": [{"name": "admin", "port": 80}]}
    reader = StaticReader(NS, [*tracked_fleet(), *track_services(), httproute("shop", [other, rule])])
    expected = {"web": 0.9, "web-canary": 0.05, "web-baseline": 0.05}
    assert shares(reader, "gateway-api") == pytest.approx(expected)


def test_gateway_api_weight_defaults_to_one() -> None:
    rule = {"backendRefs": [{"name": "web", "port": 80}, {"name": "web-canary", "port": 80}]}
    reader = StaticReader(NS, [*tracked_fleet(), *track_services(), httproute("web", [rule])])
    assert shares(reader, "gateway-api") == pytest.approx({"web": 0.5, "web-canary": 0.5})


def virtual_service(name: str, route: list[dict[str, Any]]) -> dict[str, Any]:
    spec = {"hosts": ["web"], "http": [{"route": route}]}
    return custom("networking.istio.io/v1beta1", "VirtualService", name, spec)


def test_istio_destination_weights_with_fqdn_hosts() -> None:
    route = [
        {"destination": {"host": f"web.{NS}.svc.cluster.local"}, "weight": 80},
        {"destination": {"host": "web-canary"}, "weight": 20},
        {"destination": {"host": "web.elsewhere.svc.cluster.local"}, "weight": 100},
    ]
    reader = StaticReader(NS, [*tracked_fleet(), *track_services(), virtual_service("web", route)])
    assert shares(reader, "istio") == pytest.approx({"web": 0.8, "web-canary": 0.2})


def test_istio_subsets_narrow_by_destination_rule_labels() -> None:
    route = [
        {"destination": {"host": "web", "subset": "primary"}, "weight": 75},
        {"destination": {"host": "web", "subset": "canary"}, "weight": 25},
    ]
    rule = custom("networking.istio.io/v1beta1", "DestinationRule", "web", {
        "host": f"web.{NS}.svc.cluster.local",
        "subsets": [
            {"name": "primary", "labels": {"rudder.dev/track": "primary"}},
            {"name": "canary", "labels": {"rudder.dev/track": "canary"}},
        ],
    })
    objs = [*tracked_fleet(), service("web", {"app": "web"}), virtual_service("web", route), rule]
    state = read_routing(StaticReader(NS, objs), "istio", "web")
    by_name = {b.name: b for b in state.backends}
    canary = by_name["web[rudder.dev/track=canary]"]
    assert canary.weight == 25
    assert [p.name for p in canary.pods] == ["web-canary-0"]
    assert [p.name for p in by_name["web[rudder.dev/track=primary]"].pods] == ["web-0", "web-1", "web-2"]

    objs[-1]["spec"]["subsets"].pop()
    with pytest.raises(RoutingError, match="subset 'canary'"):
        read_routing(StaticReader(NS, objs), "istio", "web")


def test_istio_lone_destination_takes_everything() -> None:
    reader = StaticReader(NS, [*tracked_fleet(), *track_services(), virtual_service("web", [
        {"destination": {"host": "web"}},
    ])])
    assert shares(reader, "istio") == {"web": 1.0}


def test_smi_traffic_split_integer_and_milli_weights() -> None:
    split = custom("split.smi-spec.io/v1alpha2", "TrafficSplit", "web-split", {
        "service": "web",
        "backends": [{"service": "web-primary", "weight": 60}, {"service": "web-canary", "weight": 40}],
    })
    services = [*track_services(), service("web-primary", {"app": "web", "rudder.dev/track": "primary"})]
    assert shares(StaticReader(NS, [*tracked_fleet(), *services, split]), "smi") == pytest.approx(
        {"web-primary": 0.6, "web-canary": 0.4}
    )
    split["spec"]["backends"] = [
        {"service": "web-primary", "weight": "900m"}, {"service": "web-canary", "weight": "100m"},
    ]
    assert shares(StaticReader(NS, [*tracked_fleet(), *services, split]), "smi") == pytest.approx(
        {"web-primary": 0.9, "web-canary": 0.1}
    )


def test_router_object_must_exist_and_ambiguity_is_an_error() -> None:
    route = [{"destination": {"host": "web"}}]
    objs = [*tracked_fleet(), *track_services(), virtual_service("a", route), virtual_service("b", route)]
    reader = StaticReader(NS, objs)
    with pytest.raises(RoutingError, match="several VirtualServices"):
        read_routing(reader, "istio", "web")
    with pytest.raises(RoutingError, match="VirtualService 'c' not found"):
        read_routing(reader, "istio", "web", "c")
    assert shares(reader, "istio", obj="b") == {"web": 1.0}


def test_targets_on_the_same_service_merge_and_missing_services_keep_their_weight() -> None:
    rule = {"backendRefs": [
        {"name": "web", "weight": 1}, {"name": "web", "weight": 1}, {"name": "gone", "weight": 2},
    ]}
    reader = StaticReader(NS, [*tracked_fleet(), *track_services(), httproute("web", [rule])])
    state = read_routing(reader, "gateway-api", "web")
    assert [(b.name, b.weight, len(b.pods)) for b in state.backends] == [("web", 2.0, 3), ("gone", 2.0, 0)]


def test_crds_in_other_namespaces_are_invisible() -> None:
    split = custom("split.smi-spec.io/v1alpha2", "TrafficSplit", "web", {"service": "web", "backends": []})
    split["metadata"]["namespace"] = "other"
    with pytest.raises(RoutingError, match="no TrafficSplit"):
        read_routing(StaticReader(NS, [*track_services(), split]), "smi", "web")
