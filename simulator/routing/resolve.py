"""From weighted Services to weighted sets of ready pods, the way kube-proxy and meshes see them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from simulator.model import Backend, RoutingState, WeightedTarget
from simulator.pods import parse_pod, pod_labels, selector_matches
from simulator.routing.reader import Obj


def resolve(
    namespace: str, targets: Iterable[WeightedTarget], services: Mapping[str, Obj], pods: Iterable[Obj]
) -> RoutingState:
    """Resolve each target through its Service's selector to the ready pods behind it.

    Targets naming the same Service and subset are merged (weights add up), as a proxy would.
    A target whose Service is missing keeps its weight but has no pods: requests routed there
    fail without reaching any pod, and that is what the simulator should reproduce.
    """
    raw_pods = sorted(pods, key=lambda p: str((p.get("metadata") or {}).get("name", "")))
    merged: dict[str, tuple[WeightedTarget, float]] = {}
    for target in targets:
        previous = merged.get(target.key)
        merged[target.key] = (target, target.weight + (previous[1] if previous else 0.0))

    backends = []
    for key, (target, weight) in merged.items():
        service = services.get(target.service)
        selected = []
        if service is not None:
            selector = {**((service.get("spec") or {}).get("selector") or {}), **target.extra_selector}
            for raw in raw_pods:
                if selector_matches(selector, pod_labels(raw)):
                    pod = parse_pod(raw)
                    if pod.ready:
                        selected.append(pod)
        backends.append(Backend(name=key, weight=weight, pods=tuple(selected)))
    existing = frozenset(str((p.get("metadata") or {}).get("name", "")) for p in raw_pods)
    return RoutingState(namespace=namespace, backends=tuple(backends), existing_pods=existing)
