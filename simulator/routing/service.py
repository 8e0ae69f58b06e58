"""`service` router: a weighted front end in front of the primary Service and `<service>-canary`
(and `<service>-baseline` when it exists).

The front end itself is not a Kubernetes object, so the weights live in annotations on the copy
Services: `rudder.dev/weight` (percent of all traffic; the older spelling
`rudder.dev/canary-weight` is accepted too). The primary Service receives what is left of 100.
When a copy Service carries no annotation, the primary Service's annotation is used for it
(a router may keep a single canary weight there); otherwise it gets no traffic.
"""

from __future__ import annotations

from simulator.model import WeightedTarget
from simulator.routing.common import RouterQuery, annotations_of, parse_weight
from simulator.routing.errors import RoutingError
from simulator.routing.reader import Obj

WEIGHT_ANNOTATIONS = ("rudder.dev/weight", "rudder.dev/canary-weight")
COPY_SUFFIXES = ("-canary", "-baseline")


def _annotated_weight(obj: Obj | None) -> float | None:
    if obj is None:
        return None
    annotations = annotations_of(obj)
    for key in WEIGHT_ANNOTATIONS:
        if key in annotations:
            return min(parse_weight(annotations[key], 0.0), 100.0)
    return None


def targets(query: RouterQuery) -> list[WeightedTarget]:
    primary_name = query.router_object or query.service
    primary: Obj | None = query.services.get(primary_name)
    if primary is None:
        raise RoutingError(f"Service {primary_name!r} not found in {query.reader.namespace}")
    fallback = _annotated_weight(primary)
    copies: list[WeightedTarget] = []
    for suffix in COPY_SUFFIXES:
        name = f"{primary_name}{suffix}"
        if name in query.services:
            own = _annotated_weight(query.services[name])
            weight = own if own is not None else (fallback or 0.0)
            copies.append(WeightedTarget(service=name, weight=weight))
    rest = max(100.0 - sum(t.weight for t in copies), 0.0)
    return [WeightedTarget(service=primary_name, weight=rest), *copies]
