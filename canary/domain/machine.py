"""`decide(observed, now) -> Decision`: the CanaryRelease state machine's single entry point.

Order of concerns: an invalid spec; deletion (finalizer path; at once when the Release goes too); a pending
manual action; then the guards of the running phases (Release gone or changed by someone else, fork
impossible, router broken, spec changed); then the phase's own handler. See docs/canary.md for the whole state machine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime

from canary.domain.actions import (
    Action,
    AllowDeletion,
    Decision,
    DeleteCopies,
    EmitEvent,
    EventType,
    FinalizeRouter,
    PatchStatus,
    Requeue,
)
from canary.domain.finish import cleanup, on_promoting, on_rolling_back, on_terminal
from canary.domain.fork import ForkPlan
from canary.domain.manual import on_action
from canary.domain.observed import Observed
from canary.domain.progress import on_initializing, on_paused, on_pending, on_progressing, restart
from canary.domain.readers import ParseError
from canary.domain.status import with_phase
from canary.domain.timing import next_due
from canary.domain.transitions import Ctx, changed_by_others, restore_needed, rollback
from canary.models import CanaryStatus, Phase


def decide(observed: Observed, now: datetime) -> Decision:
    """Decide what to do now from everything observed. Pure and deterministic: the same observation and
    time give the same decision, which is what makes a restarted controller safe."""
    # Status keeps whole seconds; deciding at whole seconds keeps comparisons with it exact.
    now = now.astimezone(UTC).replace(microsecond=0)
    if isinstance(observed.spec, ParseError):
        return Decision(tuple(_invalid_spec(observed, observed.spec, now)))
    decision = Decision(tuple(_decide(Ctx(observed, observed.spec, now))))
    # When time alone next changes the decision, from the status this decision leaves behind.
    due = next_due(observed.spec, decision.status or observed.status, now)
    if due is None or any(isinstance(a, AllowDeletion) for a in decision.actions):
        return decision  # nothing timed is left for an object that may go
    return Decision((*decision.actions, Requeue((due - now).total_seconds(), due)))


def _decide(ctx: Ctx) -> list[Action]:
    phase = ctx.status.phase
    if ctx.meta.deleting:
        return _on_deletion(ctx)
    if ctx.observed.action is not None:
        return on_action(ctx)
    if phase in _GUARDED:
        return _guarded(ctx, _GUARDED[phase])
    if phase is Phase.PENDING:
        return on_pending(ctx)
    if phase is Phase.PROMOTING:
        return on_promoting(ctx)
    if phase is Phase.ROLLING_BACK:
        return on_rolling_back(ctx)
    return on_terminal(ctx)


def _guarded(ctx: Ctx, handler: Callable[[Ctx, ForkPlan], list[Action]]) -> list[Action]:
    status, release, plan = ctx.status, ctx.release, ctx.observed.fork
    if release is None:
        return rollback(ctx, status, "ReleaseMissing", f"Release {ctx.spec.release} disappeared", restore=False)
    if changed_by_others(ctx, release):
        message = (
            f"Release {release.name} was changed by someone else during the canary "
            f"(revision {release.revision}, stable {status.stable_revision})"
        )
        return rollback(ctx, status, "ReleaseChanged", message, restore=False)
    if not isinstance(plan, ForkPlan):
        return rollback(ctx, status, "ForkFailed", f"cannot fork: {plan or 'no fork computed'}", restore=False)
    if ctx.router.problem is not None:
        return rollback(ctx, status, "RouterFailed", ctx.router.problem, restore=False)
    copies = ctx.copies
    if status.phase is not Phase.INITIALIZING and copies.present and copies.fork_hash != plan.hash:
        return restart(ctx, plan)
    return handler(ctx, plan)


_GUARDED: Mapping[Phase, Callable[[Ctx, ForkPlan], list[Action]]] = {
    Phase.INITIALIZING: on_initializing,
    Phase.PROGRESSING: on_progressing,
    Phase.PAUSED: lambda ctx, _plan: on_paused(ctx),
}


def _on_deletion(ctx: Ctx) -> list[Action]:
    """Deleting mid-way rolls back cleanly before the finalizer goes; a finished promotion just finishes."""
    status, release = ctx.status, ctx.release
    if release is None or release.deleting:
        return _with_the_release(ctx)
    if status.phase is Phase.ROLLING_BACK:
        return on_rolling_back(ctx)
    if status.phase is Phase.PROMOTING and status.promoted_revision is not None:
        return on_promoting(ctx)
    if not status.phase.active:
        return cleanup(ctx)
    message = "CanaryRelease deleted mid-way: rolling back"
    return rollback(ctx, status, "Deleted", message, restore=restore_needed(ctx))


def _with_the_release(ctx: Ctx) -> list[Action]:
    """The Release goes too (both deleted at once, or their namespace): there is no stable revision left to
    restore or roll traffic back to, and its controller no longer acts on rollbackTo, so a rollback would only
    wait out the progress deadline. Undo what is ours in one go and let go, writing no Event (a terminating
    namespace refuses new objects). A failed action retries on a fresh observation, where router objects
    already gone no longer read cleanly and the router is skipped."""
    return [
        *([FinalizeRouter()] if ctx.routable else []),
        *([DeleteCopies(ctx.name)] if ctx.copies.any_present else []),
        AllowDeletion(),
    ]


def _invalid_spec(observed: Observed, error: ParseError, now: datetime) -> list[Action]:
    """A spec that cannot be parsed: fail a canary that holds nothing; hold a running one as it is (traffic
    unchanged) until the spec is fixed, because the router and steps it needs are unknown."""
    status, meta = observed.status, observed.meta
    message = f"invalid spec: {error}"
    if meta.deleting:
        # Copies are found by label; router objects are owned by the CanaryRelease and go with it.
        return [*([DeleteCopies(meta.name)] if observed.copies.any_present else []), AllowDeletion()]
    if status.message == message:
        return []
    event = EmitEvent(EventType.WARNING, "InvalidSpec", message)
    if status.phase.active:
        held = replace(status, message=f"{message}; holding traffic as it is until the spec is fixed")
        return [_patch(held, meta.generation), event]
    return [_patch(with_phase(status, Phase.FAILED, "InvalidSpec", message, now), meta.generation), event]


def _patch(status: CanaryStatus, generation: int) -> Action:
    return PatchStatus(replace(status, observed_generation=generation))
