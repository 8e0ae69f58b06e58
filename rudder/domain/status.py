"""The Release status: phase, message and conditions from resource health, revision state and deadline.

Deterministic for unchanged input: lastTransitionTime moves only when a condition's status flips, so an
unchanged reconcile produces the same status and no write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from rudder.domain.health import ResourceHealth
from rudder.domain.pods import PodStatistics
from rudder.domain.timestamps import format_time, parse_time
from rudder.models import ConditionType, ReleasePhase, ResourcePhase

_MAX_LISTED = 3  # resources named in a message; status.resources has them all


class FailureReason(StrEnum):
    """Reasons of Failed phases that the domain produces (the I/O layer may add its own, e.g. Forbidden)."""

    RENDER_FAILED = "RenderFailed"
    INVALID_OBJECTS = "InvalidObjects"
    OWNERSHIP_CONFLICT = "OwnershipConflict"
    ROLLBACK_FAILED = "RollbackFailed"
    HISTORY_CORRUPT = "HistoryCorrupt"
    DEPENDENCY_CYCLE = "DependencyCycle"
    INVALID_SPEC = "InvalidSpec"
    FORBIDDEN = "Forbidden"
    APPLY_FAILED = "ApplyFailed"
    POST_RENDER_FAILED = "PostRenderFailed"


@dataclass(frozen=True)
class Failure:
    """A reason the revision cannot proceed (render error, invalid object, ownership conflict, Forbidden,
    missing rollback target, dependency cycle, ...), shown as phase Failed."""

    reason: str
    message: str


@dataclass(frozen=True)
class Condition:
    """One status condition."""

    type: ConditionType
    status: bool
    reason: str
    message: str
    last_transition_time: str
    observed_generation: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The `status.conditions[]` entry."""
        out: dict[str, Any] = {
            "type": self.type.value, "status": "True" if self.status else "False", "reason": self.reason,
            "message": self.message, "lastTransitionTime": self.last_transition_time,
        }
        if self.observed_generation is not None:
            out["observedGeneration"] = self.observed_generation
        return out


@dataclass(frozen=True, eq=False)
class StatusInputs:
    """Everything the status is computed from, gathered once per reconcile."""

    generation: int
    now: datetime
    revision: int | None
    resources: Sequence[ResourceHealth] = ()
    pods: PodStatistics = field(default_factory=PodStatistics)
    revision_started_at: datetime | None = None
    timeout_seconds: float = 300.0
    suspended: bool = False
    failure: Failure | None = None
    waiting_for: str | None = None  # dependencies not Ready yet
    terminal: Failure | None = None  # a terminal problem of the revision's pods (rudder.domain.failfast)
    content_digest: str | None = None
    notes: str = ""
    previous: Mapping[str, Any] = field(default_factory=dict)  # the current raw status


@dataclass(frozen=True, eq=False)
class ReleaseStatus:
    """The computed `status` of a Release."""

    observed_generation: int
    phase: ReleasePhase
    reason: str
    message: str
    conditions: tuple[Condition, ...]
    resources: tuple[ResourceHealth, ...]
    pod_statistics: PodStatistics
    revision: int | None
    last_ready_revision: int | None
    revision_started_at: str | None
    content_digest: str | None
    notes: str
    extra_conditions: tuple[dict[str, Any], ...] = ()

    @property
    def ready_count(self) -> str:
        """`ready/total` managed resources, for the printer column."""
        ready = sum(1 for r in self.resources if r.phase is ResourcePhase.READY)
        return f"{ready}/{len(self.resources)}"

    def to_dict(self) -> dict[str, Any]:
        """The status subresource body (keys with no value are left out)."""
        out: dict[str, Any] = {
            "observedGeneration": self.observed_generation,
            "phase": self.phase.value,
            "message": self.message,
            "ready": self.ready_count,
            "conditions": [c.to_dict() for c in self.conditions] + list(self.extra_conditions),
            "resources": [r.to_dict() for r in self.resources],
            "podStatistics": self.pod_statistics.to_dict(),
            "notes": self.notes,
        }
        optional = {"revision": self.revision, "lastReadyRevision": self.last_ready_revision,
                    "revisionStartedAt": self.revision_started_at, "contentDigest": self.content_digest}
        out.update({k: v for k, v in optional.items() if v is not None})
        return out


def _listing(items: Sequence[str]) -> str:
    shown = "; ".join(items[:_MAX_LISTED])
    return shown + (f" (+{len(items) - _MAX_LISTED} more)" if len(items) > _MAX_LISTED else "")


