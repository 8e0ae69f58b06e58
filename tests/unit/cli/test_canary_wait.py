"""`kubectl canary wait` decides its exit code from observed statuses: 0 promoted, 1 rolled back or failed,
2 timed out, 3 paused waiting for a decision (4: cannot follow it). It never ends on a transient state: not on
Pending/Initializing/Progressing/Promoting/RollingBack, not at a timed pause step (which resumes by itself), not
while a manual action is pending, and not on a status the controller wrote for an older spec before it had
the chance to react. Checked on hand-written sequences and on whole canaries driven through the real state
machine (`decide`), whose own view of "paused for a person" it must match."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
import urllib3.exceptions

from canary.cli.outcome import SETTLE_SECONDS, ExitCode, Waiter, read
from canary.cli.wait import Follower
from canary.models import Verdict as CanaryVerdict
from canary.models import parse_canary
from rudder.kube.client import KubeError
from tests.unit.canary.world import T0, World, always, spec
from tests.unit.cli.canaries import PROGRESSING, ROLLED_BACK, SPEC, body, condition, with_status

FINAL_PHASES = {"Promoted", "RolledBack", "Failed"}


def paused(reason: str, step: int, **extra: Any) -> dict[str, Any]:
    return with_status(PROGRESSING, phase="Paused", pausedReason=reason, step=step, **extra)


def timed_spec() -> dict[str, Any]:
    spec = dict(SPEC)
    spec["steps"] = [{"weight": 10, "duration": "1m"}, {"pause": {"duration": "5m"}}, {"weight": 50, "duration": "1m"}]
    return spec


def fold(observations: Sequence[tuple[float, dict[str, Any] | None]], **waiter: Any) -> list[ExitCode | None]:
    w = Waiter(**{"timeout": 600.0, **waiter})
    return [w.observe(b, t).code for t, b in observations]


# --- hand-written sequences --------------------------------------------------------------------


def test_a_canary_moving_through_transient_phases_ends_only_at_promoted() -> None:
    phases = ["Pending", "Initializing", "Progressing", "Progressing", "Promoting", "Promoting", "Promoted"]
    observations = [(10.0 * i, body(with_status(PROGRESSING, phase=p))) for i, p in enumerate(phases)]
    assert fold(observations) == [None] * 6 + [ExitCode.PROMOTED]


def test_rolling_back_is_transient_and_rolled_back_or_failed_is_1() -> None:
    rolling = body(with_status(ROLLED_BACK, phase="RollingBack"))
    assert fold([(0, rolling), (5, rolling), (10, body(ROLLED_BACK))]) == [None, None, ExitCode.FAILED]
    refusal = [condition("Promoted", "False", "AnotherCanaryActive", 0)]
    refused = with_status(ROLLED_BACK, phase="Failed", conditions=refusal)
    assert fold([(0, body(refused))]) == [ExitCode.FAILED]


@pytest.mark.parametrize(
    ("reason", "step"),
    [("Inconclusive", 1), ("AnalysisError", 1), ("ExtensionsExhausted", 1), ("ManualPause", 1),
     ("PauseStep", 2), ("AwaitingPromotion", 3)],
)
def test_a_pause_waiting_for_a_person_is_3(reason: str, step: int) -> None:
    assert fold([(0, body(paused(reason, step)))]) == [ExitCode.PAUSED]


def test_a_timed_pause_step_is_not_a_decision_and_the_wait_goes_on() -> None:
    observations = [
        (0, body(paused("PauseStep", 1), spec=timed_spec())),
        (290, body(paused("PauseStep", 1), spec=timed_spec())),
        (300, body(with_status(PROGRESSING, step=2, weight=50), spec=timed_spec())),
        (400, body(with_status(PROGRESSING, phase="Promoted", step=3, weight=0), spec=timed_spec())),
    ]
    assert fold(observations) == [None, None, None, ExitCode.PROMOTED]


def test_a_manual_pause_at_a_timed_pause_step_still_waits_for_a_person() -> None:
    # Only a pause entered as the pause step itself resumes by itself (the controller's on_paused).
    assert fold([(0, body(paused("ManualPause", 1), spec=timed_spec()))]) == [ExitCode.PAUSED]


def test_a_pending_action_is_never_final() -> None:
    resume = body(paused("Inconclusive", 1), action="resume")
    retry = body(ROLLED_BACK, action="retry")
    assert fold([(0, resume), (5, retry)]) == [None, None]
    # The controller performed the resume: the canary moves again, the wait goes on.
    assert fold([(0, resume), (5, body(PROGRESSING))]) == [None, None]


def test_a_paused_status_for_an_older_spec_counts_only_after_the_controller_had_time_to_react() -> None:
    stale = body(paused("Inconclusive", 1), generation=2)  # observedGeneration 1
    assert fold([(0, stale), (SETTLE_SECONDS - 1, stale), (SETTLE_SECONDS, stale)]) == [None, None, ExitCode.PAUSED]
    # The controller did react (the new spec restarted the canary): it is moving again.
    restarted = body(with_status(PROGRESSING, phase="Initializing", observedGeneration=2), generation=2)
    assert fold([(0, stale), (SETTLE_SECONDS - 1, restarted), (SETTLE_SECONDS * 3, restarted)]) == [None, None, None]


def test_a_failed_spec_that_was_edited_since_may_restart_so_it_settles_first() -> None:
    failed = with_status(ROLLED_BACK, phase="Failed", conditions=[condition("Promoted", "False", "InvalidSpec", 0)])
    stale = body(failed, generation=2)
    assert fold([(0, stale), (SETTLE_SECONDS, stale)]) == [None, ExitCode.FAILED]
    assert fold([(0, body(failed))]) == [ExitCode.FAILED]  # unchanged spec: final at once


def test_a_finished_canary_whose_spec_changed_afterwards_is_an_error_not_a_success() -> None:
    promoted = with_status(PROGRESSING, phase="Promoted")
    verdict = Waiter(timeout=60).observe(body(promoted, generation=3), 0)
    assert verdict.code is ExitCode.ERROR
    assert "never runs again" in verdict.text


def test_timeout_is_2_but_a_final_phase_seen_at_the_deadline_still_wins() -> None:
    moving = body(PROGRESSING)
    assert fold([(0, moving), (59, moving), (60, moving)], timeout=60.0) == [None, None, ExitCode.TIMEOUT]
    assert fold([(0, moving), (60, body(ROLLED_BACK))], timeout=60.0) == [None, ExitCode.FAILED]


def test_not_found_and_deleted_are_errors() -> None:
    assert fold([(0, None)]) == [ExitCode.ERROR]
    waiter = Waiter(timeout=60)
    waiter.observe(body(PROGRESSING), 0)
    verdict = waiter.observe(None, 5)
    assert verdict.code is ExitCode.ERROR
    assert "Progressing" in verdict.text


def test_watch_keeps_following_a_paused_canary() -> None:
    assert fold([(0, body(paused("Inconclusive", 1))), (9, body(ROLLED_BACK))], timeout=None, stop_on_pause=False) == [
        None, ExitCode.FAILED]


# --- the loop: reads, transient errors, deadlines ----------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds


def test_the_follower_retries_transient_read_errors_until_the_outcome() -> None:
    clock = Clock()
    reads: Iterator[Any] = iter([
        body(PROGRESSING),
        KubeError(503, "ServiceUnavailable", "apiserver restarting"),
        urllib3.exceptions.ProtocolError("Connection aborted."),
        body(ROLLED_BACK),
    ])

    def fetch() -> dict[str, Any] | None:
        item = next(reads)
        if isinstance(item, Exception):
            raise item
        return item  # type: ignore[no-any-return]

    seen: list[str] = []
    verdict, last = Follower(fetch, Waiter(timeout=600), 2.0, clock=clock, sleep=clock.sleep).run(
        lambda v, _b: seen.append(v.text))
    assert verdict.code is ExitCode.FAILED
    assert last is not None and last["status"]["phase"] == "RolledBack"
    assert any("apiserver restarting" in s for s in seen)
    assert clock.now == 6.0


def test_the_follower_gives_up_at_the_deadline_and_never_sleeps_past_it() -> None:
    clock = Clock()
    verdict, _ = Follower(lambda: body(PROGRESSING), Waiter(timeout=5.0), 2.0, clock=clock, sleep=clock.sleep).run(
        lambda v, b: None)
    assert verdict.code is ExitCode.TIMEOUT
    assert clock.now == 5.0


def test_the_follower_stops_on_a_permission_error() -> None:
    def forbidden() -> dict[str, Any] | None:
        raise KubeError(403, "Forbidden", "canaryreleases is forbidden")

    with pytest.raises(KubeError):
        Follower(forbidden, Waiter(timeout=60), 1.0, clock=Clock(), sleep=lambda _s: None).run(lambda v, b: None)


# --- cross-check with the real state machine ---------------------------------------------------


def world_body(world: World) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": world.name, "namespace": "prod", "uid": "uid-1", "generation": world.generation}
    if world.action is not None:
        meta["annotations"] = {"rudder.dev/action": world.action}
    return {"metadata": meta, "spec": world.raw_spec, "status": world.status}


def drive(world: World, limit: int = 300) -> Iterator[World]:
    """Every state a `wait` could observe: after each reconcile, with time moving as the controller asks."""
    yield world
    for _ in range(limit):
        _, wait = world.step()
        yield world
        if world.phase() in FINAL_PHASES or (world.phase() == "Paused" and _stays_paused(world)):
            return
        world.now += timedelta(seconds=max(wait or 60.0, 1.0))


def _stays_paused(world: World) -> bool:
    """The controller's own answer: with nobody acting, is the canary still Paused an hour later?"""
    twin = copy.deepcopy(world)
    for _ in range(30):
        twin.now += timedelta(minutes=2)
        twin.reconcile()
    return twin.phase() == "Paused"


