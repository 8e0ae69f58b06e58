"""`istio`: weights on a VirtualService's HTTP routes, with one Service per track.

In every `spec.http[].route` whose single destination is a forked workload's Service, the destination becomes
three: the primary host, `<service>-canary` and `<service>-baseline` (same port), weighted in percent (see
canary.routers.route). Per-track Services need no DestinationRule subsets; a subset on the primary
destination is kept as it is. TCP and TLS routes are left alone.
"""

from __future__ import annotations

from typing import Any

from canary.models import RouterType
from canary.routers.base import RouterContext
from canary.routers.route import Backend, NameOf, RouteRouter


class IstioRouter(RouteRouter):
    kind = RouterType.ISTIO
    crds = ("virtualservices.networking.istio.io",)
    api_version = "networking.istio.io/v1beta1"
    object_kind = "VirtualService"
    spec_field = "virtualService"
    entries_key = "http"
    backends_key = "route"

    def target(self, ctx: RouterContext) -> str | None:
        return ctx.spec.virtual_service

    def name_of(self, ctx: RouterContext) -> NameOf:
        """The local Service a destination reaches: `web`, `web.prod`, `web.prod.svc[.cluster.local]`."""

        def name_of(route: Backend) -> str | None:
            host = str((route.get("destination") or {}).get("host", ""))
            name, _, rest = host.partition(".")
            local = rest in ("", ctx.namespace) or rest.startswith(f"{ctx.namespace}.svc")
            return name if name and local else None

        return name_of

    def rename(self, backend: Backend, service: str) -> dict[str, Any]:
        destination = dict(backend.get("destination") or {})
        _, dot, rest = str(destination.get("host", "")).partition(".")
        destination["host"] = f"{service}{dot}{rest}"
        destination.pop("subset", None)  # the per-track Service already selects only that track
        return {**backend, "destination": destination}
