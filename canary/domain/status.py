"""Status building: phase changes with their conditions, copy readiness, and the API form of a status.

Conditions carry state that has no field of its own in the CRD's status schema:
- `Promoted` False holds the rollback reason (AnalysisFailed, ProgressDeadlineExceeded, Aborted, ...);
- `CopiesReady` False holds, in its lastTransitionTime, since when the copies have not been Ready, which is
  what `progressDeadline` is measured from.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from canary.models import CanaryStatus, Condition, Phase

PROGRESSING = "Progressing"
PAUSED = "Paused"
PROMOTED = "Promoted"
COPIES_READY = "CopiesReady"

_MOVING = frozenset({Phase.INITIALIZING, Phase.PROGRESSING, Phase.PROMOTING, Phase.ROLLING_BACK})
_NOT_PROMOTED = frozenset({Phase.ROLLING_BACK, Phase.ROLLED_BACK, Phase.FAILED})


def set_condition(conditions: tuple[Condition, ...], new: Condition) -> tuple[Condition, ...]:
    """Set one condition (`new.last_transition_time` is "now"); the time only moves when the status value
    changes, as Kubernetes conditions expect."""
    old = next((c for c in conditions if c.type == new.type), None)
    if old is None:
        return (*conditions, new)
    if old.status == new.status:
        new = replace(new, last_transition_time=old.last_transition_time)
    return tuple(new if c.type == new.type else c for c in conditions)


def with_phase(status: CanaryStatus, phase: Phase, reason: str, message: str, now: datetime) -> CanaryStatus:
    """`status` in `phase`, with the message and the phase conditions updated."""
    moving, paused = phase in _MOVING, phase is Phase.PAUSED
    if phase is Phase.PROMOTED:
        promoted = Condition(PROMOTED, "True", reason, message, now)
    elif phase in _NOT_PROMOTED:
        promoted = Condition(PROMOTED, "False", reason, message, now)
    else:
        promoted = Condition(PROMOTED, "Unknown", phase.value, "", now)
    conditions = status.conditions
    for condition in (
        Condition(PROGRESSING, _bool(moving), reason if moving else phase.value, "", now),
        Condition(PAUSED, _bool(paused), reason if paused else "", message if paused else "", now),
        promoted,
    ):
        conditions = set_condition(conditions, condition)
    return replace(
        status,
        phase=phase,
        message=message,
        paused_reason=reason if paused else "",
        conditions=conditions,
    )


def _bool(value: bool) -> str:
    return "True" if value else "False"


def rollback_reason(status: CanaryStatus) -> str:
    """Why the canary is rolling back or rolled back (the reason of `Promoted` False)."""
    cond = status.condition(PROMOTED)
    return cond.reason if cond is not None and cond.status == "False" else ""


def mark_copies(status: CanaryStatus, ready: bool, message: str, now: datetime) -> CanaryStatus:
    condition = Condition(COPIES_READY, _bool(ready), "Ready" if ready else "NotReady", message, now)
    return replace(status, conditions=set_condition(status.conditions, condition))


def copies_unready_since(status: CanaryStatus) -> datetime | None:
    """When the copies were last seen turning not Ready, or None if they are Ready (or never tracked)."""
    cond = status.condition(COPIES_READY)
    return cond.last_transition_time if cond is not None and cond.status == "False" else None
