"""Traffic routers: one module per `spec.router.type`, behind one small Protocol, pure like the domain.

A router never calls the cluster. It names the live objects it needs, and returns the changes that move
traffic; the kube layer reads and applies them.

Public entry points
-------------------
get_router(kind: RouterType | str) -> Router        (canary.routers.registry; UnknownRouterError otherwise)
required_crds(kind) -> tuple[str, ...]              the third-party CRDs that router type needs

Router (canary.routers.base):
    kind: RouterType; crds: tuple[str, ...]
    reads(ctx) -> tuple[ObjectRef, ...]             objects to read into ctx.live first (absent = not found)
    reconcile(ctx) -> tuple[Change, ...]            its Services / canary Ingress / TrafficSplit, weight kept
    set_weight(ctx, weight: int) -> tuple[Change, ...]
    get_weight(ctx) -> int                          the weight the live objects realise (0 if none)
    finalize(ctx) -> tuple[Change, ...]             100% to the primary, then its own objects deleted
    Every method may raise RouterError (a missing or unsupported target); the kube layer reports the one
    from get_weight in Observed.router.problem.

RouterContext(namespace, canary, canary_uid, spec: RouterSpec, baseline, workloads: ForkPlan.workloads,
              services: the Release's Services rendered with the stable values, live: {ObjectRef: object})
Change = Apply(body) (server-side apply, objects the router owns) | Patch(ref, merge patch,
         resource_version) (fields it drives on objects it does not own) | Delete(ref) (if it exists).
Apply the changes of one call in order: traffic moves before anything it depended on is deleted.

type         drives (spec.router.*)       writes                                            CRDs
replicas     service (checked, optional)  spec.replicas of the canary and baseline copies   -
service      service                      <svc>-canary/-baseline Services, weight annotation -
nginx        ingress                      <ing>-canary Ingress with canary-weight           - (ingress-nginx)
gateway-api  httpRoute                    HTTPRoute backendRefs weights                     httproutes
istio        virtualService               VirtualService http route weights                 virtualservices
smi          service (apex), trafficSplit a TrafficSplit it owns                            trafficsplits
"""

from canary.routers.base import (
    Apply,
    Change,
    Delete,
    ObjectRef,
    Patch,
    Router,
    RouterContext,
    RouterError,
)
from canary.routers.registry import ROUTERS, UnknownRouterError, get_router, required_crds

__all__ = [
    "ROUTERS",
    "Apply",
    "Change",
    "Delete",
    "ObjectRef",
    "Patch",
    "Router",
    "RouterContext",
    "RouterError",
    "UnknownRouterError",
    "get_router",
    "required_crds",
]
