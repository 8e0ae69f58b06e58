"""The two-proportion test of error rates agrees with scipy and behaves at zero counts.

Pins down: the p-value equals Pearson's chi-square without Yates' correction (and
R's prop.test(correct=FALSE)); the interval is Newcombe's hybrid score interval
assembled from Wilson intervals (scipy's binomtest as oracle); zero errors on both
sides is p = 1 with a finite interval around 0; zero traffic is refused.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from canary.analysis.proportions import two_proportion_test, wilson_interval


@pytest.mark.parametrize(
    ("e1", "n1", "e2", "n2"),
    [(30, 1000, 10, 1000), (5, 200, 9, 350), (0, 500, 4, 500), (120, 10_000, 100, 10_000), (1, 3, 2, 7)],
)
def test_p_value_equals_uncorrected_chi_square(e1: int, n1: int, e2: int, n2: int) -> None:
    table = np.array([[e1, n1 - e1], [e2, n2 - e2]])
    expected = stats.chi2_contingency(table, correction=False).pvalue
    result = two_proportion_test(e1, n1, e2, n2, 0.95)
    assert result.p_value == pytest.approx(expected, rel=1e-9)


def test_matches_r_prop_test() -> None:
    # R: prop.test(c(30, 10), c(1000, 1000), correct = FALSE)$p.value
    assert two_proportion_test(30, 1000, 10, 1000, 0.98).p_value == pytest.approx(0.00140130158096022, rel=1e-12)


@pytest.mark.parametrize(("e1", "n1", "e2", "n2"), [(30, 1000, 10, 1000), (0, 400, 3, 500), (7, 7, 2, 9)])
def test_interval_is_newcombes_hybrid_score_interval(e1: int, n1: int, e2: int, n2: int) -> None:
    confidence = 0.95
    w1 = stats.binomtest(e1, n1).proportion_ci(confidence, method="wilson")
    w2 = stats.binomtest(e2, n2).proportion_ci(confidence, method="wilson")
    p1, p2 = e1 / n1, e2 / n2
    low = p1 - p2 - math.sqrt((p1 - w1.low) ** 2 + (w2.high - p2) ** 2)
    high = p1 - p2 + math.sqrt((w1.high - p1) ** 2 + (p2 - w2.low) ** 2)
    result = two_proportion_test(e1, n1, e2, n2, confidence)
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high), rel=1e-9)
    assert wilson_interval(e1, n1, confidence) == pytest.approx((w1.low, w1.high), rel=1e-9)


def test_zero_errors_on_both_sides_is_no_difference() -> None:
    result = two_proportion_test(0, 1000, 0, 1000, 0.98)
    assert result.p_value == 1.0
    assert result.rate_ratio == 1.0
    assert result.ci_low < 0 < result.ci_high
    assert result.ci_high < 0.01


def test_errors_against_a_clean_baseline_have_an_infinite_ratio() -> None:
    result = two_proportion_test(12, 1000, 0, 1000, 0.98)
    assert result.rate_ratio == math.inf
    assert result.p_value < 0.01
    assert result.ci_low > 0


@pytest.mark.parametrize(("e1", "n1"), [(0, 0), (5, 3), (-1, 10)])
def test_impossible_counts_are_refused(e1: int, n1: int) -> None:
    with pytest.raises(ValueError, match=r"positive|outside"):
        two_proportion_test(e1, n1, 0, 10, 0.95)
