"""Observing managed objects and reporting a Release's status.

Reads the live objects of the current inventory (and their pods), hands them to the pure health
and status functions, and writes the status only when it differs from the live one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from rudder.cel import Allowance
from rudder.domain.cel_health import assess_with_checks
from rudder.domain.dependencies import evaluate_dependencies
from rudder.domain.failfast import terminal_failure
from rudder.domain.pods import current_template_hashes, pod_statistics
from rudder.domain.status import Failure, StatusInputs, build_status
from rudder.domain.suspend import plan_resume, plan_suspend
from rudder.kube import release_io as io
from rudder.kube.client import Kube, Ref
from rudder.models import API_VERSION, ObjectRef, ReleasePhase, ReleaseSpec, SpecError, parse_release_spec

if TYPE_CHECKING:
    from rudder.kube.reconcile import Context

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
DEADLINE_SLACK_SECONDS = 1.0


@dataclass(frozen=True)
class Outcome:
    """What the reconciliation needs to know after reporting health."""

    ready: bool
    deadline_exceeded: bool
    requeue_after: float | None = None  # seconds until the progress deadline of a revision not Ready yet
    # Failed before it was ever Ready (deadline, fail fast, a Failed resource): what `atomic` rolls back.
    revision_failed: bool = False


def _generation(release: Mapping[str, Any]) -> int:
    return int(release["metadata"].get("generation") or 0)


def _write(kube: Kube, release: Mapping[str, Any], status: Mapping[str, Any], *,
           event: tuple[str, str] | None = None, warning: bool = False) -> None:
    if io.patch_status(kube, release, status) and event:
        io.emit_event(kube, release, event[0], event[1], warning=warning)


def failed(kube: Kube, release: Mapping[str, Any], reason: str, message: str, *,
           keep_revision: bool = False) -> None:
    """Phase Failed with a message naming what is wrong; the running revision is left as it is."""
    previous = release.get("status") or {}
    revision = previous.get("revision") if keep_revision else None
    computed = build_status(StatusInputs(
        generation=_generation(release), now=datetime.now(UTC),
        revision=int(revision) if revision else None,
        failure=Failure(reason, message), previous=previous,
    )).to_dict()
    keep = ("observedGeneration", "phase", "message", "conditions")
    _write(kube, release, {k: computed[k] for k in keep}, event=(reason, message), warning=True)


def _depends_on(body: Mapping[str, Any]) -> list[str]:
    try:
        spec: ReleaseSpec = parse_release_spec(body.get("spec") or {})
    except SpecError:
        return []
    return [d.name for d in spec.depends_on]


def dependencies_pending(ctx: Context) -> bool:
    """True (and status says why) while a Release in `dependsOn` is not Ready, or on a cycle."""
    if not ctx.spec.depends_on:
        return False
    others = {r["metadata"]["name"]: r for r in ctx.kube.list_objects(API_VERSION, "Release", ctx.namespace)}
    phases = {}
    for name, body in others.items():
        phase = str((body.get("status") or {}).get("phase") or "")
        phases[name] = ReleasePhase(phase) if phase in {p.value for p in ReleasePhase} else None
    graph = {name: _depends_on(body) for name, body in others.items()}
    verdict = evaluate_dependencies(ctx.owner.name, ctx.spec.depends_on, phases, graph,
                                    bodies=others, own=ctx.release)
    if verdict.ready:
        return False
    if verdict.cycle:
        failed(ctx.kube, ctx.release, "DependencyCycle", verdict.message, keep_revision=True)
        return True
    revision = ctx.status.get("revision")
    computed = build_status(StatusInputs(
        generation=_generation(ctx.release), now=ctx.now, revision=int(revision) if revision else None,
        waiting_for=verdict.message, previous=ctx.status,
    )).to_dict()
    keep = ("observedGeneration", "phase", "message", "conditions")
    _write(ctx.kube, ctx.release, {k: computed[k] for k in keep})
    return True


def revision_started(
    ctx: Context, revision: int, notes: str, description: str, *, content_digest: str | None
) -> None:
    """A revision was just applied: it is current and Progressing until its resources are Ready."""
    stamp = ctx.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    status: dict[str, Any] = {
        "revision": revision, "revisionStartedAt": stamp, "notes": notes,
        "phase": ReleasePhase.PROGRESSING.value, "message": description,
        "observedGeneration": _generation(ctx.release), "contentDigest": content_digest,
    }
    io.patch_status(ctx.kube, ctx.release, status)
    ctx.release = {**ctx.release, "status": {**ctx.status, **status}}


CANARY_DONE = frozenset({"Promoted", "RolledBack", "Failed"})


def canary_active(ctx: Context) -> bool:
    """True while a CanaryRelease of this Release is running (it owns traffic until it finishes)."""
    for canary in ctx.kube.list_objects(API_VERSION, "CanaryRelease", ctx.namespace):
        if (canary.get("spec") or {}).get("release") != ctx.owner.name:
            continue
        if (canary.get("status") or {}).get("phase") not in CANARY_DONE:
            return True
    return False


def read_live(ctx: Context, inventory: Sequence[ObjectRef]) -> dict[ObjectRef, dict[str, Any] | None]:
    return {ref: ctx.applier.get(Ref(ref.api_version, ref.kind, ref.name, ctx.namespace)) for ref in inventory}


def apply_suspension(ctx: Context, live: Mapping[ObjectRef, Mapping[str, Any] | None]) -> int:
    """Scale to zero / suspend (spec.suspend) or restore the remembered counts; returns patches sent."""
    objects = [obj for obj in live.values() if obj]
    plan = plan_suspend(objects) if ctx.spec.suspend else plan_resume(objects)
    for item in plan.patches:
        ref = item.ref
        ctx.applier.patch(Ref(ref.api_version, ref.kind, ref.name, ctx.namespace), item.patch)
    return len(plan.patches)


def _pods_and_hashes(ctx: Context, workloads: list[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], frozenset[str]]:
    if not workloads:
        return [], frozenset()
    kube = ctx.applier
    pods: list[dict[str, Any]] = []
    replica_sets: list[dict[str, Any]] = []
    revisions: list[dict[str, Any]] = []
    for w in workloads:
        labels = ((w.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        # A workload's ReplicaSets and ControllerRevisions carry its pod template's labels, so its selector
        # finds them as it finds the pods: each list costs what it returns, not the namespace's whole kind.
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        if w["kind"] == "Deployment":
            replica_sets.extend(kube.list_objects("apps/v1", "ReplicaSet", ctx.namespace, selector))
        elif w["kind"] == "DaemonSet":
            revisions.extend(kube.list_objects("apps/v1", "ControllerRevision", ctx.namespace, selector))
        if labels:
            pods.extend(kube.list_objects("v1", "Pod", ctx.namespace, selector))
    unique = {p["metadata"]["uid"]: p for p in pods}
    return list(unique.values()), current_template_hashes(workloads, replica_sets, revisions)


def health(ctx: Context, revision: int, live: Mapping[ObjectRef, Mapping[str, Any] | None]) -> Outcome:
    """Assess every managed object and its pods, and write the status if it changed."""
    allowance = Allowance()  # the CEL budget of this pass, shared by every health check evaluation
    resources = [assess_with_checks(ref, obj, ctx.spec.health_checks, allowance) for ref, obj in live.items()]
    workloads = [obj for obj in live.values() if obj and obj.get("kind") in WORKLOAD_KINDS]
    pods, hashes = _pods_and_hashes(ctx, workloads)
    stats = pod_statistics(pods, hashes)
    started_text = ctx.status.get("revisionStartedAt")
    started = datetime.fromisoformat(started_text.replace("Z", "+00:00")) if started_text else None
    computed = build_status(StatusInputs(
        generation=_generation(ctx.release), now=ctx.now, revision=revision,
        resources=resources, pods=stats, terminal=terminal_failure(stats, ctx.spec.fail_fast, revision),
        revision_started_at=started,
        timeout_seconds=ctx.spec.timeout_seconds, suspended=ctx.spec.suspend,
        notes=str(ctx.status.get("notes") or ""), previous=ctx.status,
    ))
    status = computed.to_dict()
    reason = computed.reason
    event = None
    if status.get("phase") != ctx.status.get("phase"):
        event = (reason, computed.message)
    _write(ctx.kube, ctx.release, status, event=event,
           warning=computed.phase is ReleasePhase.FAILED)
    requeue = None
    if reason == "Progressing" and started is not None:
        # Nothing may change before the deadline passes: look again just after it.
        deadline = started + timedelta(seconds=ctx.spec.timeout_seconds)
        requeue = max((deadline - ctx.now).total_seconds(), 0.0) + DEADLINE_SLACK_SECONDS
    return Outcome(
        ready=computed.phase is ReleasePhase.READY,
        deadline_exceeded=reason == "ProgressDeadlineExceeded",
        requeue_after=requeue,
        revision_failed=computed.phase is ReleasePhase.FAILED and computed.last_ready_revision != revision,
    )


