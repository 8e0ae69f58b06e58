"""Manual actions through the `rudder.dev/action` annotation: pause, resume, promote, abort, retry. Each is
performed once and the annotation removed; actions that make no sense in the phase are refused with a
Warning event; unknown values are refused the same way."""

from __future__ import annotations

from datetime import timedelta

import pytest

from canary.domain.actions import EmitEvent, EventType, RemoveActionAnnotation, Requeue
from canary.domain.machine import decide
from canary.domain.status import rollback_reason
from tests.unit.canary.world import World, in_phase


def mid_step() -> World:
    """A canary holding its first step, two analyses in."""
    return World().run(until=lambda w: len(w.analyses) == 2)


def test_pause_holds_the_canary_and_resume_restarts_the_step() -> None:
    # Given a canary mid-step
    world = mid_step()
    # When a person pauses it
    world.annotate("pause")
    decision = world.reconcile()
    # Then it is Paused, the annotation is gone, and time no longer moves it forward
    assert world.phase() == "Paused"
    assert world.action is None
    assert isinstance(decision.actions[-1], RemoveActionAnnotation)
    assert world.parsed_status.paused_reason == "ManualPause"
    assert world.parsed_status.last_action == "pause"
    world.now += timedelta(hours=1)
    world.reconcile()
    assert world.phase() == "Paused"
    assert len(world.analyses) == 2
    # When a person resumes it, the step is held again in full before moving on
    world.annotate("resume")
    world.reconcile()
    resumed_at = world.now
    assert world.phase() == "Progressing"
    assert world.action is None
    world.run(until=lambda w: w.parsed_status.step == 1)
    assert world.now - resumed_at >= timedelta(minutes=2)
    world.run()
    assert world.phase() == "Promoted"


def test_promote_skips_the_remaining_steps() -> None:
    world = mid_step()
    world.annotate("promote")
    world.reconcile()
    assert world.phase() == "Promoting"
    assert world.action is None
    world.run()
    assert world.phase() == "Promoted"
    assert world.weights == [0, 10, 0]
    assert world.release is not None
    assert world.release.revision == 5


def test_abort_rolls_back_with_that_reason() -> None:
    world = mid_step()
    world.annotate("abort")
    world.run()
    status = world.parsed_status
    assert world.phase() == "RolledBack"
    assert world.action is None
    assert rollback_reason(status) == "Aborted"
    assert world.copies == {}
    assert world.router_weight == 0
    assert world.release is not None
    assert world.release.revision == 4


def test_abort_mid_promotion_restores_the_release() -> None:
    world = World().run(until=in_phase("Promoting"))
    world.reconcile()  # the canary's values are written into the Release
    world.now += timedelta(seconds=5)
    world.annotate("abort")
    world.run()
    assert world.phase() == "RolledBack"
    assert world.release is not None
    assert world.release.revision == 4
    assert world.release.values == {"image": {"tag": "1.0"}}
    assert world.restore_calls >= 1


def test_retry_starts_a_rolled_back_canary_again() -> None:
    # Given a canary aborted by a person
    world = mid_step()
    world.annotate("abort")
    world.run()
    # When they retry it
    world.annotate("retry")
    world.reconcile()
    # Then it starts from scratch, keeping its analysis history, and can be promoted
    status = world.parsed_status
    assert world.phase() == "Pending"
    assert status.step == 0
    assert status.stable_revision is None
    assert len(status.analysis) == 2
    world.run()
    assert world.phase() == "Promoted"


def test_each_action_is_performed_once() -> None:
    # Given a crash right after a resume was recorded but before the annotation was removed
    world = mid_step()
    world.annotate("pause")
    world.run(until=in_phase("Paused"))
    world.annotate("resume")
    world.reconcile(kill_after=4)  # ReconcileRouter, SetRouterWeight, PatchStatus, EmitEvent; not the removal
    assert world.phase() == "Progressing"
    assert world.action is not None
    started = world.parsed_status.step_started_at
    # When the controller decides again on the same annotation
    world.now += timedelta(seconds=40)
    decision = world.reconcile()
    # Then it only removes the annotation, quietly: the step is not restarted a second time, and an action
    # that was performed is not reported as ignored
    assert not world.action
    assert world.parsed_status.step_started_at == started
    assert decision.of(EmitEvent) == []


@pytest.mark.parametrize(
    ("phase", "action"),
    [
        ("Promoted", "pause"),
        ("Promoted", "abort"),
        ("Promoted", "retry"),
        ("RolledBack", "promote"),
        ("RolledBack", "resume"),
    ],
)
def test_actions_that_do_not_apply_are_refused_and_removed(phase: str, action: str) -> None:
    world = World()
    if phase == "Promoted":
        world.run()
    else:
        world.annotate("abort")
        world.run(until=in_phase("RolledBack"))
    before = world.status
    world.annotate(action)
    decision = world.reconcile()
    assert world.action is None
    assert world.phase() == phase
    assert world.status == before
    [event] = decision.of(EmitEvent)
    assert (event.type, event.reason) == (EventType.WARNING, "ActionIgnored")


def test_an_unknown_action_is_refused_and_removed() -> None:
    world = mid_step()
    world.annotate("yolo")
    decision = decide(world.observe(), world.now)
    # (the step's next look stays due: an action does not stop the clock)
    assert [type(a) for a in decision.actions] == [EmitEvent, RemoveActionAnnotation, Requeue]
    assert decision.of(EmitEvent)[0].reason == "UnknownAction"
    assert decision.of(RemoveActionAnnotation)[0].value == "yolo"


def test_abort_before_start_ends_without_touching_anything() -> None:
    world = World()
    world.annotate("abort")
    world.reconcile()
    assert world.phase() == "RolledBack"
    assert world.copies == {}
    assert world.weights == []
