"""Executes a CanaryRelease Decision: each action in order, stopping at the first failure (every
prefix of a decision is a safe place to stop; the next reconcile decides again from status)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from canary.domain.actions import (
    Action,
    AllowDeletion,
    ApplyCopies,
    DeleteCopies,
    EmitEvent,
    FinalizeRouter,
    PatchStatus,
    PromoteRelease,
    ReconcileRouter,
    RemoveActionAnnotation,
    Requeue,
    RestoreRelease,
    RunAnalysis,
    SetRouterWeight,
)
from canary.domain.labels import CANARY_LABEL
from canary.kube.metrics import PHASE, STEP, STEP_SECONDS, WEIGHT
from canary.kube.observe import WORKLOAD_KINDS, Gathered, canary_ref
from canary.models import ACTION_ANNOTATION, CanaryStatus, Phase, status_to_dict
from canary.routers import Apply, Change, Delete, Patch
from rudder.kube import release_io
from rudder.kube.client import Kube, Ref
from rudder.render import deep_merge

log = logging.getLogger("rudder.canary")

PROMOTION_ANNOTATION = "rudder.dev/promoted-from"
REQUEUE_MARGIN = 0.05  # seconds


@dataclass
class Outcome:
    """What the handler needs after a decision ran."""

    analysis: RunAnalysis | None = None  # run the judge, then decide again
    requeue_after: float | None = None
    deletion_allowed: bool = False


def _apply_changes(kube: Kube, namespace: str, changes: tuple[Change, ...]) -> None:
    for change in changes:
        if isinstance(change, Apply):
            body = dict(change.body)
            body.setdefault("metadata", {})["namespace"] = namespace
            kube.apply(body)
        elif isinstance(change, Patch):
            patch = dict(change.patch)
            if change.resource_version:
                patch["metadata"] = {**(patch.get("metadata") or {}), "resourceVersion": change.resource_version}
            kube.patch(Ref(change.ref.api_version, change.ref.kind, change.ref.name, namespace), patch)
        elif isinstance(change, Delete):
            kube.delete(Ref(change.ref.api_version, change.ref.kind, change.ref.name, namespace))


def _promote(kube: Kube, namespace: str, action: PromoteRelease) -> None:
    """Write the canary's overrides into the Release, guarded: only while it is at `from_revision`."""
    release = kube.get(release_io.release_ref(namespace, action.release))
    if release is None or int((release.get("status") or {}).get("revision") or 0) != action.from_revision:
        return  # already promoted (or changed by someone else: the next observation says so)
    meta, spec = release["metadata"], release.get("spec") or {}
    values = dict(spec.get("values") or {})
    merged = deep_merge(values, dict(action.overrides))
    generation = int(meta.get("generation") or 0) + (0 if merged == values else 1)
    ops: list[dict[str, Any]] = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": meta["resourceVersion"]},
        {"op": "add", "path": "/spec/values", "value": merged},
    ]
    annotations = meta.get("annotations") or {}
    value = f"{action.canary}@{generation}"
    if annotations:
        ops.append({"op": "add", "path": "/metadata/annotations/" + PROMOTION_ANNOTATION.replace("/", "~1"),
                    "value": value})
    else:
        ops.append({"op": "add", "path": "/metadata/annotations", "value": {PROMOTION_ANNOTATION: value}})
    kube.json_patch(release_io.release_ref(namespace, action.release), ops)


def _remove_action(kube: Kube, gathered: Gathered, value: str) -> None:
    meta = gathered.body["metadata"]
    current = (meta.get("annotations") or {}).get(ACTION_ANNOTATION)
    if current != value:
        return
    patch = {"metadata": {"annotations": {ACTION_ANNOTATION: None}, "resourceVersion": meta["resourceVersion"]}}
    kube.patch(canary_ref(meta["namespace"], meta["name"]), patch)


