"""Per-track Services for traffic routers: `<service>-canary` and `<service>-baseline` next to a primary
Service of the Release, with the same ports, selecting only that copy's pods.

A "fronting" Service is one of the Release's Services whose selector picks a forked workload's primary pods.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from canary.domain.fork import ForkedWorkload
from canary.domain.labels import (
    CANARY_LABEL,
    MANAGED_BY_CANARY,
    MANAGED_BY_LABEL,
    TRACK_LABEL,
    WEIGHT_ANNOTATION,
    WORKLOAD_LABEL,
    service_selects,
)
from canary.models import Track
from canary.routers.base import ObjectRef, RouterContext, RouterError

COPY_TRACKS = (Track.CANARY, Track.BASELINE)


def fronted_workload(ctx: RouterContext, service_name: str) -> ForkedWorkload | None:
    """The forked workload whose primary pods the Release's Service `service_name` selects, if any."""
    service = _release_service(ctx, service_name)
    if service is None:
        return None
    return next((w for w in ctx.workloads if service_selects(service, w.pod_labels)), None)


def require_fronted(ctx: RouterContext, service_name: str) -> ForkedWorkload:
    workload = fronted_workload(ctx, service_name)
    if workload is None:
        names = ", ".join(w.name for w in ctx.workloads)
        raise RouterError(f"Service {service_name!r} of the Release selects none of the forked workloads ({names})")
    return workload


def track_name(service_name: str, track: Track) -> str:
    return f"{service_name}-{track.value}"


def tracks(ctx: RouterContext) -> tuple[Track, ...]:
    return COPY_TRACKS if ctx.baseline else (Track.CANARY,)


def track_service(
    ctx: RouterContext,
    service_name: str,
    track: Track,
    *,
    weight: int | None = None,
    with_baseline: bool = False,
) -> dict[str, Any]:
    """`<service>-<track>`: the primary Service's ports, selecting the copy's pods. `with_baseline` makes the
    canary Service select the baseline's pods too (for routers that have a single canary backend)."""
    service = _release_service(ctx, service_name)
    workload = require_fronted(ctx, service_name)
    assert service is not None
    selector = dict(workload.copy_selectors[track])
    if with_baseline:
        selector.pop(TRACK_LABEL)
    ports = [{k: v for k, v in p.items() if k != "nodePort"} for p in (service.get("spec") or {}).get("ports") or ()]
    annotations = {WEIGHT_ANNOTATION: str(weight)} if weight is not None else {}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": track_name(service_name, track),
            "namespace": ctx.namespace,
            "labels": {
                MANAGED_BY_LABEL: MANAGED_BY_CANARY,
                CANARY_LABEL: workload.copy_selectors[track][CANARY_LABEL],
                WORKLOAD_LABEL: workload.copy_selectors[track][WORKLOAD_LABEL],
                TRACK_LABEL: track.value,
            },
            "annotations": annotations,
            "ownerReferences": [ctx.owner()],
        },
        "spec": {"type": "ClusterIP", "selector": selector, "ports": ports},
    }


def service_ref(name: str) -> ObjectRef:
    return ObjectRef("v1", "Service", name)


def track_service_refs(ctx: RouterContext, service_names: list[str]) -> list[ObjectRef]:
    return [service_ref(track_name(s, t)) for s in service_names for t in COPY_TRACKS if t in tracks(ctx)]


def _release_service(ctx: RouterContext, name: str) -> Mapping[str, Any] | None:
    return next((s for s in ctx.services if (s.get("metadata") or {}).get("name") == name), None)
