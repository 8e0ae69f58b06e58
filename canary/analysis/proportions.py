"""Two-proportion test for error rates from counters (errors / total).

* The p-value is the pooled two-proportion z-test, identical to Pearson's chi-square
  test of the 2x2 table without Yates' correction.
* The interval for the difference of rates is Newcombe's hybrid score interval
  (built from two Wilson intervals).  Unlike the Wald interval it stays inside
  [-1, 1] and is still informative when a side has zero errors, which is the usual
  case for a healthy service.
* Zero errors on both sides is a clean "no difference" (p = 1), not an error;
  zero requests on a side is NoData, decided by the caller before testing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from canary.analysis.normal import norm_isf, norm_sf


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
    l1, u1 = wilson_interval(canary_errors, canary_total, confidence)
    l2, u2 = wilson_interval(baseline_errors, baseline_total, confidence)
    difference = p1 - p2
    ci_low = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    ci_high = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return ProportionTest(p1, p2, difference, ci_low, ci_high, p_value, z, rate_ratio(p1, p2))
