"""`istio` router: a VirtualService whose HTTP route splits traffic over weighted destinations.

The simulated clients match one HTTP route: the first with a destination on the Service, else
the first. A lone destination without a weight takes everything (Istio's rule). A destination
`subset` narrows the Service's pods by the labels a DestinationRule gives that subset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator.model import WeightedTarget
from simulator.routing.common import RouterQuery, find_router_object, parse_weight, service_from_host
from simulator.routing.errors import RoutingError
from simulator.routing.reader import KindRef

_VERSIONS = ("v1", "v1beta1", "v1alpha3")
VIRTUAL_SERVICE = KindRef("networking.istio.io", _VERSIONS, "virtualservices", "VirtualService")
DESTINATION_RULE = KindRef("networking.istio.io", _VERSIONS, "destinationrules", "DestinationRule")


def _destinations(http_route: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [r for r in http_route.get("route") or [] if (r.get("destination") or {}).get("host")]


def _http(vs: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list((vs.get("spec") or {}).get("http") or [])


def _subset_labels(query: RouterQuery, service: str, subset: str) -> Mapping[str, str]:
    ns = query.reader.namespace
    for rule in query.reader.objects(DESTINATION_RULE):
        spec = rule.get("spec") or {}
        if service_from_host(str(spec.get("host", "")), ns) != service:
            continue
        for candidate in spec.get("subsets") or []:
            if candidate.get("name") == subset:
                labels: Mapping[str, str] = candidate.get("labels") or {}
                return labels
    raise RoutingError(f"no DestinationRule in {ns} defines subset {subset!r} of {service!r}")


def targets(query: RouterQuery) -> list[WeightedTarget]:
    ns = query.reader.namespace

    def on_service(http_route: Mapping[str, Any]) -> bool:
        hosts = (d["destination"]["host"] for d in _destinations(http_route))
        return any(service_from_host(h, ns) == query.service for h in hosts)

    vs = find_router_object(
        query.reader.objects(VIRTUAL_SERVICE), "VirtualService", query,
        lambda v: any(map(on_service, _http(v))),
    )
    routes = _http(vs)
    if not routes:
        return []
    chosen = next((r for r in routes if on_service(r)), routes[0])
    destinations = _destinations(chosen)
    lone_default = 100.0 if len(destinations) == 1 else 0.0
    result = []
    for d in destinations:
        service = service_from_host(d["destination"]["host"], ns)
        if service is None:  # another namespace or an external host: not simulated
            continue
        subset = d["destination"].get("subset")
        extra = _subset_labels(query, service, str(subset)) if subset else {}
        result.append(WeightedTarget(service, parse_weight(d.get("weight"), lone_default), dict(extra)))
    return result
