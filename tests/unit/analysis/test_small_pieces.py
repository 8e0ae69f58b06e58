"""Normal distribution helpers, Holm's correction, thresholds and effect sizes.

Pins down: norm_cdf/sf/isf agree with scipy deep into the tails (early sequential
looks test at tiny alphas); Holm's adjusted p-values equal R's p.adjust; the
threshold check is inclusive at both ends like Flagger's and NaN never passes; the
mean ratio stays finite-or-infinite (never NaN) at a zero baseline.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from canary.analysis.effects import mean_ratio
from canary.analysis.holm import holm_adjust
from canary.analysis.normal import norm_cdf, norm_isf, norm_ppf, norm_sf
from canary.analysis.threshold import Threshold, check_threshold


@pytest.mark.parametrize("z", [-8.0, -3.3, -1.0, 0.0, 0.5, 1.96, 4.0, 9.0, 20.0])
def test_normal_cdf_and_sf_match_scipy(z: float) -> None:
    assert norm_cdf(z) == pytest.approx(stats.norm.cdf(z), rel=1e-13, abs=1e-300)
    assert norm_sf(z) == pytest.approx(stats.norm.sf(z), rel=1e-13, abs=1e-300)


@pytest.mark.parametrize("p", [1e-15, 1e-9, 1e-4, 0.01, 0.025, 0.3, 0.5, 0.7, 0.975, 1 - 1e-9])
def test_normal_quantiles_match_scipy(p: float) -> None:
    assert norm_isf(p) == pytest.approx(stats.norm.isf(p), rel=1e-12, abs=1e-12)
    assert norm_ppf(p) == pytest.approx(stats.norm.ppf(p), rel=1e-12, abs=1e-12)


def test_normal_quantile_edges() -> None:
    assert norm_isf(0.0) == math.inf
    assert norm_isf(1.0) == -math.inf
    with pytest.raises(ValueError, match="outside"):
        norm_isf(1.5)


@pytest.mark.parametrize(
    ("p_values", "adjusted"),
    [
        ([0.01, 0.04, 0.03, 0.005], [0.03, 0.06, 0.06, 0.02]),  # R: p.adjust(..., "holm")
        ([0.2, 0.001, 0.04, 0.04, 0.5], [0.4, 0.005, 0.16, 0.16, 0.5]),
        ([], []),
        ([0.9], [0.9]),
    ],
)
def test_holm_matches_r_p_adjust(p_values: list[float], adjusted: list[float]) -> None:
    assert holm_adjust(p_values) == pytest.approx(adjusted)


@pytest.mark.parametrize(
    ("value", "threshold", "passed"),
    [
        (0.01, Threshold(max=0.01), True),
        (0.0100001, Threshold(max=0.01), False),
        (5.0, Threshold(min=5.0), True),
        (4.9, Threshold(min=5.0, max=10.0), False),
        (10.0, Threshold(min=5.0, max=10.0), True),
        (float("nan"), Threshold(max=1.0), False),
    ],
)
def test_thresholds_are_inclusive(value: float, threshold: Threshold, passed: bool) -> None:
    assert check_threshold(value, threshold).passed is passed


def test_inverted_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="above max"):
        Threshold(min=2.0, max=1.0)


def test_mean_ratio_at_a_zero_baseline() -> None:
    assert mean_ratio(np.array([2.0, 4.0]), np.array([1.0, 2.0])) == 2.0
    assert mean_ratio(np.zeros(3), np.zeros(3)) == 1.0
    assert mean_ratio(np.ones(3), np.zeros(3)) == math.inf
