"""Routers that put weights on a user's route object (HTTPRoute, VirtualService), sharing one algorithm.

A route has entries (HTTPRoute `spec.rules`, VirtualService `spec.http`), each with a list of backends.
Each entry's backends are rebuilt from what is there: this canary's own backends are dropped, then the one
backend that reaches a forked workload's Service is split into primary / canary / baseline percentages (on
finalize it is left alone, without a weight). Rebuilding rather than editing makes every call idempotent.
The route belongs to the user or the Release, so it is patched, guarded by its resourceVersion.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, ClassVar

from canary.domain.weights import traffic_split
from canary.models import RouterType, Track
from canary.routers.base import Apply, Change, Delete, ObjectRef, Patch, RouterContext, RouterError
from canary.routers.track_services import (
    COPY_TRACKS,
    fronted_workload,
    track_name,
    track_service,
    track_service_refs,
    tracks,
)

Backend = Mapping[str, Any]
NameOf = Callable[[Backend], str | None]


class RouteRouter:
    """The shared algorithm; subclasses say where the route lives and how a backend names its Service."""

    kind: ClassVar[RouterType]
    crds: ClassVar[tuple[str, ...]]
    api_version: ClassVar[str]
    object_kind: ClassVar[str]
    spec_field: ClassVar[str]  # spec.router.<field> naming the route
    entries_key: ClassVar[str]
    backends_key: ClassVar[str]

    def target(self, ctx: RouterContext) -> str | None:
        raise NotImplementedError

    def name_of(self, ctx: RouterContext) -> NameOf:
        """The local Service a backend reaches, or None for anything else."""
        raise NotImplementedError

    def rename(self, backend: Backend, service: str) -> dict[str, Any]:
        """The same backend sent to `service` instead."""
        raise NotImplementedError

    def reads(self, ctx: RouterContext) -> tuple[ObjectRef, ...]:
        return (self._ref(ctx),)

    def reconcile(self, ctx: RouterContext) -> tuple[Change, ...]:
        forked = self._forked(ctx, self._route(ctx))
        return tuple(Apply(track_service(ctx, s, t)) for s in sorted(forked) for t in tracks(ctx))

    def set_weight(self, ctx: RouterContext, weight: int) -> tuple[Change, ...]:
        return (self._patch(ctx, weight),)

    def get_weight(self, ctx: RouterContext) -> int:
        route = self._route(ctx)
        forked = self._forked(ctx, route)
        shares = [
            canary_share(self._backends(e), name_of=self.name_of(ctx), forked=forked) for e in _entries(self, route)
        ]
        return max((s for s in shares if s is not None), default=0)

    def finalize(self, ctx: RouterContext) -> tuple[Change, ...]:
        route = ctx.get(self._ref(ctx))
        if route is None:
            return ()
        services = sorted(self._forked(ctx, route))
        return (self._patch(ctx, None), *(Delete(r) for r in track_service_refs(ctx, services)))

    def _ref(self, ctx: RouterContext) -> ObjectRef:
        name = self.target(ctx)
        if not name:
            raise RouterError(f"spec.router.{self.spec_field} is required by the {self.kind.value} router")
        return ObjectRef(self.api_version, self.object_kind, name)

    def _route(self, ctx: RouterContext) -> Mapping[str, Any]:
        route = ctx.get(self._ref(ctx))
        if route is None:
            raise RouterError(f"{self.object_kind} {self.target(ctx)!r} not found")
        return route

    def _backends(self, entry: Mapping[str, Any]) -> list[Backend]:
        return list(entry.get(self.backends_key) or ())

    def _forked(self, ctx: RouterContext, route: Mapping[str, Any]) -> set[str]:
        name_of = self.name_of(ctx)
        forked = forked_services(ctx, [name_of(b) for e in _entries(self, route) for b in self._backends(e)])
        if not forked:
            raise RouterError(f"{self.object_kind} {self.target(ctx)!r} sends no traffic to a forked workload")
        return forked

    def _patch(self, ctx: RouterContext, weight: int | None) -> Patch:
        route = self._route(ctx)
        forked = self._forked(ctx, route)
        entries = []
        for i, entry in enumerate(_entries(self, route)):
            where = f"{self.object_kind} {self.target(ctx)!r} {self.entries_key}[{i}]"
            backends = self._split(ctx, self._backends(entry), forked=forked, weight=weight, where=where)
            entries.append({**entry, self.backends_key: backends})
        version = (route.get("metadata") or {}).get("resourceVersion")
        return Patch(self._ref(ctx), {"spec": {self.entries_key: entries}}, resource_version=version)

    def _split(
        self, ctx: RouterContext, backends: Sequence[Backend], *, forked: set[str], weight: int | None, where: str
    ) -> list[dict[str, Any]]:
        name_of = self.name_of(ctx)
        ours = {track_name(s, t) for s in forked for t in COPY_TRACKS}
        kept = [dict(b) for b in backends if name_of(b) not in ours]
        if not any(name_of(b) in forked for b in kept):
            return kept
        if len(kept) > 1:
            raise RouterError(f"{where} mixes a forked workload's Service with other backends; split the rule")
        primary = {k: v for k, v in kept[0].items() if k != "weight"}
        service = name_of(primary)
        if weight is None or service is None:
            return [primary]
        split = traffic_split(weight, ctx.baseline)
        out = [{**primary, "weight": split.primary}]
        out.append({**self.rename(primary, track_name(service, Track.CANARY)), "weight": split.canary})
        if ctx.baseline:
            out.append({**self.rename(primary, track_name(service, Track.BASELINE)), "weight": split.baseline})
        return out


def _entries(router: RouteRouter, route: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list((route.get("spec") or {}).get(router.entries_key) or ())


def forked_services(ctx: RouterContext, names: Collection[str | None]) -> set[str]:
    """The Service names among `names` that front a forked workload (only `spec.router.service` if set)."""
    found = {n for n in names if n is not None and fronted_workload(ctx, n) is not None}
    if ctx.spec.service:
        found &= {ctx.spec.service}
    return found


def canary_share(backends: Sequence[Backend], *, name_of: NameOf, forked: set[str]) -> int | None:
    """The canary backends' percentage of the entry's weight; None when the entry has no canary backend."""
    canaries = {track_name(s, Track.CANARY) for s in forked}
    if not any(name_of(b) in canaries for b in backends):
        return None
    weights = [(name_of(b), int(b.get("weight", 1))) for b in backends]
    total = sum(w for _, w in weights)
    return round(100 * sum(w for n, w in weights if n in canaries) / total) if total else 0
