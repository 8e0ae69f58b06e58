"""Plain data the simulator passes around: pods, weighted backends, and a routing snapshot."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Pod:
    """One pod as the simulator sees it: enough to attribute a request and pick its profile."""

    name: str
    namespace: str
    ready: bool
    track: str  # canary | baseline | primary (pods without the label are primary)
    image: str
    tag: str  # image tag of the main container: the "version" profiles are keyed by


@dataclass(frozen=True)
class WeightedTarget:
    """What a router says: send `weight` (relative) of the traffic to this Service.

    `extra_selector` narrows the Service's pods further (Istio DestinationRule subsets).
    """

    service: str
    weight: float
    extra_selector: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        if not self.extra_selector:
            return self.service
        labels = ",".join(f"{k}={v}" for k, v in sorted(self.extra_selector.items()))
        return f"{self.service}[{labels}]"


@dataclass(frozen=True)
class Backend:
    """A weighted target resolved to the ready pods that would receive its requests."""

    name: str
    weight: float
    pods: tuple[Pod, ...]


@dataclass(frozen=True)
class RoutingState:
    """The whole routing picture at one refresh.

    `existing_pods` lists every pod of the namespace, ready or not: a pod's series stay exported
    while it exists (as a real pod's /metrics would) and vanish once it is deleted.
    """

    namespace: str
    backends: tuple[Backend, ...]
    existing_pods: frozenset[str] = frozenset()

    @property
    def total_weight(self) -> float:
        return sum(b.weight for b in self.backends if b.weight > 0)

    def to_dict(self) -> dict[str, Any]:
        total = self.total_weight
        return {
            "namespace": self.namespace,
            "backends": [
                {
                    "name": b.name,
                    "weight": b.weight,
                    "share": (b.weight / total) if total > 0 and b.weight > 0 else 0.0,
                    "pods": [
                        {"name": p.name, "track": p.track, "tag": p.tag, "ready": p.ready} for p in b.pods
                    ],
                }
                for b in self.backends
            ],
        }
