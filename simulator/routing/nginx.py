"""`nginx` router: a primary Ingress plus a canary Ingress for the same host, which ingress-nginx
routes to by `nginx.ingress.kubernetes.io/canary-weight` out of `canary-weight-total` (default 100).

Simulated clients send no headers or cookies, so header/cookie canary rules never apply. Like
ingress-nginx, only one canary Ingress per host is honoured: `<primary>-canary` if it exists,
otherwise the first by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator.model import WeightedTarget
from simulator.routing.common import RouterQuery, annotations_of, find_router_object, name_of, parse_weight
from simulator.routing.errors import RoutingError
from simulator.routing.reader import KindRef, Obj

INGRESS = KindRef("networking.k8s.io", ("v1",), "ingresses", "Ingress")
PREFIX = "nginx.ingress.kubernetes.io/"


def is_canary(ingress: Mapping[str, Any]) -> bool:
    return annotations_of(ingress).get(PREFIX + "canary", "").lower() == "true"


def backend_services(ingress: Mapping[str, Any]) -> list[str]:
    """Services an Ingress sends to, rules first (in order), then the default backend."""
    spec = ingress.get("spec") or {}
    names = [
        path["backend"]["service"]["name"]
        for rule in spec.get("rules") or []
        for path in (rule.get("http") or {}).get("paths") or []
        if (path.get("backend") or {}).get("service", {}).get("name")
    ]
    default = ((spec.get("defaultBackend") or {}).get("service") or {}).get("name")
    if default:
        names.append(default)
    return names


def hosts(ingress: Mapping[str, Any]) -> set[str]:
    return {str(rule.get("host") or "") for rule in (ingress.get("spec") or {}).get("rules") or []}


def targets(query: RouterQuery) -> list[WeightedTarget]:
    ingresses = query.reader.objects(INGRESS)
    primaries = [i for i in ingresses if not is_canary(i)]
    primary = find_router_object(primaries, "Ingress", query, lambda i: query.service in backend_services(i))
    primary_services = backend_services(primary)
    if not primary_services:
        raise RoutingError(f"Ingress {name_of(primary)!r} has no Service backend")
    primary_hosts = hosts(primary)
    canaries: list[Obj] = sorted(
        (
            i for i in ingresses
            if is_canary(i) and (name_of(i) == f"{name_of(primary)}-canary" or hosts(i) & primary_hosts)
        ),
        key=lambda i: (name_of(i) != f"{name_of(primary)}-canary", name_of(i)),
    )
    if not canaries or not backend_services(canaries[0]):
        return [WeightedTarget(service=primary_services[0], weight=100.0)]
    canary = canaries[0]
    annotations = annotations_of(canary)
    total = parse_weight(annotations.get(PREFIX + "canary-weight-total"), 100.0) or 100.0
    weight = min(parse_weight(annotations.get(PREFIX + "canary-weight"), 0.0), total)
    return [
        WeightedTarget(service=primary_services[0], weight=total - weight),
        WeightedTarget(service=backend_services(canary)[0], weight=weight),
    ]
