"""The guards around a canary: copies not Ready within `progressDeadline` roll back (it never hangs in
Progressing); one active canary per Release; a Release changed by someone else aborts the canary without
undoing their change; a Release deleted under a running canary rolls it back; deletion rolls back cleanly
through the finalizer, except with its Release (deleted together, or already gone), where it lets go at
once without restoring anything; an invalid or changed spec; and waiting for a Release that is not there or
not Ready yet."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from canary.domain.actions import (
    AllowDeletion,
    ApplyCopies,
    DeleteCopies,
    FinalizeRouter,
    RestoreRelease,
    SetRouterWeight,
)
from canary.domain.machine import decide
from canary.domain.observed import Competitor
from canary.domain.status import rollback_reason
from canary.models import Phase
from tests.unit.canary.world import NEVER, T0, World, in_phase, spec


def test_copies_never_ready_roll_back_at_the_progress_deadline() -> None:
    # Given copies whose pods never become Ready
    world = World(copies_ready_delay=NEVER)
    # When the controller runs
    world.run()
    # Then it rolls back with that reason once progressDeadline (10m) has passed, not before
    status = world.parsed_status
    assert world.phase() == "RolledBack"
    assert rollback_reason(status) == "ProgressDeadlineExceeded"
    assert timedelta(minutes=10) < world.now - T0 < timedelta(minutes=12)
    assert world.copies == {}
    assert world.analyses == []


def test_copies_that_stop_being_ready_mid_canary_roll_back_at_the_deadline() -> None:
    world = World().run(until=lambda w: len(w.analyses) == 2)
    # The copies' pods start failing: nothing is analysed meanwhile, and the deadline rolls it back.
    for name in world.copies:
        world.copies[name]["ready_at"] = world.now + NEVER
    broken_at = world.now
    world.run()
    assert world.phase() == "RolledBack"
    assert len(world.analyses) == 2
    assert rollback_reason(world.parsed_status) == "ProgressDeadlineExceeded"
    assert timedelta(minutes=10) < world.now - broken_at < timedelta(minutes=12)


def test_time_not_ready_does_not_count_as_holding_the_step() -> None:
    world = World().run(until=lambda w: len(w.analyses) == 2)
    started = world.parsed_status.step_started_at
    for name in world.copies:
        world.copies[name]["ready_at"] = world.now + timedelta(minutes=3)
    world.run(until=lambda w: w.parsed_status.step == 1)
    # Two analyses happened before the outage; the step still needed two more after it.
    assert len(world.analyses) == 4
    assert started is not None
    assert world.now - started > timedelta(minutes=5)


def test_a_second_canary_for_the_same_release_is_refused() -> None:
    # Given another CanaryRelease already active for the Release
    world = World(competitors=(Competitor("shop-v3", Phase.PROGRESSING, T0),))
    # When this one is reconciled
    world.reconcile()
    # Then it is refused in its status, and it touched nothing
    status = world.parsed_status
    assert world.phase() == "Failed"
    assert "shop-v3" in status.message
    assert rollback_reason(status) == "AnotherCanaryActive"
    assert world.copies == {}
    assert world.weights == []
    assert decide(world.observe(), world.now + timedelta(hours=1)).actions == ()


def test_the_older_of_two_pending_canaries_goes_first() -> None:
    older = World(competitors=(Competitor("shop-v0", Phase.PENDING, T0 - timedelta(days=1)),))
    older.reconcile()
    assert older.phase() == "Failed"
    newer = World(competitors=(Competitor("shop-v9", Phase.PENDING, T0),))
    newer.reconcile()
    assert newer.phase() == "Initializing"


def test_finished_canaries_do_not_block_a_new_one() -> None:
    world = World(competitors=(Competitor("shop-v1", Phase.PROMOTED, T0), Competitor("x", Phase.ROLLED_BACK, T0)))
    world.run()
    assert world.phase() == "Promoted"


def test_release_changed_by_someone_else_aborts_the_canary_and_keeps_their_change() -> None:
    # Given a canary mid-step
    world = World().run(until=lambda w: len(w.analyses) == 2)
    # When someone else upgrades the Release
    release = world.release
    assert release is not None
    release.values = {"image": {"tag": "1.1"}}
    release.generation += 1
    world.run()
    # Then the canary is rolled back with that reason, and the Release keeps their revision
    status = world.parsed_status
    assert world.phase() == "RolledBack"
    assert rollback_reason(status) == "ReleaseChanged"
    assert release.revision == 5
    assert release.values == {"image": {"tag": "1.1"}}
    assert world.restore_calls == 0
    assert world.copies == {}
    assert world.router_weight == 0


def test_a_pending_spec_change_of_the_release_counts_as_a_change() -> None:
    world = World().run(until=lambda w: len(w.analyses) == 1)
    observed = world.observe()
    assert observed.release is not None
    # Someone wrote the Release's spec; its controller has not acted on it yet.
    unsettled = replace(observed.release, generation=observed.release.generation + 1)
    decision = decide(replace(observed, release=unsettled), world.now)
    status = decision.status
    assert status is not None
    assert status.phase is Phase.ROLLING_BACK


def test_release_deleted_mid_canary_rolls_back() -> None:
    world = World().run(until=lambda w: len(w.analyses) == 1)
    world.release = None
    world.run()
    assert world.phase() == "RolledBack"
    assert world.copies == {}


def test_deleting_mid_way_rolls_back_then_lets_go() -> None:
    # Given a canary mid-step
    world = World().run(until=lambda w: len(w.analyses) == 2)
    # When the CanaryRelease is deleted
    world.deleting = True
    world.run(until=lambda w: w.released)
    # Then traffic went back, the copies are gone, the Release is untouched, and only then the finalizer goes
    assert world.phase() == "RolledBack"
    assert rollback_reason(world.parsed_status) == "Deleted"
    assert world.copies == {}
    assert world.router_weight == 0
    assert world.release is not None
    assert world.release.revision == 4


def test_deleting_mid_promotion_restores_the_release() -> None:
    world = World().run(until=in_phase("Promoting"))
    world.reconcile()  # values written into the Release
    world.now += timedelta(seconds=1)
    world.deleting = True
    decision = world.reconcile()
    assert decision.of(RestoreRelease)
    world.run(until=lambda w: w.released)
    assert world.release is not None
    assert world.release.revision == 4


@pytest.mark.parametrize("moment", ["mid-step", "mid-promotion"])
def test_deleted_together_with_its_release_it_lets_go_at_once_without_restoring(moment: str) -> None:
    # Given a canary mid-step, or mid-promotion with its values already written into the Release
    world = World().run(until=lambda w: len(w.analyses) == 2 if moment == "mid-step" else w.phase() == "Promoting")
    if moment == "mid-promotion":
        world.reconcile()
        world.now += timedelta(seconds=1)
    # When the Release and the CanaryRelease are deleted together (or their namespace is)
    assert world.release is not None
    world.release.deleting = True
    world.deleting = True
    decision = world.reconcile()
    # Then one decision takes traffic off the copies, deletes them and lets the finalizer go: nothing is
    # restored into a Release that is going away (its controller would never act on it)
    assert decision.actions == (FinalizeRouter(), DeleteCopies("shop-v2"), AllowDeletion())
    assert world.released
    assert world.copies == {}
    assert world.restore_calls == 0


def test_deleted_after_its_release_is_gone_it_lets_go_at_once() -> None:
    world = World().run(until=lambda w: len(w.analyses) == 2)
    world.release = None
    world.deleting = True
    decision = world.reconcile()
    # No fork plan without the Release, so no router to drive: the copies go and so does the finalizer.
    assert decision.actions == (DeleteCopies("shop-v2"), AllowDeletion())
    assert world.released
    assert world.copies == {}


def test_deleting_a_pending_or_finished_canary_lets_go_at_once() -> None:
    pending = World()
    pending.deleting = True
    assert decide(pending.observe(), pending.now).actions == (AllowDeletion(),)
    done = World().run()
    done.deleting = True
    assert decide(done.observe(), done.now).actions == (AllowDeletion(),)


def test_waits_for_a_missing_or_unready_release() -> None:
    world = World(release=None)
    world.reconcile()
    assert world.phase() == "Pending"
    assert "not found" in world.parsed_status.message
    world = World()
    assert world.release is not None
    world.release.ready_at = T0 + timedelta(minutes=5)
    world.reconcile()
    assert world.phase() == "Pending"
    assert "Ready" in world.parsed_status.message
    world.run()
    assert world.phase() == "Promoted"


def test_an_unknown_workload_fails_naming_the_field() -> None:
    world = World(raw_spec=spec(workloads=["web", "worker"]))
    world.reconcile()
    status = world.parsed_status
    assert world.phase() == "Failed"
    assert "spec.workloads[1]" in status.message
    assert "worker" in status.message
    assert world.copies == {}
    # Fixing the spec starts it again
    world.raw_spec = spec(workloads=["web"])
    world.generation += 1
    world.run()
    assert world.phase() == "Promoted"


def test_an_invalid_spec_fails_a_pending_canary_and_holds_a_running_one() -> None:
    pending = World(raw_spec=spec(steps=[{"weight": 101}]))
    pending.reconcile()
    assert pending.phase() == "Failed"
    assert "spec.steps[0].weight" in pending.parsed_status.message
    running = World().run(until=lambda w: len(w.analyses) == 1)
    running.raw_spec = spec(steps="nope")
    decision = running.reconcile()
    assert running.phase() == "Progressing"
    assert "invalid spec" in running.parsed_status.message
    assert not decision.of(SetRouterWeight)
    assert running.router_weight == 10


def test_changed_canary_values_restart_from_the_first_step() -> None:
    # Given a canary in its second step
    world = World().run(until=lambda w: w.parsed_status.step == 1)
    # When its values change
    world.raw_spec = spec(values={"image": {"tag": "2.1"}})
    world.generation += 1
    decision = world.reconcile()
    # Then traffic is taken off the old copies, new copies are made, and it starts again at step 1
    assert decision.of(ApplyCopies)
    assert decision.of(SetRouterWeight) == [SetRouterWeight(0)]
    assert world.phase() == "Initializing"
    assert world.parsed_status.step == 0
    world.run()
    assert world.phase() == "Promoted"
    assert world.release is not None
    assert world.release.values == {"image": {"tag": "2.1"}}


def test_steps_edited_under_a_running_canary_are_followed() -> None:
    # Given a canary in its second step
    world = World().run(until=lambda w: w.parsed_status.step == 1)
    # When someone removes that step from the spec, the canary goes on from where the new list ends
    world.raw_spec = spec(steps=[{"weight": 10, "duration": "2m"}])
    world.reconcile()
    assert world.phase() == "Promoting"
    world.run()
    assert world.phase() == "Promoted"


def test_deleting_with_an_invalid_spec_removes_the_copies_and_lets_go() -> None:
    world = World().run(until=lambda w: len(w.analyses) == 1)
    world.raw_spec = spec(router={"type": "warp-drive"})
    world.deleting = True
    world.reconcile()
    assert world.copies == {}
    assert world.released
