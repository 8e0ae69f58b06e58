"""Gathers everything `decide()` needs about one CanaryRelease, once per reconcile.

Reads the CanaryRelease, its Release (and the Release's current ReleaseHistory, if authentic), renders the
Release's chart with the stable values and with the canary overrides to plan the fork, reads the
copies and the router's live objects, and lists the other CanaryReleases of the same Release.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from canary.domain.fork import ForkError, ForkPlan, Owner, fork
from canary.domain.labels import CANARY_LABEL, FORK_HASH_ANNOTATION
from canary.domain.observed import (
    AnalysisOutcome,
    Competitor,
    CopiesState,
    HistoryTrust,
    Observed,
    ReleaseState,
    RouterState,
    promotion_source,
)
from canary.domain.readers import ParseError
from canary.models import CanarySpec, ParsedCanary, Phase, parse_canary
from canary.routers import ObjectRef, Router, RouterContext, RouterError, get_router
from rudder.domain.ownership import ReleaseIdentity
from rudder.domain.redaction import values_from_redactor
from rudder.kube import release_io
from rudder.kube.client import Kube, Ref
from rudder.models import API_VERSION, ReleasePhase, SpecError, parse_release_spec
from rudder.render import ReleaseInfo, RenderError, deep_merge, render_release

CANARY_KIND = "CanaryRelease"
WORKLOAD_KINDS = (("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"))


@dataclass
class Gathered:
    """The observation plus what executing its decision needs (the router and its context)."""

    parsed: ParsedCanary
    body: dict[str, Any]
    observed: Observed
    router: Router | None = None
    router_ctx: RouterContext | None = None


def canary_ref(namespace: str, name: str) -> Ref:
    return Ref(API_VERSION, CANARY_KIND, name, namespace)


def _release_state(kube: Kube, release: Mapping[str, Any], trust: HistoryTrust) -> ReleaseState:
    meta, spec, status = release["metadata"], release.get("spec") or {}, release.get("status") or {}
    revision = int(status.get("revision") or 0)
    promoted_from = None
    if revision:
        history = kube.get(Ref(API_VERSION, "ReleaseHistory", f"{meta['name']}-v{revision}", meta["namespace"]))
        owner = ReleaseIdentity(meta["name"], meta["namespace"], str(meta.get("uid", "")))
        promoted_from = promotion_source(history, owner, revision, trust)
    phase = status.get("phase")
    return ReleaseState(
        name=meta["name"],
        revision=revision,
        generation=int(meta.get("generation") or 0),
        observed_generation=int(status.get("observedGeneration") or 0),
        ready=phase == ReleasePhase.READY.value,
        failed=phase == ReleasePhase.FAILED.value,
        suspended=bool(spec.get("suspend")),
        promoted_from=promoted_from,
        rollback_to=(spec.get("rollbackTo") or {}).get("revision"),
        message=str(status.get("message") or ""),
        values=dict(spec.get("values") or {}),
        deleting=meta.get("deletionTimestamp") is not None,
    )


def _render(kube: Kube, release: Mapping[str, Any], overrides: Mapping[str, Any]) -> tuple[
        list[dict[str, Any]], list[dict[str, Any]]] | ForkError:
    """The Release's objects rendered with its current values and with the canary's overrides."""
    meta = release["metadata"]
    try:
        spec = parse_release_spec(release.get("spec") or {})
        inputs = release_io.fetch_inputs(kube, meta["namespace"], spec)
    except (SpecError, release_io.InputError) as err:
        return ForkError(f"Release {meta['name']}: {err}", "spec.release")
    info = ReleaseInfo(meta["name"], meta["namespace"], int((release.get("status") or {}).get("revision") or 0))
    out = []
    for values in (spec.values, deep_merge(dict(spec.values), dict(overrides))):
        rendered = render_release(
            dataclasses.replace(spec, values=values), info,
            config_map_data=inputs.config_map_data, values_from_contents=inputs.values_from_contents,
        )
        if isinstance(rendered, RenderError):
            # The message may name a valuesFrom secret (`values.users.<secret> is undefined`); status is readable
            # by whoever may read the CanaryRelease.
            secrets = values_from_redactor(spec.values_from, inputs.values_from_contents)
            return ForkError(secrets.text(f"rendering Release {meta['name']} with the canary values: {rendered}"),
                             "spec.values")
        out.append([dict(o.body) for o in rendered.objects])
    return out[0], out[1]


def _copies_state(kube: Kube, namespace: str, name: str, plan: ForkPlan | None) -> CopiesState:
    found: list[dict[str, Any]] = []
    for api_version, kind in WORKLOAD_KINDS:
        found.extend(kube.list_objects(api_version, kind, namespace, f"{CANARY_LABEL}={name}"))
    if not found:
        return CopiesState.absent()
    expected = {c.name for c in plan.copies} if plan else set()
    present_names = {o["metadata"]["name"] for o in found}
    hashes = {(o["metadata"].get("annotations") or {}).get(FORK_HASH_ANNOTATION) for o in found}
    unready = [o["metadata"]["name"] for o in found if not _workload_ready(o)]
    missing = sorted(expected - present_names)
    message = "; ".join(filter(None, [
        f"missing: {', '.join(missing)}" if missing else "",
        f"not ready: {', '.join(sorted(unready))}" if unready else "",
    ]))
    return CopiesState(
        present=bool(expected) and not missing,
        any_present=True,
        ready=bool(expected) and not missing and not unready,
        fork_hash=hashes.pop() if len(hashes) == 1 else None,
        message=message,
    )


def _workload_ready(obj: Mapping[str, Any]) -> bool:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    replicas = int(spec.get("replicas", 1))
    if int(status.get("observedGeneration") or 0) < int(obj["metadata"].get("generation") or 0):
        return False
    return (int(status.get("updatedReplicas") or 0) >= replicas
            and int(status.get("readyReplicas") or 0) >= replicas
            and int(status.get("replicas") or 0) == replicas)


def _competitors(kube: Kube, namespace: str, name: str, release: str) -> tuple[Competitor, ...]:
    out = []
    for other in kube.list_objects(API_VERSION, CANARY_KIND, namespace):
        meta = other["metadata"]
        if meta["name"] == name or (other.get("spec") or {}).get("release") != release:
            continue
        phase_text = (other.get("status") or {}).get("phase") or Phase.PENDING.value
        try:
            phase = Phase(phase_text)
        except ValueError:
            phase = Phase.PENDING
        created = meta.get("creationTimestamp")
        out.append(Competitor(meta["name"], phase,
                              datetime.fromisoformat(created.replace("Z", "+00:00")) if created else None))
    return tuple(out)


def _router(kube: Kube, spec: CanarySpec, parsed: ParsedCanary, plan: ForkPlan,
            services: Sequence[Mapping[str, Any]]) -> tuple[Router, RouterContext, RouterState]:
    router = get_router(spec.router.type)
    meta = parsed.meta
    ctx = RouterContext(namespace=meta.namespace, canary=meta.name, canary_uid=meta.uid, spec=spec.router,
                        baseline=spec.baseline, workloads=plan.workloads, services=tuple(services))
    try:
        live: dict[ObjectRef, Mapping[str, Any]] = {}
        for ref in router.reads(ctx):
            obj = kube.get(Ref(ref.api_version, ref.kind, ref.name, meta.namespace)) \
                if kube.resource(ref.api_version, ref.kind) else None
            if obj is not None:
                live[ref] = obj
        ctx = dataclasses.replace(ctx, live=live)
        return router, ctx, RouterState(weight=router.get_weight(ctx))
    except RouterError as err:
        return router, ctx, RouterState(problem=str(err))


def observe(kube: Kube, namespace: str, name: str, trust: HistoryTrust, *,
            analysis: AnalysisOutcome | None = None) -> Gathered | None:
    """Read the world for one CanaryRelease; None when it is gone. `trust` tells the Release controller's
    ReleaseHistories (the only ones whose promotion source counts) from forged ones."""
    body = kube.get(canary_ref(namespace, name))
    if body is None:
        return None
    parsed = parse_canary(body)
    spec = parsed.spec
    if isinstance(spec, ParseError):
        observed = Observed(meta=parsed.meta, spec=spec, status=parsed.status, action=parsed.action,
                            analysis=analysis)
        return Gathered(parsed, body, observed)
    release = kube.get(release_io.release_ref(namespace, spec.release))
    release_state = _release_state(kube, release, trust) if release else None
    plan: ForkPlan | ForkError | None = None
    services: list[dict[str, Any]] = []
    if release is not None and release_state is not None and release_state.revision:
        rendered = _render(kube, release, spec.values)
        if isinstance(rendered, ForkError):
            plan = rendered
        else:
            stable, canary = rendered
            services = [o for o in stable if o.get("kind") == "Service"]
            try:
                plan = fork(stable, canary, owner=Owner(parsed.meta.name, namespace, parsed.meta.uid),
                            workloads=spec.workloads, baseline=spec.baseline, router=spec.router.type)
            except ForkError as err:
                plan = err
    copies = _copies_state(kube, namespace, name, plan if isinstance(plan, ForkPlan) else None)
    router = ctx = None
    router_state = RouterState()
    if isinstance(plan, ForkPlan):
        router, ctx, router_state = _router(kube, spec, parsed, plan, services)
    observed = Observed(
        meta=parsed.meta, spec=spec, status=parsed.status, action=parsed.action, release=release_state,
        fork=plan, copies=copies, router=router_state,
        competitors=_competitors(kube, namespace, name, spec.release), analysis=analysis,
    )
    return Gathered(parsed, body, observed, router, ctx)

