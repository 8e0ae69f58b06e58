"""`smi`: a TrafficSplit (split.smi-spec.io) owned by the CanaryRelease.

`spec.router.service` is the apex Service (a Service of the Release fronting a forked workload); the
TrafficSplit, named `spec.router.trafficSplit` (default: the apex's name), sends its traffic to the apex
itself (the primary pods only, since the copies never match it), `<apex>-canary` and `<apex>-baseline`.
Finalize deletes it, which hands all traffic back to the apex.
"""

from __future__ import annotations

from typing import Any

from canary.domain.labels import (
    CANARY_LABEL,
    MANAGED_BY_CANARY,
    MANAGED_BY_LABEL,
    WEIGHT_ANNOTATION,
    label_value,
)
from canary.domain.weights import traffic_split
from canary.models import RouterType, Track
from canary.routers.base import Apply, Change, Delete, ObjectRef, RouterContext, RouterError
from canary.routers.track_services import (
    require_fronted,
    track_name,
    track_service,
    track_service_refs,
    tracks,
)

TRAFFICSPLIT_API = "split.smi-spec.io/v1alpha2"


class SmiRouter:
    kind = RouterType.SMI
    crds = ("trafficsplits.split.smi-spec.io",)

    def reads(self, ctx: RouterContext) -> tuple[ObjectRef, ...]:
        return (_ref(ctx),)

    def reconcile(self, ctx: RouterContext) -> tuple[Change, ...]:
        return self.set_weight(ctx, self.get_weight(ctx))

    def set_weight(self, ctx: RouterContext, weight: int) -> tuple[Change, ...]:
        apex = _apex(ctx)
        require_fronted(ctx, apex)
        self._check_ownership(ctx)
        services = [Apply(track_service(ctx, apex, t)) for t in tracks(ctx)]
        return (*services, Apply(_traffic_split(ctx, apex, weight)))

    def get_weight(self, ctx: RouterContext) -> int:
        self._check_ownership(ctx)
        split = ctx.get(_ref(ctx))
        if split is None:
            return 0
        backends = (split.get("spec") or {}).get("backends") or ()
        total = sum(int(b.get("weight", 0)) for b in backends)
        canary = track_name(_apex(ctx), Track.CANARY)
        share = sum(int(b.get("weight", 0)) for b in backends if b.get("service") == canary)
        return round(100 * share / total) if total else 0

    def finalize(self, ctx: RouterContext) -> tuple[Change, ...]:
        return (Delete(_ref(ctx)), *(Delete(r) for r in track_service_refs(ctx, [_apex(ctx)])))

    @staticmethod
    def _check_ownership(ctx: RouterContext) -> None:
        # Taking over (and later deleting) someone else's TrafficSplit would break their routing.
        split = ctx.get(_ref(ctx))
        if split is not None and not ctx.owns(split):
            raise RouterError(f"TrafficSplit {_name(ctx)!r} exists and belongs to someone else")


def _apex(ctx: RouterContext) -> str:
    if not ctx.spec.service:
        raise RouterError("spec.router.service (the apex Service) is required by the smi router")
    return ctx.spec.service


def _name(ctx: RouterContext) -> str:
    return ctx.spec.traffic_split or _apex(ctx)


def _ref(ctx: RouterContext) -> ObjectRef:
    return ObjectRef(TRAFFICSPLIT_API, "TrafficSplit", _name(ctx))


def _traffic_split(ctx: RouterContext, apex: str, weight: int) -> dict[str, Any]:
    split = traffic_split(weight, ctx.baseline)
    backends = [{"service": apex, "weight": split.primary}]
    backends.append({"service": track_name(apex, Track.CANARY), "weight": split.canary})
    if ctx.baseline:
        backends.append({"service": track_name(apex, Track.BASELINE), "weight": split.baseline})
    return {
        "apiVersion": TRAFFICSPLIT_API,
        "kind": "TrafficSplit",
        "metadata": {
            "name": _name(ctx),
            "namespace": ctx.namespace,
            "labels": {MANAGED_BY_LABEL: MANAGED_BY_CANARY, CANARY_LABEL: label_value(ctx.canary)},
            "annotations": {WEIGHT_ANNOTATION: str(weight)},
            "ownerReferences": [ctx.owner()],
        },
        "spec": {"service": apex, "backends": backends},
    }
