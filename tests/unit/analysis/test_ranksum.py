"""The Mann-Whitney U test agrees with scipy and has the symmetries a rank test must have.

Pins down: U (canary's pairs won, ties half), the two-sided asymptotic p-value with
tie and continuity corrections, the exact p-value for small untied samples, and
the switch between them at R's 50-per-side rule.  Properties: swapping the sides
mirrors U and keeps p; shifting or positively rescaling both sides changes nothing.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from canary.analysis.ranksum import rank_sum_test, sort_samples
from canary.analysis.wilcoxon_exact import exact_two_sided_p, u_cdf, u_quantile
from tests.unit.analysis.r_examples import AUG, HW_X, HW_Y, MAY

values = st.lists(st.integers(-50, 50).map(float), min_size=1, max_size=60)


def _test(x: list[float] | np.ndarray, y: list[float] | np.ndarray):
    xs, ys = sort_samples([np.asarray(x, float), np.asarray(y, float)])
    return rank_sum_test(xs, ys)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("n", "m"), [(60, 70), (200, 150), (1000, 1000)])
def test_asymptotic_u_and_p_match_scipy(seed: int, n: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.lognormal(0.05, 1, n), rng.lognormal(0, 1, m)
    ours = _test(x, y)
    theirs = stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=True)
    assert ours.u == theirs.statistic
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-300)
    assert not ours.exact


@pytest.mark.parametrize("seed", range(6))
def test_ties_use_the_tie_corrected_variance_like_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.integers(0, 6, 80).astype(float), rng.integers(1, 7, 40).astype(float)
    ours = _test(x, y)
    theirs = stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic")
    assert ours.has_ties
    assert ours.u == theirs.statistic
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_small_untied_samples_use_the_exact_distribution_like_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = rng.integers(1, 20, 2)
    x, y = rng.normal(0.5, 1, n), rng.normal(0, 1, m)
    ours = _test(x, y)
    theirs = stats.mannwhitneyu(x, y, alternative="two-sided", method="exact")
    assert ours.exact
    assert ours.u == theirs.statistic
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-12)


def test_hollander_wolfe_example_matches_r() -> None:
    # R's ?wilcox.test example: W = 35, p = 0.2544 (two-sided, exact).
    result = _test(HW_X, HW_Y)
    assert result.u == 35
    assert result.p_value == pytest.approx(0.254412254412254, rel=1e-12)


def test_airquality_example_matches_r() -> None:
    # R: wilcox.test(Ozone ~ Month, data = airquality, subset = Month %in% c(5, 8)): W = 127.5, p = 0.0001208
    result = _test(np.array(MAY, float), np.array(AUG, float))
    assert result.u == 127.5
    assert result.p_value == pytest.approx(1.20807830768774e-04, rel=1e-12)


def test_exact_distribution_matches_r_pwilcox_and_qwilcox() -> None:
    assert [u_cdf(q, 10, 5) for q in (5, 10, 35)] == pytest.approx(
        [0.00632700632700633, 0.03762903762903762, 0.89676989676989671], rel=1e-13
    )
    assert [u_quantile(p, 10, 5) for p in (0.005, 0.01, 0.025, 0.05)] == [5, 7, 9, 12]
    assert [u_quantile(p, 20, 30) for p in (0.01, 0.025)] == [183, 201]
    assert exact_two_sided_p(25, 10, 5) == 1.0


def test_identical_single_value_samples_give_p_one() -> None:
    result = _test([3.0] * 60, [3.0] * 70)
    assert result.p_value == 1.0
    assert result.cles == 0.5


def test_equal_length_samples_are_sorted_in_one_batch() -> None:
    rng = np.random.default_rng(0)
    samples = [rng.normal(size=100) for _ in range(4)] + [rng.normal(size=7)]
    for original, ordered in zip(samples, sort_samples(samples), strict=True):
        assert np.array_equal(np.sort(original), ordered)


@settings(max_examples=150, deadline=None)
@given(values, values)
def test_swapping_sides_mirrors_u_and_keeps_p(x: list[float], y: list[float]) -> None:
    forward, backward = _test(x, y), _test(y, x)
    assert forward.u + backward.u == len(x) * len(y)
    assert forward.p_value == pytest.approx(backward.p_value, rel=1e-12)
    assert forward.cles == pytest.approx(1.0 - backward.cles)


@settings(max_examples=150, deadline=None)
@given(values, values, st.integers(-1000, 1000), st.sampled_from([0.5, 2.0, 1000.0]))
def test_shifting_or_rescaling_both_sides_changes_nothing(
    x: list[float], y: list[float], shift: int, scale: float
) -> None:
    base = _test(x, y)
    moved = _test(np.array(x) * scale + shift, np.array(y) * scale + shift)
    assert moved.u == base.u
    assert moved.p_value == pytest.approx(base.p_value, rel=1e-12)
