"""One alpha budget per canary (issue 10, defect 3).

Pins down: the looks of all weight steps of a canary are numbered in one sequence (planned looks = the sum
over weight steps of ceil(duration / interval)), so the alphas of every look of a whole canary, planned looks
and any number of extension looks, add up to at most the policy's alpha; a canary with a single planned look
keeps the reserve for its extensions instead of spending alpha at look 1 and again afterwards; the controller's
domain numbers looks from the spec and status alone (the same look after a restart) and continues the count
across steps; ``Look()`` (the offline judge) still tests at the full alpha; a look whose alpha underflows
(O'Brien-Fleming-type spending's first look, about 1e-20) is judged without error and fails nothing that small
a level would not.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from canary.analysis import Look, Measurement, MetricPolicy, Observation, evaluate_metric, judge_metric, parse_policy
from canary.analysis import Verdict as MetricVerdict
from canary.analysis.sequential import CanaryLooks, SpendingFunction
from canary.domain.actions import RunAnalysis
from canary.domain.verdicts import canary_looks
from canary.models import Verdict
from tests.unit.canary.world import World, in_phase, spec

ALPHA = 0.02


def _canary_total(looks: CanaryLooks, extensions: int) -> float:
    total = 0.0
    for step, planned in enumerate(looks.planned_per_step):
        total += sum(looks.look(step, k).alpha(ALPHA) for k in range(1, planned + extensions + 1))
    return total


@pytest.mark.parametrize("function", list(SpendingFunction))
@pytest.mark.parametrize("durations", [[300, 300, 300], [30], [60, 600, 1800], [10, 10, 10, 10]])
def test_a_whole_canary_spends_at_most_alpha(function: SpendingFunction, durations: list[float]) -> None:
    looks = CanaryLooks.of(durations, 60.0, function)
    planned_only = _canary_total(looks, 0)
    assert planned_only == pytest.approx(ALPHA * 0.9, rel=1e-9)  # the reserve is held back
    assert _canary_total(looks, 60) <= ALPHA * (1 + 1e-12)


def test_steps_do_not_restart_the_budget() -> None:
    # Three steps of 5 looks: the first look of step 2 is look 6 of 15, not look 1 of 5 again.
    looks = CanaryLooks.of([300, 300, 300], 60.0)
    assert looks.planned == 15
    second = looks.look(1, 1)
    assert (second.number, second.planned, second.extension) == (6, 15, 0)
    # Each step alone spends a fraction of alpha, never alpha again (the defect: S steps spent S x alpha).
    per_step = [sum(looks.look(s, k).alpha(ALPHA) for k in range(1, 6)) for s in range(3)]
    assert all(spent < ALPHA / 2 for spent in per_step)


def test_one_planned_look_keeps_the_reserve_for_extensions() -> None:
    # A step shorter than the interval plans one look; before, it spent alpha there and more on every
    # extension (1.71 x alpha).
    looks = CanaryLooks.of([30], 60.0)
    assert looks.look(0, 1).alpha(ALPHA) == pytest.approx(0.9 * ALPHA)
    extensions = [looks.look(0, k).alpha(ALPHA) for k in range(2, 12)]
    assert extensions[0] == pytest.approx(0.05 * ALPHA)
    assert sum(extensions) < 0.1 * ALPHA


def test_extension_looks_draw_on_their_steps_share_of_the_reserve() -> None:
    looks = CanaryLooks.of([120, 360], 60.0)  # 2 + 6 planned looks
    first = looks.look(0, 3)
    assert (first.number, first.extension, first.reserve_share) == (2, 1, pytest.approx(0.25))
    assert first.alpha(ALPHA) == pytest.approx(ALPHA * 0.1 * 0.25 * 0.5)


def test_looks_are_numbered_from_elapsed_time_by_whole_intervals() -> None:
    looks = CanaryLooks.of([300], 60.0)
    assert [looks.look_at(0, t, 60.0).number for t in (60.0, 119.9, 121.0, 180.5, 299.0)] == [1, 1, 2, 3, 4]
    late = looks.look_at(0, 430.0, 60.0)
    assert (late.number, late.extension) == (5, 2)


def test_the_offline_judge_tests_at_the_full_alpha() -> None:
    assert Look().alpha(ALPHA) == pytest.approx(ALPHA)
    assert Look(1, 1).alpha(ALPHA) == pytest.approx(ALPHA)


def _extending_judge() -> tuple[list[RunAnalysis], object]:
    """Inconclusive for the first two looks past each step's plan (so the step extends twice), else Pass."""
    runs: list[RunAnalysis] = []
    extended: Counter[int] = Counter()

    def judge(run: RunAnalysis) -> Verdict:
        runs.append(run)
        if run.look.extension > 0 or (run.until - run.since).total_seconds() >= 120:
            extended[run.step] += 1
            if extended[run.step] <= 2:
                return Verdict.INCONCLUSIVE
        return Verdict.PASS

    return runs, judge


