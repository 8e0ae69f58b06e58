"""Which CanaryReleases a change to another object concerns: pure functions over observations and the wire
form of objects.

A CanaryRelease reads, besides itself: its Release, the Release's workloads (the primaries it forks), its
copies, and the objects its router reads (Services, Ingresses, HTTPRoutes, VirtualServices, TrafficSplits,
copies for the replicas router). Its copies and the router objects it creates name it (an ownerReference
to the CanaryRelease, the `rudder.dev/canary-release` annotation), so they lead to it even before it has
read them; everything else is found through what its last observation read (`interests`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from canary.domain.fork import ForkPlan
from canary.domain.labels import CANARY_ANNOTATION, CANARY_KIND
from canary.domain.observed import Observed

# (kind, name) of an object in the canary's own namespace; kinds are told apart by name only (no two kinds
# a canary reads share one).
Interest = tuple[str, str]
RELEASE_KIND = "Release"


def interests(observed: Observed, router_reads: Iterable[Interest] = ()) -> frozenset[Interest]:
    """What a change to wakes the canary observed: its Release, the Release's forked workloads, their
    copies and what its router read."""
    spec = observed.spec
    found: set[Interest] = set(router_reads)
    release = getattr(spec, "release", None)
    if isinstance(release, str) and release:
        found.add((RELEASE_KIND, release))
    plan = observed.fork
    if isinstance(plan, ForkPlan):
        found.update((w.kind, w.name) for w in plan.workloads)
        found.update((c.kind, c.name) for c in plan.copies)
    return frozenset(found)


def named_canary(obj: Mapping[str, Any]) -> tuple[str, str] | None:
    """(namespace, name) of the CanaryRelease that made `obj` (a copy, a router object), or None."""
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping):
        return None
    namespace = meta.get("namespace")
    for ref in meta.get("ownerReferences") or ():
        if isinstance(ref, Mapping) and ref.get("kind") == CANARY_KIND and ref.get("name") and namespace:
            return str(namespace), str(ref["name"])
    annotation = (meta.get("annotations") or {}).get(CANARY_ANNOTATION)
    if isinstance(annotation, str) and annotation.count("/") == 1:
        ns, name = annotation.split("/")
        if ns and name:
            return ns, name
    return None