def _phase(inputs: StatusInputs, last_ready: int | None) -> tuple[ReleasePhase, str, str]:
    if inputs.failure is not None:
        return ReleasePhase.FAILED, inputs.failure.reason, inputs.failure.message
    if inputs.waiting_for:
        return ReleasePhase.PENDING, "DependenciesNotReady", inputs.waiting_for
    if inputs.suspended:
        return ReleasePhase.SUSPENDED, "Suspended", "workloads are scaled to zero and CronJobs suspended"
    if inputs.revision is None:
        return ReleasePhase.PENDING, "Installing", "no revision applied yet"
    failed = [f"{r.ref}: {r.message}" for r in inputs.resources if r.phase is ResourcePhase.FAILED]
    if failed:
        return ReleasePhase.FAILED, "ResourceFailed", _listing(failed)
    if inputs.terminal is not None and last_ready != inputs.revision:
        # Fail fast: a revision never Ready whose pods cannot start will not get better by waiting.
        return ReleasePhase.FAILED, inputs.terminal.reason, inputs.terminal.message
    unready = [f"{r.ref}: {r.message}" if r.message else str(r.ref)
               for r in inputs.resources if r.phase is not ResourcePhase.READY]
    crashing = [str(p) for p in inputs.pods.problems if p.updated]
    if not unready and not crashing:
        return ReleasePhase.READY, "AllResourcesReady", f"revision {inputs.revision} is ready"
    if last_ready == inputs.revision:
        # Was Ready already: a crash now is a failure of the running revision, not a slow rollout.
        if crashing:
            return ReleasePhase.FAILED, "CrashLoopBackOff", _listing(crashing)
        return ReleasePhase.PROGRESSING, "Reconciling", "waiting for: " + _listing(unready)
    started = inputs.revision_started_at or parse_time(inputs.previous.get("revisionStartedAt"))
    if started is not None and inputs.now > started + timedelta(seconds=inputs.timeout_seconds):
        detail = _listing(crashing + unready)
        return (ReleasePhase.FAILED, "ProgressDeadlineExceeded",
                f"revision {inputs.revision} not ready within {inputs.timeout_seconds:g}s: {detail}")
    return ReleasePhase.PROGRESSING, "Progressing", "waiting for: " + _listing(crashing + unready)


def _conditions(
    inputs: StatusInputs, phase: ReleasePhase, reason: str, message: str
) -> tuple[Condition, ...]:
    previous = {c.get("type"): c for c in inputs.previous.get("conditions") or () if isinstance(c, Mapping)}
    wanted = {
        ConditionType.READY: phase is ReleasePhase.READY,
        ConditionType.PROGRESSING: phase is ReleasePhase.PROGRESSING,
        ConditionType.FAILED: phase is ReleasePhase.FAILED,
    }
    out = []
    for condition_type, status in wanted.items():
        before = previous.get(condition_type.value) or {}
        same_status = before.get("status") == ("True" if status else "False")
        unchanged = same_status and before.get("lastTransitionTime")
        since = str(before["lastTransitionTime"]) if unchanged else format_time(inputs.now)
        out.append(Condition(condition_type, status, reason, message, since, inputs.generation))
    return tuple(out)


def _other_conditions(inputs: StatusInputs) -> list[dict[str, Any]]:
    """Conditions other parts of the reconcile own (Drifted): carried over as they are."""
    ours = {c.value for c in ConditionType}
    return [dict(c) for c in inputs.previous.get("conditions") or ()
            if isinstance(c, Mapping) and c.get("type") not in ours]


def build_status(inputs: StatusInputs) -> ReleaseStatus:
    """The Release status for the observed state.

    Precedence: a Failure, then waiting on dependencies (Pending), suspension, no revision yet (Pending),
    a Failed resource, all Ready, then (for a revision never Ready) the `timeout` deadline. A revision that
    was Ready and now has crash-looping pods is Failed with reason CrashLoopBackOff.
    """
    previous_last_ready = inputs.previous.get("lastReadyRevision")
    last_ready = previous_last_ready if isinstance(previous_last_ready, int) else None
    phase, reason, message = _phase(inputs, last_ready)
    if phase is ReleasePhase.READY:
        last_ready = inputs.revision
    started = inputs.revision_started_at
    started_text = format_time(started) if started else inputs.previous.get("revisionStartedAt")
    return ReleaseStatus(
        observed_generation=inputs.generation,
        phase=phase,
        reason=reason,
        message=message,
        conditions=_conditions(inputs, phase, reason, message),
        resources=tuple(inputs.resources),
        pod_statistics=inputs.pods,
        revision=inputs.revision,
        last_ready_revision=last_ready,
        revision_started_at=started_text,
        content_digest=inputs.content_digest or inputs.previous.get("contentDigest"),
        notes=inputs.notes,
        extra_conditions=tuple(_other_conditions(inputs)),
    )


def atomic_rollback_target(
    atomic: bool, status: ReleaseStatus, *, applied: bool = True
) -> int | None:
    """With `spec.atomic`, the revision to restore after a failure: the last Ready one, when it differs from
    the failed current revision. Failures before anything was applied (`applied=False`, e.g. a render error)
    leave the running revision untouched and need no rollback."""
    if not atomic or not applied or status.phase is not ReleasePhase.FAILED:
        return None
    target = status.last_ready_revision
    return target if target is not None and target != status.revision else None