def test_the_controller_spends_one_budget_over_steps_and_extensions() -> None:
    runs, judge = _extending_judge()
    raw = spec(
        steps=[{"weight": 5, "duration": "2m"}, {"weight": 10, "duration": "2m"}, {"weight": 50, "duration": "2m"}],
        analysis={"interval": "30s", "metrics": [{"policy": "http-error-rate"}], "failureLimit": 0,
                  "onInconclusive": "extend", "maxExtensions": 3},
    )
    World(raw_spec=raw, judge=judge).run(until=in_phase("Promoting"))  # type: ignore[arg-type]
    assert {r.look.planned for r in runs} == {12}
    planned = [r.look.number for r in runs if r.look.extension == 0]
    assert planned == list(range(1, 13))  # one sequence across the three steps
    assert sum(1 for r in runs if r.look.extension > 0) >= 3  # every step extended
    assert sum(r.look.alpha(ALPHA) for r in runs) <= ALPHA


def test_a_look_is_derived_from_spec_and_status_alone() -> None:
    # What the controller keeps in status (step index, step start) and the look's time fix the look: a restarted
    # controller, which has nothing else, numbers it the same.
    runs: list[RunAnalysis] = []

    def judge(run: RunAnalysis) -> Verdict:
        runs.append(run)
        return Verdict.PASS

    world = World(judge=judge).run(until=lambda w: len(runs) >= 6)
    parsed = world.spec()
    assert not isinstance(parsed, Exception) and parsed.analysis is not None
    budget = canary_looks(parsed.steps, parsed.analysis)
    for run in runs:
        elapsed = (run.until - run.since).total_seconds()
        assert run.look == budget.look_at(run.step, elapsed, parsed.analysis.interval)


def _policy(spec: dict[str, object]) -> MetricPolicy:
    return parse_policy({"apiVersion": "rudder.dev/v1alpha1", "kind": "ClusterMetricPolicy",
                         "metadata": {"name": "tiny-alpha"}, "spec": spec})


def test_a_look_whose_alpha_underflows_is_judged() -> None:
    look = CanaryLooks.of([300.0] * 3, 60.0, SpendingFunction.OBRIEN_FLEMING).look(0, 1)
    assert 0.0 < look.alpha(ALPHA) < 1e-15  # 1 - 2 alpha == 1.0 in floating point
    rng = np.random.default_rng(3)
    latency = _policy({"type": "distribution", "test": "mann-whitney", "queries": {"samples": "s"},
                       "minSamples": 10})
    slower = evaluate_metric(latency, Observation.of(samples=Measurement.of(1.5 * rng.lognormal(0.0, 0.5, 200))),
                             Observation.of(samples=Measurement.of(rng.lognormal(0.0, 0.5, 200))))
    result = judge_metric(slower, look)
    assert result.verdict is MetricVerdict.INCONCLUSIVE  # p of about 1e-12 is not below 1e-20
    assert result.to_dict()["intervalConfidence"] < 1.0
    errors = _policy({"type": "ratio", "test": "proportion", "queries": {"errors": "e", "total": "t"}})
    same = evaluate_metric(errors, Observation.of(errors=Measurement.of([10.0]), total=Measurement.of([1000.0])),
                           Observation.of(errors=Measurement.of([10.0]), total=Measurement.of([1000.0])))
    assert judge_metric(same, look).verdict is not MetricVerdict.ERROR
