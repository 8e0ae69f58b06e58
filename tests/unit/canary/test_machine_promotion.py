"""The state machine's happy paths: a good version walks every step and is promoted through the Release, in
the documented order (Release written -> Release Ready -> all traffic to primary -> copies deleted ->
Promoted), with pause steps, timed pauses and `autoPromote: false` holding it where they should."""

from __future__ import annotations

from datetime import timedelta

from canary.domain.actions import DeleteCopies, FinalizeRouter, PatchStatus, PromoteRelease, RunAnalysis
from canary.domain.machine import decide
from canary.domain.status import rollback_reason
from canary.models import Phase, Verdict
from tests.unit.canary.world import World, in_phase, spec


def test_good_version_is_promoted_through_all_steps() -> None:
    # Given a canary of two analysed steps and a judge that passes everything
    world = World()
    # When the controller runs it to the end
    world.run()
    # Then the Release is at revision N+1, promoted from this canary, and nothing of the canary is left
    assert world.phase() == "Promoted"
    assert world.release is not None
    assert (world.release.revision, world.release.promoted_from) == (5, "shop-v2")
    assert world.release.values == {"image": {"tag": "2.0"}}
    assert world.copies == {}
    assert world.router_weight == 0
    # And every step's weight was held, then all traffic went back to the (now new) primary
    assert world.weights == [0, 10, 50, 0]
    status = world.parsed_status
    assert (status.stable_revision, status.promoted_revision, status.weight) == (4, 5, 0)
    assert status.verdict is Verdict.PASS
    # And each 2m step was analysed every 30s, and the history says so
    assert [a.step for a in world.analyses] == [0] * 4 + [1] * 4
    assert [(r.step, r.weight) for r in status.analysis] == [(0, 10)] * 4 + [(1, 50)] * 4
    assert world.reasons() == [
        "Forking",
        "StepStarted",
        "StepStarted",
        "StepsCompleted",
        "ReleasePromoted",
        "Promoted",
    ]
    promoted = status.condition("Promoted")
    assert promoted is not None
    assert promoted.status == "True"


def test_promotion_happens_in_order() -> None:
    # Given a canary whose steps have all passed
    world = World().run(until=in_phase("Promoting"))
    assert world.release is not None
    assert world.release.revision == 4
    # When the controller promotes, the first thing it does is write the canary's values into the Release
    first = world.reconcile()
    assert [type(a) for a in first.actions][:1] == [PromoteRelease]
    assert world.release.values == {"image": {"tag": "2.0"}}
    # Then while the new revision is not Ready, traffic stays where it is and the copies stay
    world.now += timedelta(seconds=5)
    waiting = world.reconcile()
    assert not waiting.of(FinalizeRouter)
    assert not waiting.of(DeleteCopies)
    assert not waiting.of(PromoteRelease)
    assert world.router_weight == 50
    assert world.copies
    # When the Release is Ready, all traffic goes to the primary first, recorded with the promoted revision
    world.now += timedelta(seconds=30)
    shifted = world.reconcile()
    assert [type(a) for a in shifted.actions][:2] == [FinalizeRouter, PatchStatus]
    assert world.parsed_status.promoted_revision == 5
    assert world.copies
    # Then the copies are deleted, and only then is the canary Promoted
    deleted = world.reconcile()
    assert deleted.of(DeleteCopies)
    assert world.phase() == "Promoting"
    world.reconcile()
    assert world.phase() == "Promoted"
    assert world.promote_calls == 1


def test_promoted_canary_does_nothing_more() -> None:
    world = World().run()
    decision = decide(world.observe(), world.now + timedelta(hours=1))
    assert decision.actions == ()


def test_pause_step_waits_for_a_resume_then_continues() -> None:
    # Given a pause between two steps
    world = World(
        raw_spec=spec(steps=[{"weight": 10, "duration": "1m"}, {"pause": {}}, {"weight": 50, "duration": "1m"}])
    )
    world.run(until=in_phase("Paused"))
    status = world.parsed_status
    assert (status.step, status.weight, status.paused_reason) == (1, 10, "PauseStep")
    # When a long time passes, nothing moves and nothing is analysed
    analysed = len(world.analyses)
    world.now += timedelta(hours=2)
    world.reconcile()
    assert world.phase() == "Paused"
    assert len(world.analyses) == analysed
    # When a person resumes, the canary goes on to the next step and is promoted
    world.annotate("resume")
    world.run()
    assert world.phase() == "Promoted"
    assert world.weights == [0, 10, 50, 0]


def test_timed_pause_resumes_by_itself() -> None:
    world = World(
        raw_spec=spec(steps=[{"weight": 10, "duration": "1m"}, {"pause": {"duration": "5m"}}, {"weight": 20}])
    )
    world.run(until=in_phase("Paused"))
    paused_at = world.parsed_status.step_started_at
    assert paused_at is not None
    world.run(until=in_phase("Progressing"))
    assert timedelta(minutes=5) <= world.now - paused_at <= timedelta(minutes=6)
    world.run()
    assert world.phase() == "Promoted"


