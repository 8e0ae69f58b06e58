"""The forward path: Pending -> Initializing -> Progressing (steps) <-> Paused -> Promoting.

- Pending waits for the Release to exist and be Ready, refuses a second active canary, then records the fork
  (stable revision, copy creation time) before creating the copies.
- Initializing applies the copies and the router's objects and waits for the copies to be Ready, at most
  `progressDeadline`.
- Progressing holds each weight step for its duration, analysing every interval; copies that stop being Ready
  stop the step clock and, past `progressDeadline`, roll back.
- Paused waits for a manual action, or for a timed pause step to run out.
"""

from __future__ import annotations

from dataclasses import replace

from canary.domain.actions import (
    Action,
    ApplyCopies,
    EmitEvent,
    EventType,
    ReconcileRouter,
    SetRouterWeight,
)
from canary.domain.fork import ForkPlan
from canary.domain.status import copies_unready_since, mark_copies, with_phase
from canary.domain.transitions import (
    Ctx,
    describe_seconds,
    enter,
    patch,
    patch_if_changed,
    pause,
    rollback,
)
from canary.domain.verdicts import analysis_due, fresh_outcome, judge, run_analysis, step_done
from canary.models import CanaryStatus, PauseStep, Phase, WeightStep


def on_pending(ctx: Ctx) -> list[Action]:
    release, status = ctx.release, ctx.status
    if release is None:
        return _wait(ctx, f"waiting for Release {ctx.spec.release}: not found")
    rival = _rival(ctx)
    if rival is not None:
        message = f"refused: CanaryRelease {rival} is already active for Release {release.name}"
        return enter(ctx, status, Phase.FAILED, "AnotherCanaryActive", message, warning=True)
    if not (release.ready and release.settled) or release.suspended:
        detail = f": {release.message}" if release.message else ""
        return _wait(ctx, f"waiting for Release {release.name} to be Ready at revision {release.revision}{detail}")
    plan = ctx.observed.fork
    if not isinstance(plan, ForkPlan):
        return enter(
            ctx,
            status,
            Phase.FAILED,
            "ForkFailed",
            f"cannot fork: {plan or 'no fork computed'}",
            warning=True,
        )
    if ctx.router.problem is not None:
        return _wait(ctx, f"waiting for the {ctx.spec.router.type.value} router: {ctx.router.problem}")
    status = _from_the_start(ctx, replace(status, stable_revision=release.revision, promoted_revision=None))
    names = ", ".join(w.name for w in plan.workloads)
    message = f"forking {names} of Release {release.name} at revision {release.revision}"
    # Status first: a crash after this leaves copies the status knows about, never orphans.
    return [
        *enter(ctx, status, Phase.INITIALIZING, "Forking", message),
        *_create(ctx, plan),
    ]


def _from_the_start(ctx: Ctx, status: CanaryStatus) -> CanaryStatus:
    """Progress reset to before step 1, with copies being created now (the deadline clock starts)."""
    status = replace(
        status,
        step=0,
        weight=0,
        verdict=None,
        failures=0,
        extensions=0,
        step_started_at=None,
        copies_created_at=ctx.now,
    )
    return mark_copies(status, False, "creating copies", ctx.now)


def _create(ctx: Ctx, plan: ForkPlan) -> list[Action]:
    return [ApplyCopies(plan.objects(ctx.spec.router.type, 0)), ReconcileRouter(), SetRouterWeight(0)]


def _wait(ctx: Ctx, message: str) -> list[Action]:
    return patch_if_changed(ctx, replace(ctx.status, message=message))


def _rival(ctx: Ctx) -> str | None:
    """Another active canary of the Release, or an older pending one (the oldest pending one goes first)."""
    me = (ctx.meta.created_at or ctx.now, ctx.name)
    for other in ctx.observed.competitors:
        if other.phase.active:
            return other.name
        if other.phase is Phase.PENDING and (other.created_at or ctx.now, other.name) < me:
            return other.name
    return None


def on_initializing(ctx: Ctx, plan: ForkPlan) -> list[Action]:
    status, copies = ctx.status, ctx.copies
    current = copies.present and copies.fork_hash == plan.hash
    if current and copies.ready:
        return [ReconcileRouter(), *advance(ctx, mark_copies(status, True, "", ctx.now), 0)]
    if _overdue(ctx, status):
        return _deadline_rollback(ctx, status)
    waiting = mark_copies(status, False, copies.message or "waiting for the copies", ctx.now)
    return [*([] if current else _create(ctx, plan)), *patch_if_changed(ctx, waiting)]


def _overdue(ctx: Ctx, status: CanaryStatus) -> bool:
    since = copies_unready_since(status) or status.copies_created_at or ctx.now
    return ctx.since(since) > ctx.spec.progress_deadline


def _deadline_rollback(ctx: Ctx, status: CanaryStatus) -> list[Action]:
    deadline = describe_seconds(ctx.spec.progress_deadline)
    detail = f": {ctx.copies.message}" if ctx.copies.message else ""
    message = f"canary and baseline copies not Ready within progressDeadline {deadline}{detail}"
    return rollback(ctx, status, "ProgressDeadlineExceeded", message, restore=False)


