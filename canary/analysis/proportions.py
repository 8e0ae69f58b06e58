"""Two-proportion test for error rates from counters (errors / total).

* The p-value is the pooled two-proportion z-test, identical to Pearson's chi-square
  test of the 2x2 table without Yates' correction.
* The interval for the difference of rates is Newcombe's hybrid score interval
  (built from two Wilson intervals).  Unlike the Wald interval it stays inside
  [-1, 1] and is still informative when a side has zero errors, which is the usual
  case for a healthy service.
* The decision uses Fisher's exact test, one-sided (``fisher_one_sided``): the
  z-test's size is far above alpha for the small counts of a canary at low weight
  (0.039 at alpha 0.02 for 100 vs 900 requests at 1%); the exact conditional test
  never exceeds alpha (``docs/analysis.md`` has the sizes).
* Zero errors on both sides is a clean "no difference" (p = 1), not an error;
  zero requests on a side is NoData, decided by the caller before testing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from canary.analysis.normal import norm_isf, norm_sf

# The smallest rise of an error rate that counts as a regression, whatever the baseline
# rate: 0.1 percentage points.  Without it a baseline with no errors would tolerate no
# error at all, and no amount of traffic could show a canary as good as it.
ERROR_RATE_FLOOR = 0.001


def tolerated_difference(
    baseline_rate: float, allowed_increase: float, increase: bool = True, floor: float | None = None
) -> float:
    """The rise (or fall) of an error rate a policy tolerates, at least ``floor`` (``ERROR_RATE_FLOOR``)."""
    relative = (allowed_increase - 1.0) if increase else (1.0 - 1.0 / allowed_increase)
    return max(relative * baseline_rate, ERROR_RATE_FLOOR if floor is None else floor)


@dataclass(frozen=True)
class ProportionTest:
    canary_rate: float
    baseline_rate: float
    difference: float  # canary_rate - baseline_rate
    ci_low: float
    ci_high: float
    p_value: float
    z: float
    rate_ratio: float  # canary_rate / baseline_rate (1 when both are zero)
    p_greater: float = 1.0  # Fisher's exact test, one-sided: canary rate above baseline's
    p_less: float = 1.0  # ... below baseline's


def wilson_interval(successes: float, trials: float, confidence: float) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion."""
    if trials <= 0:
        raise ValueError("the Wilson interval needs at least one trial")
    z = norm_isf((1.0 - confidence) / 2.0)
    rate = successes / trials
    denominator = 1.0 + z * z / trials
    centre = (rate + z * z / (2.0 * trials)) / denominator
    half = z * math.sqrt(rate * (1.0 - rate) / trials + z * z / (4.0 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def rate_ratio(canary_rate: float, baseline_rate: float) -> float:
    if baseline_rate > 0:
        return canary_rate / baseline_rate
    return 1.0 if canary_rate == 0 else math.inf


def two_proportion_test(
    canary_errors: float,
    canary_total: float,
    baseline_errors: float,
    baseline_total: float,
    confidence: float,
) -> ProportionTest:
    """Compare canary's error rate with baseline's; totals must be positive."""
    if canary_total <= 0 or baseline_total <= 0:
        raise ValueError("both totals must be positive (zero traffic is NoData)")
    for errors, total in ((canary_errors, canary_total), (baseline_errors, baseline_total)):
        if not 0 <= errors <= total:
            raise ValueError(f"errors {errors} outside 0..{total}")
    p1 = canary_errors / canary_total
    p2 = baseline_errors / baseline_total
    pooled = (canary_errors + baseline_errors) / (canary_total + baseline_total)
    standard_error = math.sqrt(pooled * (1.0 - pooled) * (1.0 / canary_total + 1.0 / baseline_total))
    if standard_error == 0.0:
        z, p_value = 0.0, 1.0  # both sides all-success or all-failure: identical
    else:
        z = (p1 - p2) / standard_error
        p_value = min(1.0, 2.0 * norm_sf(abs(z)))
    ci_low, ci_high = newcombe_interval(canary_errors, canary_total, baseline_errors, baseline_total, confidence)
    p_greater, p_less = fisher_one_sided(
        round(canary_errors), round(canary_total), round(baseline_errors), round(baseline_total)
    )
    return ProportionTest(
        p1, p2, p1 - p2, ci_low, ci_high, p_value, z, rate_ratio(p1, p2), p_greater, p_less
    )


def newcombe_interval(
    canary_errors: float, canary_total: float, baseline_errors: float, baseline_total: float, confidence: float
) -> tuple[float, float]:
    """Newcombe's hybrid score interval for canary rate - baseline rate (totals positive)."""
    p1, p2 = canary_errors / canary_total, baseline_errors / baseline_total
    l1, u1 = wilson_interval(canary_errors, canary_total, confidence)
    l2, u2 = wilson_interval(baseline_errors, baseline_total, confidence)
    difference = p1 - p2
    return (
        difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def _tail(x: int, end: int, step: int, log_pmf: float, ratio: Callable[[int], float]) -> float:
    """Sum of the hypergeometric pmf from ``x`` towards ``end``, walking away from the mode.

    Terms only shrink on this walk, so it stops once they no longer change the sum.
    """
    term = math.exp(log_pmf)
    total = 0.0
    k = x
    while True:
        total += term
        if k == end or term <= total * 1e-17:
            return total
        term *= ratio(k)
        k += step


def fisher_one_sided(
    canary_errors: int, canary_total: int, baseline_errors: int, baseline_total: int
) -> tuple[float, float]:
    """Fisher's exact one-sided p-values (P(X >= x), P(X <= x)) for the canary's error count x.

    Conditional on the total errors, x is hypergeometric under the null; each tail is
    summed from the observation away from the mode (the other tail is one minus it),
    so the cost grows with the spread of x, not with the counts.
    """
    population = canary_total + baseline_total
    failures = canary_errors + baseline_errors
    draws = canary_total
    low, high = max(0, draws - (population - failures)), min(draws, failures)
    if low == high:
        return 1.0, 1.0
    log_norm = _log_choose(population, draws)

    def log_pmf(k: int) -> float:
        return _log_choose(failures, k) + _log_choose(population - failures, draws - k) - log_norm

    def up(k: int) -> float:  # pmf(k + 1) / pmf(k)
        return (failures - k) * (draws - k) / ((k + 1) * (population - failures - draws + k + 1))

    def down(k: int) -> float:  # pmf(k - 1) / pmf(k)
        return k * (population - failures - draws + k) / ((failures - k + 1) * (draws - k + 1))

    mode = math.floor((draws + 1) * (failures + 1) / (population + 2))
    x = canary_errors

    def upper(k: int) -> float:  # P(X >= k)
        if k <= low:
            return 1.0
        if k > high:
            return 0.0
        if k >= mode:
            return min(1.0, _tail(k, high, 1, log_pmf(k), up))
        return max(0.0, 1.0 - _tail(k - 1, low, -1, log_pmf(k - 1), down))

    def lower(k: int) -> float:  # P(X <= k)
        if k >= high:
            return 1.0
        if k < low:
            return 0.0
        if k <= mode:
            return min(1.0, _tail(k, low, -1, log_pmf(k), down))
        return max(0.0, 1.0 - _tail(k + 1, high, 1, log_pmf(k + 1), up))

    return upper(x), lower(x)
