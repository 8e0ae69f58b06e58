"""`nginx`: a canary Ingress for ingress-nginx.

`<ingress>-canary` repeats the primary Ingress's rules for the paths that reach a forked workload's Service,
sending them to `<service>-canary`, with `nginx.ingress.kubernetes.io/canary: "true"` and `canary-weight`.
ingress-nginx allows one canary backend per rule, so with a baseline the canary Service selects the canary
and the baseline pods (equal counts, so equal shares) and `canary-weight` is their combined share.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
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
from canary.routers.base import Apply, Change, Delete, ObjectRef, RouterContext, RouterError, annotation_int
from canary.routers.track_services import fronted_workload, service_ref, track_name, track_service

CANARY_ANNOTATION = "nginx.ingress.kubernetes.io/canary"
CANARY_WEIGHT_ANNOTATION = "nginx.ingress.kubernetes.io/canary-weight"
CANARY_WEIGHT_TOTAL_ANNOTATION = "nginx.ingress.kubernetes.io/canary-weight-total"
INGRESS_API = "networking.k8s.io/v1"


class NginxRouter:
    kind = RouterType.NGINX
    crds: tuple[str, ...] = ()  # Ingress is core; ingress-nginx itself must run in the cluster

    def reads(self, ctx: RouterContext) -> tuple[ObjectRef, ...]:
        return (_ref(_target(ctx)), _ref(_canary_name(ctx)))

    def reconcile(self, ctx: RouterContext) -> tuple[Change, ...]:
        return self.set_weight(ctx, self.get_weight(ctx))

    def set_weight(self, ctx: RouterContext, weight: int) -> tuple[Change, ...]:
        ingress = _primary(ctx)
        services = _forked_backends(ctx, ingress)
        split = traffic_split(weight, ctx.baseline)
        backends = [Apply(track_service(ctx, s, Track.CANARY, with_baseline=ctx.baseline)) for s in services]
        canary = _canary_ingress(ctx, ingress, set(services), split.canary + split.baseline, weight)
        return (*backends, Apply(canary))

    def get_weight(self, ctx: RouterContext) -> int:
        _primary(ctx)
        return annotation_int(ctx.get(_ref(_canary_name(ctx))), WEIGHT_ANNOTATION) or 0

    def finalize(self, ctx: RouterContext) -> tuple[Change, ...]:
        # The canary Ingress goes first, so no request is sent to a Service that is already gone.
        ingress = ctx.get(_ref(_target(ctx)))
        services = [s for s in _backend_names(ingress) if fronted_workload(ctx, s)] if ingress is not None else []
        return (
            Delete(_ref(_canary_name(ctx))),
            *(Delete(service_ref(track_name(s, Track.CANARY))) for s in services),
        )


def _target(ctx: RouterContext) -> str:
    if not ctx.spec.ingress:
        raise RouterError("spec.router.ingress is required by the nginx router")
    return ctx.spec.ingress


def _canary_name(ctx: RouterContext) -> str:
    return f"{_target(ctx)}-canary"


def _ref(name: str) -> ObjectRef:
    return ObjectRef(INGRESS_API, "Ingress", name)


def _primary(ctx: RouterContext) -> Mapping[str, Any]:
    ingress = ctx.get(_ref(_target(ctx)))
    if ingress is None:
        raise RouterError(f"Ingress {_target(ctx)!r} not found")
    return ingress


def _backend_names(ingress: Mapping[str, Any]) -> list[str]:
    spec = ingress.get("spec") or {}
    backends = [spec.get("defaultBackend") or {}]
    for rule in spec.get("rules") or ():
        backends += [p.get("backend") or {} for p in (rule.get("http") or {}).get("paths") or ()]
    names = [str((b.get("service") or {}).get("name")) for b in backends if b.get("service")]
    return list(dict.fromkeys(names))


def _forked_backends(ctx: RouterContext, ingress: Mapping[str, Any]) -> list[str]:
    services = [s for s in _backend_names(ingress) if fronted_workload(ctx, s) is not None]
    if not services:
        raise RouterError(f"Ingress {_target(ctx)!r} routes to none of the forked workloads' Services")
    return services


def _canary_ingress(
    ctx: RouterContext, ingress: Mapping[str, Any], forked: set[str], share: int, weight: int
) -> dict[str, Any]:
    spec = ingress.get("spec") or {}
    rules = []
    for rule in spec.get("rules") or ():
        paths = [_to_canary(p) for p in (rule.get("http") or {}).get("paths") or () if _service_of(p) in forked]
        if paths:
            rules.append({**{k: v for k, v in rule.items() if k != "http"}, "http": {"paths": paths}})
    canary_spec: dict[str, Any] = {"rules": rules}
    if spec.get("ingressClassName"):
        canary_spec["ingressClassName"] = spec["ingressClassName"]
    default = spec.get("defaultBackend")
    if default and (default.get("service") or {}).get("name") in forked:
        canary_spec["defaultBackend"] = _to_canary({"backend": default})["backend"]
    return {
        "apiVersion": INGRESS_API,
        "kind": "Ingress",
        "metadata": {
            "name": _canary_name(ctx),
            "namespace": ctx.namespace,
            "labels": {MANAGED_BY_LABEL: MANAGED_BY_CANARY, CANARY_LABEL: label_value(ctx.canary)},
            "annotations": {
                CANARY_ANNOTATION: "true",
                CANARY_WEIGHT_ANNOTATION: str(share),
                CANARY_WEIGHT_TOTAL_ANNOTATION: "100",
                WEIGHT_ANNOTATION: str(weight),
            },
            "ownerReferences": [ctx.owner()],
        },
        "spec": canary_spec,
    }


def _service_of(path: Mapping[str, Any]) -> str | None:
    service = (path.get("backend") or {}).get("service")
    return str(service.get("name")) if service else None


def _to_canary(path: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(path))
    service = out["backend"]["service"]
    service["name"] = track_name(service["name"], Track.CANARY)
    return out