def on_progressing(ctx: Ctx, plan: ForkPlan) -> list[Action]:
    status, copies, steps = ctx.status, ctx.copies, ctx.spec.steps
    if status.step >= len(steps) or not isinstance(steps[status.step], WeightStep):
        return advance(ctx, status, min(status.step, len(steps)))  # the steps were edited under us
    if not (copies.present and copies.ready):
        if _overdue(ctx, status):
            return _deadline_rollback(ctx, status)
        recreate = [] if copies.present else [ApplyCopies(plan.objects(ctx.spec.router.type, status.weight))]
        waiting = mark_copies(status, False, copies.message or "copies missing", ctx.now)
        return [*recreate, *patch_if_changed(ctx, waiting)]
    unready_since = copies_unready_since(status)
    if unready_since is not None and status.step_started_at is not None:
        # The step clock stood still while the copies were not Ready: no fair traffic, no fair analysis.
        lost = ctx.now - max(unready_since, status.step_started_at)
        status = replace(
            status,
            step_started_at=status.step_started_at + lost,
            last_analysis_at=status.last_analysis_at + lost if status.last_analysis_at else None,
        )
    return _hold(ctx, mark_copies(status, True, "", ctx.now))


def _hold(ctx: Ctx, status: CanaryStatus) -> list[Action]:
    step = ctx.spec.steps[status.step]
    assert isinstance(step, WeightStep)
    outcome = fresh_outcome(ctx, status)
    if outcome is not None:
        judged = judge(ctx, status, outcome)
        if isinstance(judged, list):
            return judged
        status = judged
    elif ctx.spec.analysis is not None and analysis_due(ctx, status, ctx.spec.analysis):
        return [*patch_if_changed(ctx, status), run_analysis(ctx, status, step, ctx.spec.analysis)]
    if step_done(ctx, status, step):
        return advance(ctx, status, status.step + 1)
    return patch_if_changed(ctx, status)


def advance(ctx: Ctx, status: CanaryStatus, index: int) -> list[Action]:
    """Enter step `index`: set its weight, pause at a pause step, or finish (promote or await approval)."""
    steps = ctx.spec.steps
    if index >= len(steps):
        status = replace(status, step=len(steps))
        if ctx.spec.auto_promote:
            message = f"all {len(steps)} steps passed: promoting"
            return enter(ctx, status, Phase.PROMOTING, "StepsCompleted", message)
        message = "all steps passed; autoPromote is false: waiting for rudder.dev/action=promote (or resume)"
        return pause(ctx, status, "AwaitingPromotion", message)
    step = steps[index]
    where = f"step {index + 1}/{len(steps)}"
    if isinstance(step, PauseStep):
        until = (
            "resume or promote"
            if step.duration is None
            else f"resumes by itself after {describe_seconds(step.duration)}"
        )
        # The pause's clock starts now even when coming from another pause (enter() only resets it on a change).
        paused = replace(status, step=index, step_started_at=ctx.now)
        return pause(ctx, paused, "PauseStep", f"paused at {where}: {until}")
    message = f"{where}: {step.weight}% for {describe_seconds(step.duration)}"
    status = replace(status, step=index, weight=step.weight, step_started_at=ctx.now, extensions=0)
    return [
        SetRouterWeight(step.weight),
        patch(ctx, with_phase(status, Phase.PROGRESSING, "StepStarted", message, ctx.now)),
        EmitEvent(EventType.NORMAL, "StepStarted", message),
    ]


def resume(ctx: Ctx, status: CanaryStatus) -> list[Action]:
    """Leave Paused: past a pause step to the next step, into promotion at the end, else restart the current
    weight step's hold (a person looked at it; extensions start over)."""
    steps = ctx.spec.steps
    if status.step >= len(steps):
        return enter(ctx, status, Phase.PROMOTING, "Resumed", "resumed: promoting")
    step = steps[status.step]
    if isinstance(step, PauseStep):
        return advance(ctx, status, status.step + 1)
    message = f"resumed at step {status.step + 1}/{len(steps)}: {step.weight}%"
    status = replace(status, weight=step.weight, step_started_at=ctx.now, extensions=0)
    return [
        ReconcileRouter(),
        SetRouterWeight(step.weight),
        patch(ctx, with_phase(status, Phase.PROGRESSING, "Resumed", message, ctx.now)),
        EmitEvent(EventType.NORMAL, "Resumed", message),
    ]


def on_paused(ctx: Ctx) -> list[Action]:
    status, steps = ctx.status, ctx.spec.steps
    step = steps[status.step] if status.step < len(steps) else None
    if isinstance(step, PauseStep) and step.duration is not None and status.paused_reason == "PauseStep" \
            and ctx.since(status.step_started_at) >= step.duration:
        return advance(ctx, status, status.step + 1)
    return []  # the pause's end is a due time (canary.domain.timing); anything else waits for a change


def restart(ctx: Ctx, plan: ForkPlan) -> list[Action]:
    """The copies no longer match the spec (its values, workloads or baseline changed): start over at
    step 0 with fresh copies, so no step is judged on a mix of old and new canary pods."""
    status = _from_the_start(ctx, ctx.status)
    message = "the CanaryRelease spec changed: re-creating the copies and starting again from step 1"
    return [
        *enter(ctx, status, Phase.INITIALIZING, "SpecChanged", message),
        *_create(ctx, plan),
    ]
