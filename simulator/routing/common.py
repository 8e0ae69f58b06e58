"""Helpers shared by the per-router parsers: finding the router object and reading weights."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from simulator.model import WeightedTarget
from simulator.routing.errors import RoutingError
from simulator.routing.reader import ClusterReader, Obj


@dataclass(frozen=True)
class RouterQuery:
    """Input of one router parser for one refresh.

    `service` is the CanaryRelease's `router.service`; `router_object` names the Ingress /
    HTTPRoute / VirtualService / TrafficSplit explicitly when it is not called like the Service.
    """

    reader: ClusterReader
    services: Mapping[str, Obj]
    service: str
    router_object: str | None = None


RouterFn = Callable[[RouterQuery], list[WeightedTarget]]


def name_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def annotations_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    annotations: Mapping[str, str] = (obj.get("metadata") or {}).get("annotations") or {}
    return annotations


def find_router_object(
    objs: Iterable[Obj], kind: str, query: RouterQuery, references: Callable[[Obj], bool]
) -> Obj:
    """The object the router drives: the one named explicitly, else the one named like the
    Service, else the only one that routes to the Service. Guessing between several would make
    the simulated traffic depend on list order, so that is an error."""
    by_name = {name_of(o): o for o in objs}
    if query.router_object:
        if query.router_object not in by_name:
            raise RoutingError(f"{kind} {query.router_object!r} not found in {query.reader.namespace}")
        return by_name[query.router_object]
    if query.service in by_name:
        return by_name[query.service]
    candidates = sorted((o for o in by_name.values() if references(o)), key=name_of)
    if not candidates:
        raise RoutingError(f"no {kind} in {query.reader.namespace} routes to Service {query.service!r}")
    if len(candidates) > 1:
        names = ", ".join(name_of(o) for o in candidates)
        raise RoutingError(f"several {kind}s route to Service {query.service!r} ({names}); name one")
    return candidates[0]


def parse_weight(value: Any, default: float) -> float:
    """A weight as routers write it: a number, a numeric string, or a milli-quantity ("500m",
    as SMI v1alpha1 TrafficSplits carry). Negative weights are clamped to zero."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise RoutingError(f"invalid weight {value!r}")
    if isinstance(value, int | float):
        return max(float(value), 0.0)
    text = str(value).strip()
    try:
        number = float(text[:-1]) / 1000.0 if text.endswith("m") else float(text)
    except ValueError as exc:
        raise RoutingError(f"invalid weight {value!r}") from exc
    return max(number, 0.0)


def service_from_host(host: str, namespace: str) -> str | None:
    """The Service a mesh host names, or None when it lives in another namespace (or is not a
    cluster Service at all): the simulator only follows routing inside its own namespace."""
    parts = host.split(".")
    if len(parts) == 1:
        return parts[0]
    if parts[1] != namespace:
        return None
    if len(parts) == 2 or parts[2] == "svc":
        return parts[0]
    return None
