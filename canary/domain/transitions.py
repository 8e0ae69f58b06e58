"""The decision context and the transitions every phase handler shares (enter a phase, pause, roll back)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from canary.domain.actions import (
    Action,
    AllowDeletion,
    EmitEvent,
    EventType,
    FinalizeRouter,
    PatchStatus,
    RestoreRelease,
)
from canary.domain.fork import ForkPlan
from canary.domain.observed import CopiesState, Observed, ReleaseState, RouterState
from canary.domain.status import with_phase
from canary.models import CanaryMeta, CanarySpec, CanaryStatus, Phase

# Phases whose `step_started_at` is the start of the phase itself, for deadlines and pause durations.
_PHASE_CLOCK = frozenset({Phase.PAUSED, Phase.PROMOTING, Phase.ROLLING_BACK})


@dataclass(frozen=True)
class Ctx:
    """One decision's inputs: the observation, the valid spec and the time (whole seconds, UTC)."""

    observed: Observed
    spec: CanarySpec
    now: datetime

    @property
    def status(self) -> CanaryStatus:
        return self.observed.status

    @property
    def meta(self) -> CanaryMeta:
        return self.observed.meta

    @property
    def name(self) -> str:
        return self.observed.meta.name

    @property
    def release(self) -> ReleaseState | None:
        return self.observed.release

    @property
    def copies(self) -> CopiesState:
        return self.observed.copies

    @property
    def router(self) -> RouterState:
        return self.observed.router

    @property
    def routable(self) -> bool:
        """The router can be driven: the kube layer builds it only from a fork plan, and it read cleanly."""
        return isinstance(self.observed.fork, ForkPlan) and self.router.problem is None

    def since(self, moment: datetime | None) -> float:
        """Seconds from `moment` to now (0 when unknown)."""
        return (self.now - moment).total_seconds() if moment is not None else 0.0


def patch(ctx: Ctx, status: CanaryStatus) -> PatchStatus:
    return PatchStatus(replace(status, observed_generation=ctx.meta.generation))


def patch_if_changed(ctx: Ctx, status: CanaryStatus) -> list[Action]:
    """Write status only when it differs, so waiting loops do not write on every poll."""
    return [] if status == ctx.status else [patch(ctx, status)]


def enter(
    ctx: Ctx, status: CanaryStatus, phase: Phase, reason: str, message: str, *, warning: bool = False
) -> list[Action]:
    """Move to `phase` (status patch, then an Event with `reason`)."""
    if phase in _PHASE_CLOCK and phase is not ctx.status.phase:
        status = replace(status, step_started_at=ctx.now)
    new = with_phase(status, phase, reason, message, ctx.now)
    event = EmitEvent(EventType.WARNING if warning else EventType.NORMAL, reason, message)
    return [patch(ctx, new), event]


def pause(ctx: Ctx, status: CanaryStatus, reason: str, message: str) -> list[Action]:
    return enter(ctx, status, Phase.PAUSED, reason, message)


def rollback(ctx: Ctx, status: CanaryStatus, reason: str, message: str, *, restore: bool) -> list[Action]:
    """Start a rollback: traffic back to the primary at once, the Release restored when we may have changed
    it (`restore`), then RollingBack records it; deleting the copies waits for the router to show 0%."""
    actions: list[Action] = []
    if ctx.routable:
        actions.append(FinalizeRouter())
    if restore and status.stable_revision is not None:
        actions.append(RestoreRelease(ctx.spec.release, status.stable_revision))
    return [*actions, *enter(ctx, status, Phase.ROLLING_BACK, reason, message, warning=True)]


def allow_if_deleting(ctx: Ctx) -> list[Action]:
    return [AllowDeletion()] if ctx.meta.deleting else []


def changed_by_others(ctx: Ctx, release: ReleaseState) -> bool:
    """Before promotion nobody but the user's own tooling may touch the Release: any new revision, pending
    spec change, rollback or suspension means someone else changed it under the canary."""
    stable = ctx.status.stable_revision
    return release.revision != stable or not release.settled or release.suspended


def drifted_by_us(ctx: Ctx, release: ReleaseState) -> bool:
    """The Release left the stable revision because this canary promoted it."""
    return release.revision != ctx.status.stable_revision and release.promoted_from == ctx.name


def restore_needed(ctx: Ctx) -> bool:
    """Whether rolling back now must restore the Release: only mid-promotion (our values may be written)
    and unless someone else has moved the Release since (their change is theirs to keep)."""
    release, status = ctx.release, ctx.status
    if status.phase is not Phase.PROMOTING or release is None:
        return False
    return release.revision == status.stable_revision or drifted_by_us(ctx, release)


def describe_seconds(seconds: float) -> str:
    """30s, 2m, 1h30m: the spec's own duration style, for messages."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{secs}s" if secs else ""]
    return "".join(parts) or "0s"
