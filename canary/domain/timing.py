"""When a CanaryRelease is next due: the earliest moment at which time alone changes what `decide()` does.

Everything else that changes a decision is a change to an object the controller watches (the CanaryRelease
itself, its copies, its router's objects, its Release and the Release's workloads), and wakes the canary by
itself; so a canary that is only waiting on the cluster, a person or another controller has no due time,
unless a deadline bounds that wait. The moments, per phase (all from status and spec, nothing else):

- Initializing: the progress deadline of the copies (counted from when they were created, or last seen
  turning not Ready).
- Progressing: with Ready copies, the end of the step's hold or the next analysis look, whichever is first;
  with copies not Ready, their progress deadline (the step clock stands still meanwhile).
- Paused: the end of a timed pause step; any other pause waits for a person.
- Promoting: the progress deadline of the promotion (counted from entering Promoting), until the promoted
  revision is recorded; then only the router and the copies are awaited.
- RollingBack: the progress deadline of the rollback (counted from entering RollingBack).
- Pending and the final phases: none.

The checks these mirror compare whole seconds (status keeps whole seconds): a hold of D seconds is over at
start + D, a deadline of D seconds is passed one second after start + D.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from canary.domain.status import copies_unready_since
from canary.models import CanarySpec, CanaryStatus, PauseStep, Phase, WeightStep


def next_due(spec: CanarySpec, status: CanaryStatus, now: datetime) -> datetime | None:
    """The next moment after `now` at which `decide()` must run even if nothing changes; None: never."""
    phase = status.phase
    if phase is Phase.INITIALIZING:
        return _deadline(spec, copies_unready_since(status) or status.copies_created_at, now)
    if phase is Phase.PROGRESSING:
        return _progressing(spec, status, now)
    if phase is Phase.PAUSED:
        return _pause_end(spec, status, now)
    if phase is Phase.PROMOTING:
        return None if status.promoted_revision is not None else _deadline(spec, status.step_started_at, now)
    if phase is Phase.ROLLING_BACK:
        return _deadline(spec, status.step_started_at, now)
    return None


def _deadline(spec: CanarySpec, since: datetime | None, now: datetime) -> datetime:
    """When `progressDeadline` counted from `since` is passed (`since` unknown: counted from now)."""
    return _after(since or now, math.floor(spec.progress_deadline) + 1, now)


def _progressing(spec: CanarySpec, status: CanaryStatus, now: datetime) -> datetime | None:
    unready = copies_unready_since(status)
    if unready is not None:
        return _deadline(spec, unready, now)
    steps = spec.steps
    step = steps[status.step] if 0 <= status.step < len(steps) else None
    start = status.step_started_at
    if not isinstance(step, WeightStep) or start is None:
        return None  # the steps were edited under the canary: the decision that saw it re-placed it
    end = start + timedelta(seconds=math.ceil(step.duration))
    if spec.analysis is None:
        return end if end > now else None  # a hold that is over has been left by the decision that saw it
    last = max(start, status.last_analysis_at) if status.last_analysis_at is not None else start
    # A look already due (a slow look's result recorded late) is due at once; a hold that is over only waits
    # for a passing look, so it is no moment of its own.
    look = max(last + timedelta(seconds=math.ceil(spec.analysis.interval)), now)
    return min(look, end) if end > now else look


def _pause_end(spec: CanarySpec, status: CanaryStatus, now: datetime) -> datetime | None:
    steps = spec.steps
    step = steps[status.step] if 0 <= status.step < len(steps) else None
    if not (isinstance(step, PauseStep) and step.duration is not None and status.paused_reason == "PauseStep"):
        return None
    return _after(status.step_started_at or now, math.ceil(step.duration), now)


def _after(since: datetime, seconds: float, now: datetime) -> datetime:
    """`since + seconds`, but never before `now` (a moment already past is due at once)."""
    return max(since + timedelta(seconds=seconds), now)


def seconds_until(due: datetime | None, now: datetime) -> float | None:
    """The requeue-after of a due time (None stays None)."""
    return None if due is None else max(0.0, (due - now).total_seconds())