def waits(world: World) -> tuple[ExitCode | None, list[str]]:
    """Feed every observable state to a Waiter; the phases seen before it answered, and its answer."""
    waiter = Waiter(timeout=None)
    phases = []
    for state in drive(world):
        phases.append(state.phase())
        verdict = waiter.observe(world_body(state), (state.now - T0).total_seconds())
        if verdict.code is not None:
            return verdict.code, phases
    return None, phases


def spec_with(**changes: Any) -> dict[str, Any]:
    return spec(**changes)


@pytest.mark.parametrize(
    ("world", "expected", "must_pass_through"),
    [
        (World(), ExitCode.PROMOTED, {"Initializing", "Progressing", "Promoting"}),
        (World(judge=always(CanaryVerdict.FAIL)), ExitCode.FAILED, {"Progressing", "RollingBack"}),
        (World(raw_spec=spec_with(steps=[{"weight": 10, "duration": "1m"}, {"pause": {"duration": "3m"}},
                                         {"weight": 50, "duration": "1m"}])),
         ExitCode.PROMOTED, {"Paused", "Progressing", "Promoting"}),
        (World(raw_spec=spec_with(steps=[{"weight": 10, "duration": "1m"}, {"pause": {}}])), ExitCode.PAUSED,
         {"Progressing"}),
        (World(judge=always(CanaryVerdict.INCONCLUSIVE)), ExitCode.PAUSED, {"Progressing"}),
        (World(raw_spec=spec_with(autoPromote=False)), ExitCode.PAUSED, {"Progressing"}),
    ],
    ids=["promoted", "rolled-back", "timed-pause-step", "pause-step", "inconclusive", "awaiting-promotion"],
)
def test_against_the_state_machine_the_wait_ends_exactly_when_the_canary_is_settled(
    world: World, expected: ExitCode, must_pass_through: set[str]
) -> None:
    code, phases = waits(world)
    assert code is expected, phases
    assert must_pass_through <= set(phases[:-1])  # it really did see (and sit through) the transient phases
    final = phases[-1]
    assert all(p not in FINAL_PHASES for p in phases[:-1])
    if expected is ExitCode.PAUSED:
        assert final == "Paused" and _stays_paused(world)
    else:
        assert final in FINAL_PHASES


def test_every_paused_state_reached_is_final_exactly_when_the_controller_would_not_resume_it() -> None:
    timed = World(raw_spec=spec_with(steps=[{"weight": 10, "duration": "1m"}, {"pause": {"duration": "3m"}},
                                            {"pause": {"duration": "1m"}}, {"weight": 50, "duration": "1m"}]))
    checked = 0
    for state in drive(timed):
        if state.phase() == "Paused":
            checked += 1
            reading = read(parse_canary(world_body(state)))
            assert (reading.code is ExitCode.PAUSED) == _stays_paused(state)
    assert checked >= 2
