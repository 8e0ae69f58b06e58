"""The way out: Promoting -> Promoted, RollingBack -> RolledBack, and clean-up for deletion.

Promotion order: write the overrides into the Release (PromoteRelease, repeated until the Release shows a new
revision promoted from this canary) -> wait for the Release to be Ready at it -> record `promotedRevision`
and shift all traffic to the primary -> delete the copies once the router shows 0% -> Promoted.

Rollback order: traffic to the primary first (FinalizeRouter, issued when rolling back starts) -> delete the
copies once the router shows 0% -> if this canary moved the Release, restore the stable revision and wait for
it -> RolledBack, keeping the reason and the failing metric in the message and the `Promoted` condition.
"""

from __future__ import annotations

from dataclasses import replace

from canary.domain.actions import (
    Action,
    AllowDeletion,
    DeleteCopies,
    EmitEvent,
    EventType,
    FinalizeRouter,
    PromoteRelease,
    RestoreRelease,
)
from canary.domain.observed import ReleaseState
from canary.domain.status import rollback_reason
from canary.domain.transitions import (
    Ctx,
    allow_if_deleting,
    describe_seconds,
    drifted_by_us,
    enter,
    patch,
    patch_if_changed,
    rollback,
)
from canary.models import Phase
from rudder.render.values import deep_merge


def on_promoting(ctx: Ctx) -> list[Action]:
    status, release = ctx.status, ctx.release
    if status.promoted_revision is not None:
        return _finish_promotion(ctx)
    if release is None:
        return rollback(ctx, status, "ReleaseMissing", f"Release {ctx.spec.release} disappeared", restore=False)
    if release.revision != status.stable_revision:
        return _at_new_revision(ctx, release)
    if release.failed:
        message = f"Release {release.name} failed while promoting: {release.message}"
        return rollback(ctx, status, "PromotionFailed", message, restore=True)
    if release.settled and deep_merge(release.values, ctx.spec.values) == dict(release.values):
        # The Release already has the canary's values: promoting makes no new revision, so none will come.
        return _promoted(ctx, release, f"Release {release.name} already has the canary's values")
    if _overdue(ctx):
        message = f"Release {release.name} did not leave revision {release.revision} within {_deadline(ctx)}"
        return rollback(ctx, status, "PromotionDeadlineExceeded", message, restore=True)
    assert status.stable_revision is not None
    writing = f"writing the canary values into Release {release.name} (revision {release.revision})"
    return [
        PromoteRelease(ctx.spec.release, ctx.spec.values, ctx.name, status.stable_revision),
        *patch_if_changed(ctx, replace(status, message=writing)),
    ]


def _at_new_revision(ctx: Ctx, release: ReleaseState) -> list[Action]:
    status = ctx.status
    if release.promoted_from != ctx.name:
        message = f"Release {release.name} moved to revision {release.revision} by someone else"
        return rollback(ctx, status, "ReleaseChanged", message, restore=False)
    if release.failed:
        message = f"Release {release.name} failed at revision {release.revision}: {release.message}"
        return rollback(ctx, status, "PromotionFailed", message, restore=True)
    if release.ready and release.settled:
        return _promoted(ctx, release, f"Release {release.name} is Ready at revision {release.revision}")
    if _overdue(ctx):
        message = f"Release {release.name} not Ready at revision {release.revision} within {_deadline(ctx)}"
        return rollback(ctx, status, "PromotionDeadlineExceeded", message, restore=True)
    waiting = f"waiting for Release {release.name} to be Ready at revision {release.revision}"
    return patch_if_changed(ctx, replace(status, message=waiting))


def _promoted(ctx: Ctx, release: ReleaseState, why: str) -> list[Action]:
    """Record the promoted revision and move all traffic to the primary, which now runs it."""
    message = f"{why}: moving all traffic to it"
    promoted = replace(ctx.status, promoted_revision=release.revision, message=message)
    return [
        *([FinalizeRouter()] if ctx.routable else []),
        patch(ctx, promoted),
        EmitEvent(EventType.NORMAL, "ReleasePromoted", message),
    ]


def _overdue(ctx: Ctx) -> bool:
    return ctx.since(ctx.status.step_started_at) > ctx.spec.progress_deadline


def _deadline(ctx: Ctx) -> str:
    return describe_seconds(ctx.spec.progress_deadline)


def _finish_promotion(ctx: Ctx) -> list[Action]:
    if ctx.router.problem is None and ctx.router.weight != 0:
        return [FinalizeRouter()]
    if ctx.copies.any_present:
        return [DeleteCopies(ctx.name)]
    status = replace(ctx.status, weight=0)
    message = f"promoted: Release {ctx.spec.release} is at revision {status.promoted_revision}"
    return [*enter(ctx, status, Phase.PROMOTED, "Promoted", message), *allow_if_deleting(ctx)]


def on_rolling_back(ctx: Ctx) -> list[Action]:
    status, release = ctx.status, ctx.release
    reason = rollback_reason(status) or "RolledBack"
    blocker: str | None = None
    step: list[Action] = []
    if ctx.router.problem is None and ctx.router.weight != 0:
        blocker, step = f"traffic still at {ctx.router.weight}% on the canary", [FinalizeRouter()]
    elif ctx.copies.any_present:
        blocker, step = "copies still present", [DeleteCopies(ctx.name)]
    elif release is not None and release.rollback_to is not None:
        blocker = f"Release {release.name} still restoring revision {release.rollback_to}"
    elif release is not None and status.stable_revision is not None and drifted_by_us(ctx, release):
        blocker = f"Release {release.name} not back at revision {status.stable_revision}"
        step = [RestoreRelease(release.name, status.stable_revision)]
    if blocker is None:
        done = replace(status, weight=0)
        return [
            *enter(ctx, done, Phase.ROLLED_BACK, reason, status.message, warning=True),
            *allow_if_deleting(ctx),
        ]
    if ctx.since(status.step_started_at) > ctx.spec.progress_deadline:
        deadline = describe_seconds(ctx.spec.progress_deadline)
        message = f"rollback ({reason}) incomplete after {deadline}: {blocker}; {status.message}"
        return enter(ctx, status, Phase.FAILED, "RollbackIncomplete", message, warning=True)
    return step


def on_terminal(ctx: Ctx) -> list[Action]:
    """Promoted, RolledBack, Failed: nothing to do, except restarting a canary that failed on its spec once
    the spec has changed, and letting a deleted one go."""
    status = ctx.status
    if ctx.meta.deleting:
        return cleanup(ctx)
    spec_fixed = status.observed_generation is not None and status.observed_generation != ctx.meta.generation
    if status.phase is Phase.FAILED and spec_fixed and rollback_reason(status) in ("InvalidSpec", "ForkFailed"):
        return enter(ctx, status, Phase.PENDING, "SpecChanged", "the spec changed: starting again")
    return []


def cleanup(ctx: Ctx) -> list[Action]:
    """Deletion of a canary with nothing in flight: traffic to the primary, copies gone, then let it go."""
    if ctx.router.problem is None and ctx.router.weight != 0:
        return [FinalizeRouter()]
    if ctx.copies.any_present:
        return [DeleteCopies(ctx.name)]
    return [AllowDeletion()]