def test_auto_promote_false_pauses_before_promoting_until_promote() -> None:
    # Given autoPromote false
    world = World(raw_spec=spec(autoPromote=False))
    # When every step passes
    world.run(until=in_phase("Paused", "Promoting"))
    # Then it waits for a person, without touching the Release
    status = world.parsed_status
    assert world.phase() == "Paused"
    assert status.paused_reason == "AwaitingPromotion"
    assert status.step == 2
    assert world.release is not None
    assert world.release.revision == 4
    world.now += timedelta(hours=1)
    world.reconcile()
    assert world.phase() == "Paused"
    # When a person promotes, it is promoted
    world.annotate("promote")
    world.run()
    assert world.phase() == "Promoted"
    assert world.release.revision == 5


def test_no_analysis_holds_each_step_for_its_duration() -> None:
    world = World(raw_spec=spec(analysis=None))
    started = world.now
    world.run(until=in_phase("Promoting"))
    assert world.analyses == []
    assert world.now - started >= timedelta(minutes=4)


def test_a_step_is_analysed_at_least_once_even_when_shorter_than_the_interval() -> None:
    world = World(raw_spec=spec(steps=[{"weight": 10, "duration": "5s"}]))
    world.run(until=in_phase("Promoting"))
    assert len(world.analyses) == 1


def test_analysis_window_covers_the_current_step() -> None:
    world = World().run(until=lambda w: len(w.analyses) == 5)
    step_start = world.parsed_status.step_started_at
    last: RunAnalysis = world.analyses[-1]
    assert (last.step, last.weight, last.since) == (1, 50, step_start)
    # Each analysis is numbered as a look of the canary's one sequential test: two steps of 2m every 30s
    # plan 4 looks each, 8 in all, and the second step's looks continue the count.
    assert [(a.look.number, a.look.planned, a.look.extension) for a in world.analyses] == [
        (1, 8, 0), (2, 8, 0), (3, 8, 0), (4, 8, 0), (5, 8, 0)]


def test_failed_promotion_restores_the_stable_revision() -> None:
    # Given a Release whose new revision will fail
    world = World().run(until=in_phase("Promoting"))
    assert world.release is not None
    world.release.fail_next = True
    # When the promotion is attempted
    world.run()
    # Then the canary rolls back and the Release is restored to the stable revision exactly
    assert world.phase() == "RolledBack"
    assert rollback_reason(world.parsed_status) == "PromotionFailed"
    assert world.release.revision == 4
    assert world.release.values == {"image": {"tag": "1.0"}}
    assert world.copies == {}
    assert world.router_weight == 0
    assert world.restore_calls == 1


def test_release_never_ready_after_promotion_rolls_back_at_the_deadline() -> None:
    world = World().run(until=in_phase("Promoting"))
    assert world.release is not None
    world.release.ready_delay = timedelta(days=1)
    promoting_since = world.now
    world.run()
    assert world.phase() == "RolledBack"
    assert rollback_reason(world.parsed_status) == "PromotionDeadlineExceeded"
    assert world.now - promoting_since >= timedelta(minutes=10)
    assert world.release.revision == 4


def test_statuses_record_phase_progress() -> None:
    world = World()
    phases: list[Phase] = []
    while world.phase() != "Promoted":
        world.reconcile()
        if not phases or phases[-1] is not world.parsed_status.phase:
            phases.append(world.parsed_status.phase)
        world.now += timedelta(seconds=10)
    assert phases == [Phase.INITIALIZING, Phase.PROGRESSING, Phase.PROMOTING, Phase.PROMOTED]


def test_promoting_values_the_release_already_has_makes_no_new_revision() -> None:
    # Given a canary whose values are the Release's own (a re-run of the same version)
    world = World(raw_spec=spec(values={"image": {"tag": "1.0"}}))
    # When it passes every step
    world.run()
    # Then it is promoted at the stable revision without waiting for a revision that will never come
    assert world.phase() == "Promoted"
    assert world.parsed_status.promoted_revision == 4
    assert world.release is not None
    assert sorted(world.release.history) == [4]
    assert world.promote_calls == 0


def test_each_timed_pause_runs_its_full_duration() -> None:
    steps = [{"weight": 10, "duration": "1m"}, {"pause": {"duration": "3m"}}, {"pause": {"duration": "4m"}}]
    world = World(raw_spec=spec(steps=steps))
    world.run(until=lambda w: w.parsed_status.step == 1)
    first = world.parsed_status.step_started_at
    world.run(until=lambda w: w.parsed_status.step == 2)
    second = world.parsed_status.step_started_at
    world.run(until=in_phase("Promoting"))
    assert first is not None
    assert second is not None
    assert second - first >= timedelta(minutes=3)
    assert world.now - second >= timedelta(minutes=4)
