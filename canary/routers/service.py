"""`service`: for weighted front ends (a load balancer, a mesh, the traffic simulator) that split by Service.

The router creates `<service>-canary` and `<service>-baseline` next to the primary Service and writes the
split on them as the `rudder.dev/weight` annotation; the front end sends that share of the primary's traffic
to each. The copies never match the primary Service, so without a front end they get no traffic at all.
"""

from __future__ import annotations

from canary.domain.labels import WEIGHT_ANNOTATION
from canary.domain.weights import traffic_split
from canary.models import RouterType, Track
from canary.routers.base import Apply, Change, Delete, ObjectRef, RouterContext, RouterError, annotation_int
from canary.routers.track_services import require_fronted, service_ref, track_name, track_service, tracks


class ServiceRouter:
    kind = RouterType.SERVICE
    crds: tuple[str, ...] = ()

    def reads(self, ctx: RouterContext) -> tuple[ObjectRef, ...]:
        target = _target(ctx)
        return (service_ref(target), service_ref(track_name(target, Track.CANARY)))

    def reconcile(self, ctx: RouterContext) -> tuple[Change, ...]:
        return self.set_weight(ctx, self.get_weight(ctx))

    def set_weight(self, ctx: RouterContext, weight: int) -> tuple[Change, ...]:
        target = _target(ctx)
        require_fronted(ctx, target)
        split = traffic_split(weight, ctx.baseline)
        shares = {Track.CANARY: split.canary, Track.BASELINE: split.baseline}
        return tuple(Apply(track_service(ctx, target, t, weight=shares[t])) for t in tracks(ctx))

    def get_weight(self, ctx: RouterContext) -> int:
        target = _target(ctx)
        if ctx.get(service_ref(target)) is None:
            raise RouterError(f"Service {target!r} not found")
        return annotation_int(ctx.get(service_ref(track_name(target, Track.CANARY))), WEIGHT_ANNOTATION) or 0

    def finalize(self, ctx: RouterContext) -> tuple[Change, ...]:
        target = _target(ctx)
        return tuple(Delete(service_ref(track_name(target, t))) for t in (Track.CANARY, Track.BASELINE))


def _target(ctx: RouterContext) -> str:
    if not ctx.spec.service:
        raise RouterError("spec.router.service is required by the service router")
    return ctx.spec.service
