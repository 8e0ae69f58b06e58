"""Kayenta-compatible preprocessing, classification and scoring.

Pins down Kayenta's rules so teams migrating from it get the same answers: NaN
removal or replacement by zero, IQR outlier fences, NoData on an empty side, Pass
on identical data or a single distinct value, High/Low from the Mann-Whitney
interval against +/- tolerance * |estimate| gated by direction and effect size,
critical deviations, and the weighted group score with critical failures scoring 0 and
no-data groups counting as 100 (Kayenta's agreement on its own suites: test_kayenta_suites.py).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from canary.analysis.kayenta import (
    EffectMeasure,
    KayentaSettings,
    NaNStrategy,
    ScoredMetric,
    classify,
    clean,
    remove_outliers,
    weighted_score,
)
from canary.analysis.verdicts import Classification, Direction, ScoreVerdict

RNG = np.random.default_rng(5)
BASELINE = RNG.normal(100, 10, 200)
HIGHER = RNG.normal(130, 10, 200)
LOWER = RNG.normal(70, 10, 200)


def test_nan_strategies() -> None:
    values = np.array([1.0, math.nan, 3.0])
    assert clean(values, NaNStrategy.REMOVE).tolist() == [1.0, 3.0]
    assert clean(values, NaNStrategy.REPLACE).tolist() == [1.0, 0.0, 3.0]


def test_iqr_fences_drop_only_far_outliers() -> None:
    values = np.array([10.0, 11, 12, 13, 14, 15, 16, 1000])
    assert remove_outliers(values, 3.0).tolist() == [10.0, 11, 12, 13, 14, 15, 16]
    assert remove_outliers(values[:3], 3.0).tolist() == [10.0, 11, 12]


def test_empty_side_is_no_data_and_identical_or_constant_data_pass() -> None:
    settings = KayentaSettings()
    assert classify(np.array([math.nan]), BASELINE, settings).classification is Classification.NO_DATA
    assert classify(BASELINE[::-1], BASELINE, settings).classification is Classification.PASS
    assert classify(np.full(5, 2.0), np.full(9, 2.0), settings).classification is Classification.PASS


@pytest.mark.parametrize(
    ("canary", "direction", "expected"),
    [
        (HIGHER, Direction.INCREASE, Classification.HIGH),
        (HIGHER, Direction.EITHER, Classification.HIGH),
        (HIGHER, Direction.DECREASE, Classification.PASS),
        (LOWER, Direction.DECREASE, Classification.LOW),
        (LOWER, Direction.EITHER, Classification.LOW),
        (LOWER, Direction.INCREASE, Classification.PASS),
        (BASELINE + RNG.normal(0, 0.01, 200), Direction.EITHER, Classification.PASS),
    ],
)
def test_direction_limits_what_is_reported(canary: np.ndarray, direction: Direction, expected: Classification) -> None:
    result = classify(canary, BASELINE, KayentaSettings(direction=direction))
    assert result.classification is expected
    assert result.shift is not None


def test_effect_size_must_reach_the_allowed_increase() -> None:
    within = classify(HIGHER, BASELINE, KayentaSettings(direction=Direction.INCREASE, allowed_increase=1.5))
    assert within.classification is Classification.PASS
    assert within.effect == pytest.approx(np.mean(HIGHER) / np.mean(BASELINE))
    cles = classify(HIGHER, BASELINE, KayentaSettings(effect_measure=EffectMeasure.CLES, allowed_increase=0.9))
    assert cles.classification is Classification.HIGH
    assert cles.effect > 0.9


def test_critical_deviation_needs_a_critical_metric_and_the_critical_increase() -> None:
    mild = KayentaSettings(direction=Direction.INCREASE, critical=True, critical_increase=2.0)
    assert not classify(HIGHER, BASELINE, mild).critical_deviation
    strong = KayentaSettings(direction=Direction.INCREASE, critical=True, critical_increase=1.2)
    assert classify(HIGHER, BASELINE, strong).critical_deviation
    assert not classify(HIGHER, BASELINE, KayentaSettings(critical_increase=1.2)).critical_deviation


def test_weighted_score_with_group_weights_and_thresholds() -> None:
    metrics = [
        ScoredMetric("latency", Classification.HIGH, ("latency",)),
        ScoredMetric("p99", Classification.PASS, ("latency",)),
        ScoredMetric("errors", Classification.PASS, ("errors",)),
        ScoredMetric("cpu", Classification.NO_DATA, ("system",)),
    ]
    result = weighted_score(metrics, {"errors": 60.0})
    # latency group scores 50 and shares the unweighted 40% with the no-data system group, which
    # reports 0 but counts as 100 in the sum (Kayenta: no data is no evidence of harm).
    assert result.group_scores == {"latency": 50.0, "errors": 100.0, "system": 0.0}
    assert result.no_data_groups == ("system",)
    assert result.score == pytest.approx(60.0 + 50.0 * 0.2 + 100.0 * 0.2)
    assert result.verdict is ScoreVerdict.MARGINAL
    assert weighted_score(metrics[:1] + metrics[3:]).verdict is ScoreVerdict.FAIL
    assert weighted_score(metrics[1:3]).verdict is ScoreVerdict.PASS
    assert weighted_score(metrics[:3], pass_threshold=90, marginal_threshold=60).verdict is ScoreVerdict.MARGINAL


def test_a_critical_metric_that_does_not_pass_scores_zero() -> None:
    metrics = [
        ScoredMetric("errors", Classification.NO_DATA, critical=True),
        ScoredMetric("latency", Classification.PASS),
    ]
    result = weighted_score(metrics)
    assert result.critical_failure
    assert result.score == 0.0
    assert result.verdict is ScoreVerdict.FAIL
