"""When a CanaryRelease is next due (canary.domain.timing), in every phase: step holds and analysis looks
in Progressing (a hold that is over waits for its look, a late look is due at once), copies' progress
deadlines in Initializing and Progressing, timed pause steps, promotion and rollback deadlines, nothing
for Pending, manual pauses and final phases. And the state machine wakes exactly then: every decision's
requeue is the due time of the status it leaves, looks keep their interval to the second, a timed pause
ends on time, a wait on the cluster costs no polling, and a deadline is acted on the moment it passes."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from canary.domain.status import mark_copies
from canary.domain.timing import next_due, seconds_until
from canary.models import CanarySpec, CanaryStatus, Phase, parse_spec
from tests.unit.canary.world import NEVER, T0, World, in_phase, spec

S = T0  # a step's start in the cases below


def canary(**overrides: object) -> CanarySpec:
    """Two weight steps of 2m, analysis every 30s, progressDeadline 10m."""
    return parse_spec(spec(**overrides))


def progressing(**fields: object) -> CanaryStatus:
    status = CanaryStatus(phase=Phase.PROGRESSING, step=0, weight=10, step_started_at=S)
    return replace(mark_copies(status, True, "", S), **fields)  # type: ignore[arg-type]


def at(seconds: float) -> datetime:
    return S + timedelta(seconds=seconds)


@pytest.mark.parametrize(("last", "now", "due"), [
    (None, 5, 30),  # the first look of the step
    (60, 61, 90),  # the next look
    (90, 95, 120),  # the last look and the hold's end coincide
    (100, 101, 120),  # the hold ends before the next look
])
def test_progressing_is_due_at_the_next_look_or_the_end_of_the_hold(last: int | None, now: int, due: int) -> None:
    status = progressing(last_analysis_at=None if last is None else at(last))
    assert next_due(canary(), status, at(now)) == at(due)


def test_a_hold_that_is_over_waits_for_its_next_look_not_for_its_end() -> None:
    status = progressing(last_analysis_at=at(130))  # an Inconclusive past the hold: extended
    assert next_due(canary(), status, at(131)) == at(160)


def test_a_look_recorded_late_makes_the_next_one_due_at_once() -> None:
    # A slow Prometheus: the look started at 30s was recorded at 70s (its time is the window's end, 30s).
    status = progressing(last_analysis_at=at(30))
    assert next_due(canary(), status, at(70)) == at(70)


def test_without_analysis_only_the_hold_counts() -> None:
    bare = canary(analysis=None)
    assert next_due(bare, progressing(), at(10)) == at(120)
    assert next_due(bare, progressing(), at(120)) is None  # over: the decision that saw it moved on


def test_copies_not_ready_are_due_at_their_progress_deadline() -> None:
    status = mark_copies(progressing(), False, "not ready: web-canary", at(40))
    assert next_due(canary(), status, at(41)) == at(40 + 601)  # 10m, passed one second later


def test_initializing_is_due_at_the_copies_deadline() -> None:
    status = CanaryStatus(phase=Phase.INITIALIZING, copies_created_at=S)
    assert next_due(canary(), status, at(3)) == at(601)
    status = mark_copies(status, False, "creating copies", at(20))
    assert next_due(canary(progressDeadline="90s"), status, at(21)) == at(20 + 91)


def test_a_timed_pause_step_is_due_at_its_end_and_other_pauses_never() -> None:
    steps = [{"weight": 10, "duration": "1m"}, {"pause": {"duration": "45s"}}, {"weight": 50, "duration": "1m"}]
    paused = CanaryStatus(phase=Phase.PAUSED, step=1, step_started_at=S, paused_reason="PauseStep")
    assert next_due(canary(steps=steps), paused, at(1)) == at(45)
    assert next_due(canary(steps=steps), replace(paused, paused_reason="ManualPause"), at(1)) is None
    assert next_due(canary(), replace(paused, step=0, paused_reason="Inconclusive"), at(1)) is None


def test_promotion_and_rollback_are_due_at_their_deadlines() -> None:
    promoting = CanaryStatus(phase=Phase.PROMOTING, step=2, step_started_at=S)
    assert next_due(canary(), promoting, at(5)) == at(601)
    # Once the promoted revision is recorded only the router and the copies are awaited: watched, no deadline.
    assert next_due(canary(), replace(promoting, promoted_revision=5), at(5)) is None
    rolling_back = CanaryStatus(phase=Phase.ROLLING_BACK, step_started_at=S)
    assert next_due(canary(), rolling_back, at(5)) == at(601)


@pytest.mark.parametrize("phase", [Phase.PENDING, Phase.PROMOTED, Phase.ROLLED_BACK, Phase.FAILED])
def test_pending_and_final_phases_are_never_due(phase: Phase) -> None:
    assert next_due(canary(), CanaryStatus(phase=phase, step_started_at=S), at(5)) is None


def test_seconds_until_a_due_time() -> None:
    assert seconds_until(at(30), at(10)) == 20
    assert seconds_until(at(5), at(10)) == 0
    assert seconds_until(None, at(10)) is None


def test_looks_keep_their_interval_to_the_second() -> None:
    world = World().run()
    assert world.phase() == "Promoted"
    # Two 2m steps analysed every 30s: every look exactly 30, 60, 90, 120 seconds into its step.
    assert [(a.step, (a.until - a.since).total_seconds()) for a in world.analyses] == [
        (step, float(s)) for step in (0, 1) for s in (30, 60, 90, 120)]


def test_a_timed_pause_step_ends_on_time() -> None:
    steps = [{"weight": 10, "duration": "1m"}, {"pause": {"duration": "45s"}}, {"weight": 50, "duration": "1m"}]
    world = World(raw_spec=spec(steps=steps)).run(until=in_phase("Paused"))
    paused_at = world.parsed_status.step_started_at
    world.run(until=lambda w: w.parsed_status.step == 2)
    assert paused_at is not None
    assert world.parsed_status.step_started_at == paused_at + timedelta(seconds=45)


def test_waiting_on_copies_costs_no_polling_and_the_deadline_is_acted_on_when_it_passes() -> None:
    # Given copies that never become Ready
    world = World(copies_ready_delay=NEVER)
    # When the canary runs
    world.run(until=in_phase("RollingBack"))
    # Then it did not poll while waiting: a handful of reconciles (its own writes), the last at the deadline
    created, rolled_back = world.parsed_status.copies_created_at, world.parsed_status.step_started_at
    assert created is not None
    assert len(world.decisions) <= 4
    assert rolled_back == created + timedelta(seconds=601)
    assert world.parsed_status.message.startswith("canary and baseline copies not Ready within progressDeadline")
