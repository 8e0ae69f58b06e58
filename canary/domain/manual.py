"""Manual actions from the `rudder.dev/action` annotation: promote, abort, pause, resume, retry.

Each is performed at most once: the decision writes its effect into status first and removes the annotation
last (a test-and-remove on the value). After a crash in between, the action is decided again against the
new status, where it is a no-op, so it cannot be applied twice. Actions that make no sense in the current
phase are refused with a Warning event, and the annotation is removed all the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from canary.domain.actions import Action, EmitEvent, EventType, RemoveActionAnnotation
from canary.domain.progress import resume
from canary.domain.transitions import Ctx, enter, pause, restore_needed, rollback
from canary.models import Action as ManualAction
from canary.models import CanaryStatus, Phase

_BY_ANNOTATION = "by the rudder.dev/action annotation"

# A handler returns the actions performing the request, or a sentence saying why nothing was done.
_Handler = Callable[[Ctx, CanaryStatus], list[Action] | str]


def on_action(ctx: Ctx) -> list[Action]:
    request = ctx.observed.action
    assert request is not None
    done = RemoveActionAnnotation(request.raw)
    if request.action is None:
        known = ", ".join(a.value for a in ManualAction)
        message = f"unknown rudder.dev/action {request.raw!r} (known: {known})"
        return [EmitEvent(EventType.WARNING, "UnknownAction", message), done]
    status = replace(ctx.status, last_action=request.action.value)
    outcome = _HANDLERS[request.action](ctx, status)
    if isinstance(outcome, str):
        if ctx.status.last_action == request.action.value:
            # Performed already (a restart between the status write and the annotation removal): just finish.
            return [done]
        return [EmitEvent(EventType.WARNING, "ActionIgnored", f"{request.action.value}: {outcome}"), done]
    return [*outcome, done]


def _promote(ctx: Ctx, status: CanaryStatus) -> list[Action] | str:
    phase = status.phase
    if phase in (Phase.PROMOTING, Phase.PROMOTED):
        return f"already {phase.value}"
    if phase not in (Phase.INITIALIZING, Phase.PROGRESSING, Phase.PAUSED):
        return f"nothing to promote in phase {phase.value}"
    return enter(ctx, status, Phase.PROMOTING, "ManualPromote", f"promotion requested {_BY_ANNOTATION}")


def _abort(ctx: Ctx, status: CanaryStatus) -> list[Action] | str:
    phase = status.phase
    message = f"aborted {_BY_ANNOTATION}"
    if phase is Phase.PENDING:
        return enter(ctx, status, Phase.ROLLED_BACK, "Aborted", f"{message} before it started", warning=True)
    if phase in (Phase.ROLLING_BACK, Phase.ROLLED_BACK):
        return f"already {phase.value}"
    if phase in (Phase.PROMOTED, Phase.FAILED) or status.promoted_revision is not None:
        return f"too late to abort: phase {phase.value}, promoted revision {status.promoted_revision}"
    return rollback(ctx, status, "Aborted", message, restore=restore_needed(ctx))


def _pause(ctx: Ctx, status: CanaryStatus) -> list[Action] | str:
    if status.phase is Phase.PAUSED:
        return "already Paused"
    if status.phase not in (Phase.INITIALIZING, Phase.PROGRESSING):
        return f"cannot pause in phase {status.phase.value}"
    return pause(ctx, status, "ManualPause", f"paused {_BY_ANNOTATION}")


def _resume(ctx: Ctx, status: CanaryStatus) -> list[Action] | str:
    if status.phase is not Phase.PAUSED:
        return f"not paused (phase {status.phase.value})"
    return resume(ctx, status)


def _retry(ctx: Ctx, status: CanaryStatus) -> list[Action] | str:
    if status.phase not in (Phase.ROLLED_BACK, Phase.FAILED):
        return f"retry restarts a RolledBack or Failed canary, not one in phase {status.phase.value}"
    # A fresh start that keeps the analysis history and the conditions' timeline.
    fresh = CanaryStatus(last_action=status.last_action, conditions=status.conditions, analysis=status.analysis)
    return enter(ctx, fresh, Phase.PENDING, "Retry", f"retry requested {_BY_ANNOTATION}")


_HANDLERS: Mapping[ManualAction, _Handler] = {
    ManualAction.PROMOTE: _promote,
    ManualAction.ABORT: _abort,
    ManualAction.PAUSE: _pause,
    ManualAction.RESUME: _resume,
    ManualAction.RETRY: _retry,
}