def _record_metrics(namespace: str, name: str, action: PatchStatus, before: CanaryStatus) -> None:
    status = action.status
    if before.step_started_at is not None and (status.step != before.step or status.phase != before.phase) \
            and before.phase is Phase.PROGRESSING:
        STEP_SECONDS.observe(max(0.0, (utcnow() - before.step_started_at).total_seconds()))
    for phase in Phase:
        PHASE.labels(namespace=namespace, canary=name, phase=phase.value).set(1 if status.phase is phase else 0)
    WEIGHT.labels(namespace=namespace, canary=name).set(status.weight or 0)
    STEP.labels(namespace=namespace, canary=name).set(status.step or 0)


def execute(kube: Kube, gathered: Gathered, actions: tuple[Action, ...]) -> Outcome:
    """Run `actions` in order; raises on the first failure."""
    meta = gathered.parsed.meta
    namespace, name = meta.namespace, meta.name
    outcome = Outcome()
    for action in actions:
        if isinstance(action, ApplyCopies):
            for obj in action.objects:
                body = dict(obj)
                body["metadata"] = {**body.get("metadata", {}), "namespace": namespace}
                kube.apply(body)
        elif isinstance(action, DeleteCopies):
            for api_version, kind in WORKLOAD_KINDS:
                for obj in kube.list_objects(api_version, kind, namespace, f"{CANARY_LABEL}={action.canary}"):
                    kube.delete(Ref(api_version, kind, obj["metadata"]["name"], namespace))
        elif isinstance(action, ReconcileRouter | SetRouterWeight | FinalizeRouter):
            router, ctx = gathered.router, gathered.router_ctx
            if router is None or ctx is None:
                raise RuntimeError("a router action without a router (no fork plan)")
            if isinstance(action, ReconcileRouter):
                changes = router.reconcile(ctx)
            elif isinstance(action, SetRouterWeight):
                changes = router.set_weight(ctx, action.weight)
            else:
                changes = router.finalize(ctx)
            _apply_changes(kube, namespace, changes)
        elif isinstance(action, RunAnalysis):
            outcome.analysis = action
            return outcome  # always last: the judge runs, then decide() again
        elif isinstance(action, PromoteRelease):
            _promote(kube, namespace, action)
        elif isinstance(action, RestoreRelease):
            kube.patch(release_io.release_ref(namespace, action.release),
                       {"spec": {"rollbackTo": {"revision": action.revision}}})
        elif isinstance(action, PatchStatus):
            kube.patch(canary_ref(namespace, name), {"status": status_to_dict(action.status)}, subresource="status")
            _record_metrics(namespace, name, action, gathered.parsed.status)
        elif isinstance(action, RemoveActionAnnotation):
            _remove_action(kube, gathered, action.value)
        elif isinstance(action, EmitEvent):
            _event(kube, gathered.body, action)
        elif isinstance(action, AllowDeletion):
            outcome.deletion_allowed = True
        elif isinstance(action, Requeue):
            # From the due time, on the real clock: decide() works at whole seconds, a wake must not be
            # early (a little margin for the timer), nor a fraction of a second late.
            outcome.requeue_after = action.after if action.at is None else \
                max(0.0, (action.at - utcnow()).total_seconds() + REQUEUE_MARGIN)
    return outcome


def _event(kube: Kube, body: Mapping[str, Any], action: EmitEvent) -> None:
    release_io.emit_event(kube, body, action.reason, action.message, warning=action.type.value == "Warning")


def forget_metrics(namespace: str, name: str) -> None:
    """Drop a deleted CanaryRelease's series, so dashboards do not show it forever."""
    for phase in Phase:
        with contextlib.suppress(KeyError):
            PHASE.remove(namespace, name, phase.value)
    for gauge in (WEIGHT, STEP):
        with contextlib.suppress(KeyError):
            gauge.remove(namespace, name)


def utcnow() -> datetime:
    return datetime.now(UTC)
