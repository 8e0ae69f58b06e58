"""Agreement with Kayenta's own test suites: its ClassifierSuite, ScorerSuite and IQR detector cases.

The inputs and expected values of spinnaker/kayenta's kayenta-judge tests are
transcribed as facts (``data/kayenta_classifier_suite.json`` for the classifier;
the scorer and detector cases below); ``canary.analysis.kayenta`` must give
Kayenta's answer on every Mann-Whitney classifier case and every scorer case.
The three MeanInequalityClassifier cases are recorded in the data but not run:
that classifier (Kayenta's benchmarking baseline) is not offered here.  Also
pinned: the p01/p99 guard keeps a slow tail that plain Tukey fences delete (in the
judge's ``removeOutliers`` too), the CLES effect defaults to Kayenta's 0.5, ties at
the bound are decided by the rank-sum test there, and the head of the agreement
sweep agrees with a root-finding reference of Kayenta's classifier.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.analysis.kayenta_sweep import make_case, reference
from canary.analysis.evidence import prepare_samples
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
from canary.analysis.policy import parse_policy
from canary.analysis.verdicts import Classification, Direction, ScoreVerdict

SUITE = json.loads((Path(__file__).parent / "data" / "kayenta_classifier_suite.json").read_text())
MANN_WHITNEY = [case for case in SUITE["cases"] if case["classifier"] == "mann-whitney"]
LABELS = {"Pass": Classification.PASS, "High": Classification.HIGH, "Low": Classification.LOW}
LABELS["Nodata"] = Classification.NO_DATA


def _settings(case: dict[str, Any]) -> KayentaSettings:
    effect = case["effect_thresholds"] or [None, None]
    critical = case["critical_thresholds"] or [None, None]
    return KayentaSettings(
        direction=Direction(case["direction"]),
        confidence=case["confidence"],
        tolerance=case["tolerance"],
        allowed_decrease=effect[0],
        allowed_increase=effect[1],
        critical_decrease=critical[0],
        critical_increase=critical[1],
        effect_measure=EffectMeasure(case["effect_measure"]),
        nan_strategy=NaNStrategy(case["nan_strategy"]),
        critical=case["critical"],
    )


def test_the_suite_was_transcribed_whole() -> None:
    assert "spinnaker/kayenta" in SUITE["source"]
    assert len(SUITE["cases"]) == 37
    assert len(MANN_WHITNEY) == 34


@pytest.mark.parametrize("case", MANN_WHITNEY, ids=[case["name"] for case in MANN_WHITNEY])
def test_classifier_suite_case(case: dict[str, Any]) -> None:
    result = classify(np.array(case["experiment"]), np.array(case["control"]), _settings(case))
    expected = case["expected"]
    if "classification" in expected:
        assert result.classification is LABELS[expected["classification"]]
    if "critical" in expected:
        assert result.critical_deviation is expected["critical"]
    if expected.get("deviation") == "NaN":
        assert math.isnan(result.deviation)
    elif "deviation" in expected:
        assert result.deviation == expected["deviation"]
    if expected.get("reason") == "non-empty":
        assert result.reason


def _metric(label: str, group: str = "test-group", critical: bool = False) -> ScoredMetric:
    return ScoredMetric(label.lower(), LABELS[label], (group,), critical)


# ScorerSuite: (case, metrics, group weights, expected summary score, expected sorted group scores or None).
SCORER_SUITE = [
    ("Single Metric Pass", [_metric("Pass")], {}, 100.0, None),
    ("Single Metric Fail", [_metric("High")], {}, 0.0, None),
    ("Single group Nodata", [_metric("Nodata", "test-group-nodata")], {}, 0.0, [0.0]),
    (
        "Two Groups, one Pass, one Nodata",
        [
            _metric("Pass", "test-group-pass"),
            _metric("Pass", "test-group-pass"),
            _metric("Nodata", "test-group-nodata"),
        ],
        {},
        100.0,
        [0.0, 100.0],
    ),
    ("One Group, Two Metrics", [_metric("Pass"), _metric("High")], {}, 50.0, None),
    ("One Group, Three Metrics", [_metric("Pass"), _metric("High"), _metric("Low")], {}, 33.33, None),
    (
        "Two Groups, Three Metrics",
        [_metric("Pass", "group-1"), _metric("Pass", "group-1"), _metric("High", "group-2")],
        {"group-1": 75.0, "group-2": 25.0},
        75.0,
        None,
    ),
    (
        "Two Groups, Three Metrics (Equal Weight)",
        [_metric("Pass", "group-1"), _metric("High", "group-1"), _metric("High", "group-2")],
        {"group-1": 50.0, "group-2": 50.0},
        25.0,
        None,
    ),
    (
        "Two Groups, Three Metrics (Equal Weight), one NoData",
        [_metric("Pass", "group-1"), _metric("Nodata", "group-1"), _metric("High", "group-2")],
        {"group-1": 50.0, "group-2": 50.0},
        50.0,
        None,
    ),
    (
        "Two Metrics, one good (normal), one fail (critical)",
        [_metric("Pass"), _metric("High", critical=True)],
        {},
        0.0,
        None,
    ),
    (
        "Two Metrics, one low (normal), one good (critical)",
        [_metric("Low"), _metric("Pass", critical=True)],
        {},
        50.0,
        None,
    ),
    (
        "Two Metrics, one good (normal), one nodata (critical)",
        [_metric("Pass"), _metric("Nodata", critical=True)],
        {},
        0.0,
        None,
    ),
    (
        "Two Groups (Unequal Weight), Four Metrics",
        [_metric("High", "group1"), _metric("Low", "group1"), _metric("Pass", "group1"), _metric("High", "group2")],
        {"group1": 15.0, "group2": 85.0},
        5.0,
        None,
    ),
]


@pytest.mark.parametrize(
    ("name", "metrics", "weights", "score", "groups"), SCORER_SUITE, ids=[c[0] for c in SCORER_SUITE]
)
def test_scorer_suite_case(
    name: str, metrics: list[ScoredMetric], weights: dict[str, float], score: float, groups: list[float] | None
) -> None:
    result = weighted_score(metrics, weights)
    assert result.score == score, name
    if groups is not None:
        assert sorted(result.group_scores.values()) == groups


def test_half_or_more_no_data_scores_zero_and_muted_metrics_do_not_count() -> None:
    half = [_metric("Pass", "a"), _metric("Nodata", "b")]
    assert weighted_score(half).too_much_no_data
    assert weighted_score(half).score == 0.0
    third = [*half, _metric("Pass", "a")]
    assert weighted_score(third).score == 100.0  # the no-data group counts as 100
    muted = [*half, ScoredMetric("muted", Classification.NO_DATA, ("b",), muted=True)]
    assert weighted_score(muted).score == 0.0
    quiet = [_metric("Pass", "a"), _metric("Pass", "a"), ScoredMetric("m", Classification.HIGH, ("a",), muted=True)]
    assert weighted_score(quiet).score == 100.0


def test_missing_required_data_counts_against_its_group_not_as_no_data() -> None:
    settings = KayentaSettings(must_have_data=True)
    missing = classify(np.array([]), np.array([1.0, 2.0]), settings)
    assert missing.classification is Classification.NO_DATA
    assert missing.data_required
    assert not missing.critical_deviation
    result = weighted_score([_metric("Pass"), missing.scored("required")])
    assert not result.too_much_no_data
    assert result.score == 50.0
    assert result.verdict is ScoreVerdict.FAIL


# The NIST data set of the DetectorSuite ("IQR NIST Test"): only its largest value is an outlier.
NIST_TEXT = (
    "30 171 184 201 212 250 265 270 272 289 305 306 322 322 336 346 "
    "351 370 390 404 409 411 436 437 439 441 444 448 451 453 470 480 "
    "482 487 494 495 499 503 514 521 522 527 548 550 559 560 570 572 "
    "574 578 585 592 592 607 616 618 621 629 637 638 640 656 668 707 "
    "709 719 737 739 752 758 766 792 792 794 802 818 830 832 843 858 "
    "860 869 918 925 953 991 1000 1005 1068 1441"
)

# DetectorSuite / TransformSuite IQR cases: Tukey fences at factor 1.5 without the guard.
IQR_CASES = [
    ([21.0, 23.0, 24.0, 25.0, 50.0, 29.0, 23.0, 21.0], [50.0]),
    ([1.0, 1.0, 1.0, 5.0, -1.0, -1.0, -1.0, -5.0], [5.0, -5.0]),
    ([], []),
    (
        [float(v) for v in NIST_TEXT.split()],
        [1441.0],
    ),
]


@pytest.mark.parametrize(("data", "outliers"), IQR_CASES)
def test_detector_suite_iqr_cases(data: list[float], outliers: list[float]) -> None:
    values = np.array(data)
    kept = remove_outliers(values, 1.5, guard=False)
    assert kept.tolist() == [v for v in data if v not in outliers]


def test_transform_suite_nan_cases() -> None:
    assert clean(np.array([0.0, 1.0, math.nan, 1.0, 0.0]), NaNStrategy.REMOVE).tolist() == [0.0, 1.0, 1.0, 0.0]
    assert clean(np.array([math.nan] * 3), NaNStrategy.REMOVE).tolist() == []
    replaced = clean(np.array([math.nan, 10.10, 20.20, 30.30, math.nan, 40.40]), NaNStrategy.REPLACE)
    assert replaced.tolist() == [0.0, 10.10, 20.20, 30.30, 0.0, 40.40]


def _slow_tail() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(8)
    baseline = rng.lognormal(0.0, 0.25, 2000)
    canary = rng.lognormal(0.0, 0.25, 2000)
    slow = rng.random(2000) < 0.08
    canary[slow] *= 6.0  # 8% of requests six times slower
    return canary, baseline


def test_the_percentile_guard_keeps_a_slow_tail_that_tukey_fences_delete() -> None:
    canary, baseline = _slow_tail()
    tukey = remove_outliers(np.sort(canary), 3.0, guard=False)
    guarded = remove_outliers(np.sort(canary), 3.0)
    assert len(canary) - len(tukey) > 0.07 * len(canary)  # plain fences delete the tail
    assert len(canary) - len(guarded) <= 0.011 * len(canary)  # the guard removes at most ~1%
    settings = KayentaSettings(direction=Direction.INCREASE, outlier_factor=3.0)
    assert classify(canary, baseline, settings).classification is Classification.HIGH


def test_the_judges_outlier_removal_keeps_the_slow_tail_too() -> None:
    canary, _ = _slow_tail()
    spec = {"type": "distribution", "test": "mann-whitney", "queries": {"samples": "s"}, "removeOutliers": True}
    policy = parse_policy(
        {"apiVersion": "rudder.dev/v1alpha1", "kind": "ClusterMetricPolicy", "metadata": {"name": "p"}, "spec": spec}
    )
    kept = prepare_samples(canary, policy)
    assert len(canary) - len(kept) <= 0.011 * len(canary)
    tail = np.count_nonzero(canary > 3.0)
    assert tail > 0.06 * len(canary)
    assert np.count_nonzero(kept > 3.0) >= tail - 0.011 * len(canary)


def test_guard_never_removes_more_than_plain_fences() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        values = np.sort(rng.lognormal(0.0, rng.uniform(0.1, 2.0), int(rng.integers(1, 300))))
        assert len(remove_outliers(values, 3.0)) >= len(remove_outliers(values, 3.0, guard=False))


def test_cles_effect_defaults_to_kayentas_half() -> None:
    rng = np.random.default_rng(11)
    baseline = rng.normal(100.0, 10.0, 300)
    canary = rng.normal(105.0, 10.0, 300)
    result = classify(canary, baseline, KayentaSettings(effect_measure=EffectMeasure.CLES))
    assert 0.5 < result.effect < 0.7
    assert result.classification is Classification.HIGH
    assert KayentaSettings(effect_measure=EffectMeasure.CLES).effect(None) == 0.5
    assert KayentaSettings().effect(None) == 1.0


def test_tied_data_with_a_zero_estimate_is_judged_by_the_rank_sum_test_at_the_bound() -> None:
    # More than half of the pairwise differences are 0, so the estimate and the bound are 0;
    # the canary is still clearly higher (Kayenta's "High Metric (Large Input)" in miniature).
    baseline = np.array([0.0] * 90 + [1.0] * 10)
    canary = np.array([0.0] * 60 + [1.0] * 40)
    result = classify(canary, baseline, KayentaSettings(tolerance=0.1, confidence=0.95))
    assert result.shift is not None
    assert result.shift.estimate == 0.0
    assert result.classification is Classification.HIGH
    assert classify(baseline, baseline[::-1].copy(), KayentaSettings()).classification is Classification.PASS


def test_agrees_with_a_root_finding_reference_of_kayentas_classifier() -> None:
    # The fast version of bench/analysis/kayenta_sweep.py: with a tight solver tolerance the
    # reference's interval ends are the exact ones, and every case of the seeded sweep's head agrees.
    rng, noise = np.random.default_rng(20261202), np.random.default_rng(20261203)
    for _ in range(40):
        case = make_case(rng)
        ours = classify(case.canary, case.baseline, case.settings).classification
        assert ours is Classification(reference(case.canary, case.baseline, case.settings, noise, 1e-12))


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(5, 120), st.integers(5, 120), st.floats(-1.5, 1.5))
def test_without_ties_the_decision_is_the_intervals(seed: int, n: int, m: int, shift: float) -> None:
    # Continuous data: "the test at the bound rejects" is exactly "the interval's end lies beyond the bound".
    rng = np.random.default_rng(seed)
    canary, baseline = rng.normal(shift, 1.0, n), rng.normal(0.0, 1.0, m)
    free = KayentaSettings(effect_measure=EffectMeasure.CLES, allowed_increase=0.0, allowed_decrease=1.0)
    result = classify(canary, baseline, free)
    assert result.shift is not None
    bound = free.tolerance * abs(result.shift.estimate)
    expected = Classification.PASS
    if result.shift.ci_low > bound:
        expected = Classification.HIGH
    elif result.shift.ci_high < -bound:
        expected = Classification.LOW
    assert result.classification is expected
