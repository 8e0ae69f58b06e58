"""How analysis verdicts steer a canary: a regression rolls back at the first analysed step with the failing
metric named; `failureLimit` and critical metrics; Inconclusive and NoData handled per `onInconclusive`
(pause, rollback, extend with a bound); provider Errors never counted as failures but never promoting either;
and the bounded, newest-last analysis history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from canary.domain.actions import RunAnalysis
from canary.domain.machine import decide
from canary.domain.observed import AnalysisOutcome
from canary.domain.status import rollback_reason
from canary.models import ANALYSIS_HISTORY_LIMIT, AnalysisRecord, MetricResult, Verdict
from tests.unit.canary.world import T0, World, always, in_phase, spec


def analysis(**overrides: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "interval": "30s",
        "metrics": [{"policy": "http-error-rate"}],
        "failureLimit": 0,
    }
    raw.update(overrides)
    return raw


def promoted_or_touched(world: World) -> bool:
    return world.release is not None and (world.release.revision != 4 or world.promote_calls > 0)


def test_error_rate_regression_is_rolled_back_at_the_first_analysed_step() -> None:
    # Given a canary whose error rate is worse than the baseline's
    world = World(judge=always(Verdict.FAIL))
    # When it runs
    world.run()
    # Then the first analysis of the first step rolls it back
    status = world.parsed_status
    assert world.phase() == "RolledBack"
    assert len(world.analyses) == 1
    assert world.analyses[0].step == 0
    # And the reason and the failing metric are in status
    promoted = status.condition("Promoted")
    assert promoted is not None
    assert (promoted.status, promoted.reason) == ("False", "AnalysisFailed")
    assert "http-error-rate" in status.message
    assert "http-error-rate" in promoted.message
    assert status.verdict is Verdict.FAIL
    assert status.failures == 1
    # And traffic went back to the primary before the copies went; the Release never moved
    assert world.weights == [0, 10, 0]
    assert world.copies == {}
    assert not promoted_or_touched(world)
    assert world.reasons()[-2:] == ["AnalysisFailed", "AnalysisFailed"]


def test_failure_limit_tolerates_that_many_failed_analyses() -> None:
    # Given failureLimit 1 and a judge that fails every other analysis
    verdicts = iter([Verdict.FAIL, Verdict.PASS, Verdict.PASS, Verdict.PASS, Verdict.FAIL])
    world = World(raw_spec=spec(analysis=analysis(failureLimit=1)), judge=lambda _run: next(verdicts))
    # When it runs
    world.run()
    # Then the second failure (in the second step) rolls it back
    assert world.phase() == "RolledBack"
    assert [a.step for a in world.analyses] == [0, 0, 0, 0, 1]
    assert world.parsed_status.failures == 2


def test_a_failed_critical_metric_rolls_back_whatever_the_failure_limit() -> None:
    def judge(run: RunAnalysis) -> AnalysisOutcome:
        record = AnalysisRecord(time=T0, step=run.step, weight=run.weight, verdict=Verdict.FAIL)
        return AnalysisOutcome(record=record, failed_metric="http-latency-p99", critical=True)

    world = World(raw_spec=spec(analysis=analysis(failureLimit=5)), judge=judge)
    world.run()
    assert world.phase() == "RolledBack"
    assert len(world.analyses) == 1
    assert "http-latency-p99" in world.parsed_status.message


@pytest.mark.parametrize("verdict", [Verdict.INCONCLUSIVE, Verdict.NO_DATA])
def test_inconclusive_with_pause_pauses_and_never_promotes(verdict: Verdict) -> None:
    # Given no traffic at all, so the judge cannot conclude
    world = World(judge=always(verdict))
    # When it runs for a long time
    world.run(until=in_phase("Paused"))
    world.now += timedelta(hours=3)
    world.run(until=lambda w: w.now > T0 + timedelta(hours=4))
    # Then it holds the step for its full duration (4 looks, data accumulating), then waits for a person
    # at the step it could not judge, and never promotes
    status = world.parsed_status
    assert world.phase() == "Paused"
    assert status.paused_reason == "Inconclusive"
    assert status.verdict is verdict
    assert status.step == 0
    assert len(world.analyses) == 4
    assert not promoted_or_touched(world)


def test_inconclusive_with_rollback_rolls_back() -> None:
    world = World(raw_spec=spec(analysis=analysis(onInconclusive="rollback")), judge=always(Verdict.INCONCLUSIVE))
    world.run()
    assert world.phase() == "RolledBack"
    assert rollback_reason(world.parsed_status) == "Inconclusive"
    assert not promoted_or_touched(world)


def test_inconclusive_with_extend_extends_the_step_a_bounded_number_of_times() -> None:
    # Given extend with at most 2 extensions and a judge that never concludes
    world = World(
        raw_spec=spec(analysis=analysis(onInconclusive="extend", maxExtensions=2)),
        judge=always(Verdict.NO_DATA),
    )
    # When it runs
    world.run(until=in_phase("Paused", "Promoting", "RolledBack"))
    # Then after the step's 4 looks it analyses again twice more, then stops to ask a person; never promotes
    status = world.parsed_status
    assert world.phase() == "Paused"
    assert status.paused_reason == "ExtensionsExhausted"
    assert len(world.analyses) == 6
    assert status.extensions == 3
    assert not promoted_or_touched(world)


def test_extension_then_pass_completes_the_step() -> None:
    # The step's last analysis must pass, not every one: here the 4th (step end) is NoData, the 5th passes.
    verdicts = iter([Verdict.PASS, Verdict.PASS, Verdict.PASS, Verdict.NO_DATA] + [Verdict.PASS] * 10)
    world = World(raw_spec=spec(analysis=analysis(onInconclusive="extend")), judge=lambda _run: next(verdicts))
    world.run()
    assert world.phase() == "Promoted"
    assert [a.step for a in world.analyses] == [0] * 5 + [1] * 4


@pytest.mark.parametrize(("policy", "phase"), [("pause", "Paused"), ("rollback", "RolledBack"), ("extend", "Paused")])
def test_provider_errors_pause_or_roll_back_and_never_promote(policy: str, phase: str) -> None:
    # Given Prometheus is unreachable, so every analysis is an Error
    world = World(raw_spec=spec(analysis=analysis(onInconclusive=policy)), judge=always(Verdict.ERROR))
    # When it runs
    world.run(until=in_phase("Paused", "RolledBack", "Promoting"))
    world.run(until=lambda w: w.now > T0 + timedelta(hours=1))
    # Then errors were retried, not counted as failures, and then it paused or rolled back as configured
    status = world.parsed_status
    assert world.phase() == phase
    assert len(world.analyses) == 5
    assert status.failures == 0
    promoted = status.condition("Promoted")
    reason = promoted.reason if phase == "RolledBack" and promoted is not None else status.paused_reason
    assert reason == "AnalysisError"
    assert not promoted_or_touched(world)


def test_a_few_errors_are_retried_and_the_canary_goes_on() -> None:
    verdicts = iter([Verdict.ERROR, Verdict.ERROR, Verdict.PASS] + [Verdict.PASS] * 10)
    world = World(judge=lambda _run: next(verdicts))
    world.run()
    assert world.phase() == "Promoted"


def test_history_is_bounded_and_newest_last_with_per_metric_explanations() -> None:
    metric = MetricResult(
        name="http-error-rate",
        verdict="Pass",
        canary=0.01,
        baseline=0.011,
        p_value=0.4,
        samples={"canary": 120, "baseline": 118},
        query="sum(...)",
    )
    steps = [{"weight": 10, "duration": "1h"}]

    def judge(run: RunAnalysis) -> AnalysisOutcome:
        return AnalysisOutcome(
            record=AnalysisRecord(time=T0, step=run.step, weight=run.weight, verdict=Verdict.PASS, metrics=(metric,))
        )

    world = World(raw_spec=spec(steps=steps), judge=judge)
    world.run(until=lambda w: len(w.analyses) == ANALYSIS_HISTORY_LIMIT + 5)
    history = world.parsed_status.analysis
    assert len(history) == ANALYSIS_HISTORY_LIMIT
    times = [r.time for r in history]
    assert times == sorted(times)
    assert times[-1] == world.parsed_status.last_analysis_at
    assert history[-1].metrics == (metric,)
    assert world.status["analysis"][-1]["metrics"][0]["pValue"] == 0.4


def test_an_outcome_seen_twice_is_counted_once() -> None:
    # After a crash the kube layer could hand the same outcome again: it must not count as a second failure.
    world = World(raw_spec=spec(analysis=analysis(failureLimit=1)), judge=always(Verdict.FAIL))
    world.run(until=lambda w: len(w.analyses) == 1)
    record = world.parsed_status.analysis[-1]
    again = AnalysisOutcome(record=record, failed_metric="http-error-rate")
    decision = decide(world.observe(again), world.now)
    status = decision.status
    assert status is None or status.failures == 1
