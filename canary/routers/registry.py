"""The router registry: one router per `spec.router.type`, and a clear error for anything else (never a
silent fallback to some default router)."""

from __future__ import annotations

from collections.abc import Mapping

from canary.models import RouterType
from canary.routers.base import Router
from canary.routers.gateway_api import GatewayApiRouter
from canary.routers.istio import IstioRouter
from canary.routers.nginx import NginxRouter
from canary.routers.replicas import ReplicasRouter
from canary.routers.service import ServiceRouter
from canary.routers.smi import SmiRouter


class UnknownRouterError(LookupError):
    """No router is registered under that type."""


ROUTERS: Mapping[RouterType, Router] = {
    router.kind: router
    for router in (
        ReplicasRouter(),
        ServiceRouter(),
        NginxRouter(),
        GatewayApiRouter(),
        IstioRouter(),
        SmiRouter(),
    )
}


def get_router(kind: RouterType | str) -> Router:
    """The router for `kind`; UnknownRouterError names the known types otherwise."""
    try:
        return ROUTERS[RouterType(kind)]
    except (ValueError, KeyError):
        known = ", ".join(sorted(t.value for t in ROUTERS))
        raise UnknownRouterError(f"unknown router type {kind!r} (known: {known})") from None


def required_crds(kind: RouterType | str) -> tuple[str, ...]:
    """The third-party CRDs a router type needs installed."""
    return get_router(kind).crds
