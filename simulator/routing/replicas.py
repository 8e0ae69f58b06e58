"""`replicas` router: the primary Service selects every track, so the canary's share of traffic is
its share of ready replicas. One backend; requests go round-robin over all its ready pods."""

from __future__ import annotations

from simulator.model import WeightedTarget
from simulator.routing.common import RouterQuery
from simulator.routing.errors import RoutingError


def targets(query: RouterQuery) -> list[WeightedTarget]:
    name = query.router_object or query.service
    if name not in query.services:
        raise RoutingError(f"Service {name!r} not found in {query.reader.namespace}")
    return [WeightedTarget(service=name, weight=100.0)]
