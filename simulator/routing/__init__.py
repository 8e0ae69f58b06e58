"""Reading the live routing state: one parser per router type and a registry that rejects unknown
types. Parsers are pure over a `ClusterReader`; `KubeReader` is the only part doing I/O."""

from __future__ import annotations

from collections.abc import Mapping

from simulator.model import RoutingState
from simulator.routing import gateway, istio, nginx, replicas, service, smi
from simulator.routing.common import RouterFn, RouterQuery, name_of
from simulator.routing.errors import RoutingError
from simulator.routing.reader import ClusterReader, KubeReader, StaticReader
from simulator.routing.resolve import resolve

ROUTERS: Mapping[str, RouterFn] = {
    "replicas": replicas.targets,
    "service": service.targets,
    "nginx": nginx.targets,
    "gateway-api": gateway.targets,
    "istio": istio.targets,
    "smi": smi.targets,
}
ROUTER_TYPES = tuple(ROUTERS)

__all__ = [
    "ROUTER_TYPES",
    "ClusterReader",
    "KubeReader",
    "RoutingError",
    "StaticReader",
    "read_routing",
    "router_for",
]


def router_for(router_type: str) -> RouterFn:
    try:
        return ROUTERS[router_type]
    except KeyError:
        raise ValueError(
            f"unknown router type {router_type!r}; known: {', '.join(ROUTER_TYPES)}"
        ) from None


def read_routing(
    reader: ClusterReader, router_type: str, service: str, router_object: str | None = None
) -> RoutingState:
    """One refresh: read pods, Services and the router's objects, and resolve them to backends."""
    parse = router_for(router_type)
    pods = reader.pods()
    services = {name_of(s): s for s in reader.services()}
    targets = parse(RouterQuery(reader, services, service, router_object))
    return resolve(reader.namespace, targets, services, pods)
