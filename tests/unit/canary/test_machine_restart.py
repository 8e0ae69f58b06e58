"""Restart safety: all progress lives in status, so a controller killed at any point and deciding again from
what it can read never promotes twice, never leaves an orphaned copy and never loses a step. Three kill
points are spelled out (after the fork, mid-step, mid-promotion); then every action of every reconcile of a
whole canary, promoted and rolled back, is tried as a kill point."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from canary.domain.actions import ApplyCopies, PromoteRelease, Requeue, RunAnalysis, SetRouterWeight
from canary.domain.machine import decide
from canary.models import Verdict
from tests.unit.canary.world import World, always, in_phase


def restart(world: World) -> World:
    """What a restarted controller sees: the same cluster, a little later, with nothing in memory."""
    world.now += timedelta(seconds=3)
    return world


def test_kill_after_the_fork_is_recorded_but_before_copies_exist() -> None:
    # Given the decision that starts the canary (status first, then copies)
    world = World()
    world.reconcile(kill_after=1)
    # When the controller is killed right after writing status
    assert world.phase() == "Initializing"
    assert world.copies == {}
    created = world.parsed_status.copies_created_at
    # Then on restart it creates the copies, without restarting the deadline clock
    decision = restart(world).reconcile()
    assert decision.of(ApplyCopies)
    assert set(world.copies) == {"web-canary", "web-baseline"}
    assert world.parsed_status.copies_created_at == created
    world.run()
    assert world.phase() == "Promoted"
    assert world.release is not None
    assert world.release.revision == 5


def test_kill_after_the_copies_exist_does_not_recreate_them() -> None:
    world = World()
    world.reconcile(kill_after=3)  # PatchStatus, EmitEvent, ApplyCopies
    made = copy.deepcopy(world.copies)
    decision = restart(world).reconcile()
    assert not decision.of(ApplyCopies)
    assert world.copies == made


def test_kill_mid_step_after_the_weight_changed_does_not_skip_the_step() -> None:
    # Given the decision that moves from step 1 (10%) to step 2 (50%): weight first, then status
    world = World().run(until=lambda w: len(w.analyses) == 3)
    due = world.decisions[-1].of(Requeue)[-1].at  # the 4th look and the end of step 1
    assert due is not None
    world.now = due
    twin = copy.deepcopy(world)
    twin.reconcile()
    analyse, advance = twin.decisions[-2:]
    assert analyse.of(RunAnalysis)
    assert advance.actions[0] == SetRouterWeight(50)
    # When the controller dies right after setting the weight, before the status records the new step
    world.reconcile(kill_after=len(analyse.actions) + 1)
    assert world.router_weight == 50
    assert world.parsed_status.step == 0
    # Then on restart it re-analyses step 1, moves on, and holds step 2 for its full duration
    restart(world).run(until=lambda w: w.parsed_status.step == 1)
    entered = world.parsed_status.step_started_at
    world.run(until=in_phase("Promoting"))
    assert entered is not None
    assert world.now - entered >= timedelta(minutes=2)
    assert sum(1 for a in world.analyses if a.step == 1) == 4
    world.run()
    assert world.phase() == "Promoted"
    assert world.release is not None
    assert world.release.revision == 5


def test_kill_after_an_analysis_ran_loses_nothing_but_the_run() -> None:
    world = World().run(until=lambda w: len(w.analyses) == 1)
    step_started = world.parsed_status.step_started_at
    # The judge runs, the controller dies before recording its outcome: the analysis is simply run again.
    world.now += timedelta(seconds=30)
    world.reconcile(kill_after=1)
    assert (len(world.analyses), len(world.parsed_status.analysis)) == (2, 1)
    restart(world).reconcile()
    assert (len(world.analyses), len(world.parsed_status.analysis)) == (3, 2)
    assert world.parsed_status.step_started_at == step_started


def test_kill_mid_promotion_never_promotes_twice() -> None:
    # Given a canary that has just written its values into the Release
    world = World().run(until=in_phase("Promoting"))
    world.reconcile(kill_after=1)  # PromoteRelease, and nothing else
    assert world.release is not None
    assert world.release.values == {"image": {"tag": "2.0"}}
    # When it restarts after the Release controller made revision 5
    restart(world)
    decision = world.reconcile()
    # Then it does not write the Release again, waits for it, and finishes
    assert not decision.of(PromoteRelease)
    assert world.release.revision == 5
    world.run()
    assert world.phase() == "Promoted"
    assert sorted(world.release.history) == [4, 5]
    assert world.parsed_status.promoted_revision == 5


def test_kill_after_traffic_moved_to_the_promoted_primary() -> None:
    world = World().run(
        until=lambda w: w.release is not None and w.release.revision == 5 and w.now >= w.release.ready_at
    )
    world.reconcile(kill_after=1)  # FinalizeRouter, not the status that records the promoted revision
    assert world.router_weight == 0
    assert world.parsed_status.promoted_revision is None
    restart(world).run()
    assert world.phase() == "Promoted"
    assert world.copies == {}
    assert world.release is not None
    assert sorted(world.release.history) == [4, 5]


def _kill_points(judge_verdict: Verdict) -> list[tuple[int, int]]:
    world = World(judge=always(judge_verdict))
    points = []
    for index in range(200):
        if world.phase() in ("Promoted", "RolledBack"):
            break
        points += [(index, k) for k in range(world.actions_per_reconcile())]
        _, wait = world.step()
        world.now += timedelta(seconds=max(wait or 1.0, 1.0))
    return points


def _run_with_kill(judge_verdict: Verdict, index: int, kill_after: int) -> World:
    world = World(judge=always(judge_verdict))
    for _ in range(index):
        _, wait = world.step()
        world.now += timedelta(seconds=max(wait or 1.0, 1.0))
    world.reconcile(kill_after=kill_after)
    return restart(world).run()


PROMOTED_POINTS = _kill_points(Verdict.PASS)
ROLLED_BACK_POINTS = _kill_points(Verdict.FAIL)


@pytest.mark.parametrize(("index", "kill_after"), PROMOTED_POINTS)
def test_any_kill_point_of_a_good_canary_still_promotes_once(index: int, kill_after: int) -> None:
    world = _run_with_kill(Verdict.PASS, index, kill_after)
    assert world.phase() == "Promoted"
    assert world.release is not None
    assert sorted(world.release.history) == [4, 5]
    assert world.release.promoted_from == "shop-v2"
    assert world.parsed_status.promoted_revision == 5
    assert world.copies == {}
    assert world.router_weight == 0
    # No lost step: both weights were held and both steps have passing analyses on record.
    held = [w for w in world.weights if w]
    assert held == [10, 50]
    assert {r.step for r in world.parsed_status.analysis} == {0, 1}


@pytest.mark.parametrize(("index", "kill_after"), ROLLED_BACK_POINTS)
def test_any_kill_point_of_a_bad_canary_still_rolls_back_cleanly(index: int, kill_after: int) -> None:
    world = _run_with_kill(Verdict.FAIL, index, kill_after)
    assert world.phase() == "RolledBack"
    assert world.release is not None
    assert sorted(world.release.history) == [4]
    assert world.release.revision == 4
    assert world.copies == {}
    assert world.router_weight == 0
    assert world.restore_calls == 0


def test_there_are_many_kill_points() -> None:
    assert len(PROMOTED_POINTS) > 50
    assert len(ROLLED_BACK_POINTS) > 10


def test_decide_is_pure() -> None:
    world = World().run(until=lambda w: len(w.analyses) == 3)
    observed = world.observe()
    assert decide(observed, world.now) == decide(observed, world.now)
