"""Hodges-Lehmann shift estimate and confidence interval, as R's ``wilcox.test(conf.int=TRUE)``.

The estimate is the median of the pairwise differences canary - baseline; the
interval's ends are order statistics of the same differences:

* exact case (both samples under 50, no ties): ``qwilcox(alpha/2, n, m)`` picks the
  order statistics, exactly as R does;
* otherwise R inverts the normal approximation of the rank-sum statistic (with
  continuity correction and the within-sample tie correction) by root finding.  The
  statistic is a step function that jumps at the pairwise differences, so the roots
  R's ``uniroot`` approaches (to its 1e-4 tolerance) are order statistics whose rank
  has a closed form, derived in ``docs/analysis.md``.  We select that order
  statistic exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from canary.analysis.normal import norm_isf
from canary.analysis.pairwise import pairwise_order_statistics
from canary.analysis.ranksum import RankSumTest
from canary.analysis.wilcoxon_exact import u_quantile

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ShiftInterval:
    """Location shift canary - baseline with its two-sided confidence interval."""

    estimate: float
    ci_low: float
    ci_high: float
    confidence: float
    exact: bool


def _exact_ranks(n: int, m: int, confidence: float) -> tuple[int, int]:
    total = n * m
    q = u_quantile((1.0 - confidence) / 2.0, n, m)
    q = max(q, 1)  # R: "if (qu == 0) qu <- 1"
    return q, total - q + 1


def _asymptotic_ranks(n: int, m: int, confidence: float, within_tie_term: float) -> tuple[int, int]:
    total = n * m
    pooled = n + m
    variance = n * m / 12.0 * ((pooled + 1) - within_tie_term / (pooled * (pooled - 1)))
    if variance <= 0.0:
        return 1, total
    spread = norm_isf((1.0 - confidence) / 2.0) * math.sqrt(variance)
    # The root for the lower end is where U (pairs with difference above d) drops
    # below the smallest integer u with (u - N/2 - 1/2) / sigma > z; likewise above.
    u_low = math.floor(total / 2.0 + 0.5 + spread) + 1
    u_high = math.floor(total / 2.0 - 0.5 - spread) + 1
    low_rank = min(max(total - u_low + 1, 1), total)
    high_rank = min(max(total - u_high + 1, 1), total)
    return low_rank, high_rank


def hodges_lehmann(
    canary_sorted: FloatArray,
    baseline_sorted: FloatArray,
    test: RankSumTest,
    confidence: float,
) -> ShiftInterval:
    """Shift estimate and interval; the inputs are sorted ascending, ``test`` their rank-sum test."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence {confidence} outside (0, 1)")
    n, m = len(canary_sorted), len(baseline_sorted)
    total = n * m
    if test.exact:
        low_rank, high_rank = _exact_ranks(n, m, confidence)
    else:
        low_rank, high_rank = _asymptotic_ranks(n, m, confidence, test.within_tie_term)
    middle = [total // 2 + 1] if total % 2 else [total // 2, total // 2 + 1]
    ranks = [low_rank, *middle, high_rank]
    values = pairwise_order_statistics(canary_sorted, baseline_sorted, ranks, test.below)
    estimate = values[1] if len(middle) == 1 else (values[1] + values[2]) / 2.0
    return ShiftInterval(estimate, values[0], values[-1], confidence, test.exact)
