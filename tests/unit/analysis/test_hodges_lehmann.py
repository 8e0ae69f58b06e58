"""Hodges-Lehmann shift estimates and intervals equal R's wilcox.test(conf.int=TRUE).

Pins down: the exact-case interval from qwilcox order statistics (R's published
Hollander & Wolfe example), the asymptotic case (root of the continuity-corrected
normal approximation, within R's uniroot tolerance of 1e-4) with and without ties,
a sample large enough to go through the pairwise-selection algorithm, and the
properties: shifting the canary shifts estimate and interval by the same amount;
swapping sides negates and mirrors them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canary.analysis import pairwise, pairwise_general
from canary.analysis.hodges_lehmann import hodges_lehmann
from canary.analysis.ranksum import rank_sum_test
from tests.unit.analysis.r_examples import AUG, HW_X, HW_Y, MAY

DATA = Path(__file__).parent / "data"
R_UNIROOT_TOLERANCE = 1e-4


def _shift(x, y, confidence: float):
    xs, ys = np.sort(np.asarray(x, float)), np.sort(np.asarray(y, float))
    return hodges_lehmann(xs, ys, rank_sum_test(xs, ys), confidence)


@pytest.mark.parametrize(
    ("confidence", "low", "high"),
    [(0.95, -0.15, 0.76), (0.90, -0.08, 0.72)],
)
def test_hollander_wolfe_exact_interval_matches_r(confidence: float, low: float, high: float) -> None:
    # R: wilcox.test(x, y, conf.int = TRUE[, conf.level = 0.9]) -> estimate 0.305
    result = _shift(HW_X, HW_Y, confidence)
    assert result.exact
    assert result.estimate == pytest.approx(0.305)
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high))


def test_airquality_asymptotic_interval_matches_r() -> None:
    # R: wilcox.test(may, aug, conf.int = TRUE): (-52.99999, -14.99998), estimate -31.99996
    may, aug = np.array(MAY, float), np.array(AUG, float)
    result = _shift(may, aug, 0.95)
    assert not result.exact
    assert result.ci_low == pytest.approx(-5.29999854162704e01, abs=R_UNIROOT_TOLERANCE)
    assert result.ci_high == pytest.approx(-1.49999789830252e01, abs=R_UNIROOT_TOLERANCE)
    assert result.estimate == pytest.approx(-3.19999587219324e01, abs=R_UNIROOT_TOLERANCE)


@pytest.mark.parametrize("case", ["cont_60_70", "ties_80_60", "big_1200_1000"])
def test_recorded_r_outputs_are_reproduced(case: str) -> None:
    expected = json.loads((DATA / "r_wilcox.json").read_text())[case]
    x, y = np.loadtxt(DATA / f"{case}_x.txt"), np.loadtxt(DATA / f"{case}_y.txt")
    result = _shift(x, y, 0.98)
    test = rank_sum_test(np.sort(x), np.sort(y))
    assert test.u == expected["W"]
    assert test.p_value == pytest.approx(expected["p"], rel=1e-9)
    assert result.ci_low == pytest.approx(expected["ci"][0], abs=R_UNIROOT_TOLERANCE)
    assert result.ci_high == pytest.approx(expected["ci"][1], abs=R_UNIROOT_TOLERANCE)
    # R's estimate is any root on the flat stretch between the two middle differences;
    # ours is its midpoint, so both lie between those two differences.
    differences = np.sort((x[:, None] - y[None, :]).ravel())
    middle = len(differences) // 2
    low, high = differences[middle - 1], differences[middle]
    assert low - R_UNIROOT_TOLERANCE <= expected["estimate"] <= high + R_UNIROOT_TOLERANCE
    assert low <= result.estimate <= high


def test_large_samples_go_through_selection_and_agree_with_brute_force(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(3)
    x, y = np.sort(rng.gamma(2, 0.05, 700)), np.sort(rng.gamma(2, 0.055, 900))
    brute = _shift(x, y, 0.98)
    monkeypatch.setattr(pairwise, "BRUTE_FORCE_PAIRS", 0)
    monkeypatch.setattr(pairwise_general, "ENUMERATE_PAIRS", 500)
    selected = _shift(x, y, 0.98)
    assert selected == brute


finite = st.lists(st.integers(-200, 200).map(lambda v: v / 8), min_size=1, max_size=40)
# Untied values on a grid the other side never meets (integers vs half-integers), so a
# shift by a whole number cannot create or remove ties: R switches between its exact
# and asymptotic intervals on ties, and the property holds within each method.
whole = st.lists(st.integers(-100, 100), min_size=1, max_size=60, unique=True)


@settings(max_examples=120, deadline=None)
@given(whole, whole, st.integers(-50, 50))
def test_shifting_the_canary_shifts_estimate_and_interval(x: list[int], y: list[int], shift: int) -> None:
    canary, baseline = np.array(x, float), np.array(y, float) + 0.5
    base = _shift(canary, baseline, 0.95)
    moved = _shift(canary + shift, baseline, 0.95)
    assert moved.estimate == pytest.approx(base.estimate + shift)
    assert moved.ci_low == pytest.approx(base.ci_low + shift)
    assert moved.ci_high == pytest.approx(base.ci_high + shift)


@settings(max_examples=120, deadline=None)
@given(finite, finite)
def test_swapping_sides_negates_and_mirrors(x: list[float], y: list[float]) -> None:
    forward, backward = _shift(x, y, 0.95), _shift(y, x, 0.95)
    assert backward.estimate == pytest.approx(-forward.estimate)
    assert backward.ci_low == pytest.approx(-forward.ci_high)
    assert backward.ci_high == pytest.approx(-forward.ci_low)
    assert forward.ci_low <= forward.estimate <= forward.ci_high
