"""`smi` router: a TrafficSplit (SMI v1alpha1-v1alpha4) of its root Service over weighted backends.

v1alpha1 weights are quantities ("500m"), later ones integers; both are read as relative weights.
"""

from __future__ import annotations

from simulator.model import WeightedTarget
from simulator.routing.common import RouterQuery, find_router_object, parse_weight
from simulator.routing.reader import KindRef

TRAFFIC_SPLIT = KindRef(
    "split.smi-spec.io", ("v1alpha4", "v1alpha3", "v1alpha2", "v1alpha1"), "trafficsplits", "TrafficSplit"
)


def targets(query: RouterQuery) -> list[WeightedTarget]:
    split = find_router_object(
        query.reader.objects(TRAFFIC_SPLIT), "TrafficSplit", query,
        lambda s: (s.get("spec") or {}).get("service") == query.service,
    )
    return [
        WeightedTarget(service=str(b["service"]), weight=parse_weight(b.get("weight"), 0.0))
        for b in (split.get("spec") or {}).get("backends") or []
        if b.get("service")
    ]
