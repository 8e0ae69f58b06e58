"""`gateway-api`: weights on an HTTPRoute's backendRefs.

In every rule whose single backend is a forked workload's Service, that backendRef becomes three (the primary
Service, `<service>-canary`, `<service>-baseline`) with percentage weights (see canary.routers.route).
"""

from __future__ import annotations

from typing import Any

from canary.models import RouterType
from canary.routers.base import RouterContext
from canary.routers.route import Backend, NameOf, RouteRouter


class GatewayApiRouter(RouteRouter):
    kind = RouterType.GATEWAY_API
    crds = ("httproutes.gateway.networking.k8s.io",)
    api_version = "gateway.networking.k8s.io/v1"
    object_kind = "HTTPRoute"
    spec_field = "httpRoute"
    entries_key = "rules"
    backends_key = "backendRefs"

    def target(self, ctx: RouterContext) -> str | None:
        return ctx.spec.http_route

    def name_of(self, ctx: RouterContext) -> NameOf:
        def name_of(ref: Backend) -> str | None:
            core = ref.get("group", "") == "" and ref.get("kind", "Service") == "Service"
            local = ref.get("namespace", ctx.namespace) == ctx.namespace
            return str(ref["name"]) if core and local and "name" in ref else None

        return name_of

    def rename(self, backend: Backend, service: str) -> dict[str, Any]:
        return {**backend, "name": service}
