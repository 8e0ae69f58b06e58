"""`replicas`: no traffic objects at all. The primary Service selects every track (the copies keep the
primary's pod labels), so the canary's share follows pod counts: the canary and baseline copies are scaled to
`weights.canary_replicas(primary replicas, weight)` each, and the primary is never touched."""

from __future__ import annotations

from canary.domain.labels import service_selects
from canary.domain.weights import canary_replicas, weight_for_replicas
from canary.models import RouterType, Track
from canary.routers.base import Change, ObjectRef, Patch, RouterContext, RouterError
from canary.routers.track_services import COPY_TRACKS, service_ref


class ReplicasRouter:
    kind = RouterType.REPLICAS
    crds: tuple[str, ...] = ()

    def reads(self, ctx: RouterContext) -> tuple[ObjectRef, ...]:
        refs = [_copy_ref(w.kind, w.name, t) for w in ctx.workloads for t in COPY_TRACKS]
        if ctx.spec.service:
            refs.append(service_ref(ctx.spec.service))
        return tuple(refs)

    def reconcile(self, ctx: RouterContext) -> tuple[Change, ...]:
        self._check(ctx)
        return ()

    def set_weight(self, ctx: RouterContext, weight: int) -> tuple[Change, ...]:
        self._check(ctx)
        changes: list[Change] = []
        for workload in ctx.workloads:
            replicas = canary_replicas(workload.replicas, weight)
            for track in COPY_TRACKS:
                ref = _copy_ref(workload.kind, workload.name, track)
                if ctx.get(ref) is not None:  # a copy that is not there has no pods to scale
                    changes.append(Patch(ref, {"spec": {"replicas": replicas}}))
        return tuple(changes)

    def get_weight(self, ctx: RouterContext) -> int:
        self._check(ctx)
        weights = [0]
        for workload in ctx.workloads:
            canary = ctx.get(_copy_ref(workload.kind, workload.name, Track.CANARY))
            if canary is not None:
                replicas = (canary.get("spec") or {}).get("replicas", 1)
                weights.append(weight_for_replicas(workload.replicas, int(replicas)))
        return max(weights)

    def finalize(self, ctx: RouterContext) -> tuple[Change, ...]:
        return self.set_weight(ctx, 0)

    @staticmethod
    def _check(ctx: RouterContext) -> None:
        """The named Service must exist and select the copies' pods, or the weight would reach nobody."""
        if not ctx.spec.service:
            return
        service = ctx.get(service_ref(ctx.spec.service))
        if service is None:
            raise RouterError(f"Service {ctx.spec.service!r} not found")
        for workload in ctx.workloads:
            for track, labels in workload.copy_pod_labels.items():
                if not service_selects(service, labels):
                    name = workload.name
                    raise RouterError(
                        f"Service {ctx.spec.service!r} does not select the {track.value} pods of {name!r}"
                    )


def _copy_ref(kind: str, workload: str, track: Track) -> ObjectRef:
    return ObjectRef("apps/v1", kind, f"{workload}-{track.value}")
