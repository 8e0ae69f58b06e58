"""How many samples a test needs to detect the policy's effect size.

When a look has too little data the verdict is Inconclusive, and the explanation
says how many samples per side would give 80% power to detect the tolerated
effect (``allowedIncrease``) at the look's alpha.

* Proportions: the normal-approximation sample size for two proportions.
* Rank-sum: Noether's formula, with the probability that a canary value beats a
  baseline value under the alternative estimated from the baseline sample itself
  (baseline values scaled by the effect ratio against the unscaled ones), so no
  distributional shape is assumed.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from canary.analysis.normal import norm_isf, norm_sf

DEFAULT_POWER = 0.8


def proportion_samples_needed(
    baseline_rate: float, ratio: float, alpha: float, power: float = DEFAULT_POWER
) -> int | None:
    """Requests per side to detect ``canary_rate = ratio * baseline_rate``; None if undetectable."""
    p1 = min(baseline_rate * ratio, 1.0)
    p2 = baseline_rate
    if p1 == p2 or not 0.0 < p2 < 1.0:
        return None
    z_alpha = norm_isf(alpha / 2.0)
    z_beta = norm_isf(1.0 - power)
    mean = (p1 + p2) / 2.0
    numerator = z_alpha * math.sqrt(2.0 * mean * (1.0 - mean)) + z_beta * math.sqrt(p1 * (1.0 - p1) + p2 * (1.0 - p2))
    return math.ceil(numerator**2 / (p1 - p2) ** 2)


def proportion_power(baseline_rate: float, ratio: float, per_side: float, alpha: float) -> float:
    """Approximate power of the two-proportion test with ``per_side`` requests per side."""
    p1 = min(baseline_rate * ratio, 1.0)
    p2 = baseline_rate
    if per_side <= 0 or p1 == p2:
        return 0.0
    mean = (p1 + p2) / 2.0
    null_se = math.sqrt(2.0 * mean * (1.0 - mean) / per_side)
    alt_se = math.sqrt((p1 * (1.0 - p1) + p2 * (1.0 - p2)) / per_side)
    z_alpha = norm_isf(alpha / 2.0)
    return norm_sf((z_alpha * null_se - abs(p1 - p2)) / alt_se)


# A sample size is an estimate; 1000 evenly spaced order statistics of the baseline
# give P to about 1e-3 at a fraction of the cost of all pairs of 10,000 samples.
SUMMARY_POINTS = 1000


def superiority_probability(baseline_sorted: NDArray[np.float64], ratio: float) -> float:
    """P(ratio * X > Y) + P(equal)/2 for X, Y drawn from the baseline sample."""
    if len(baseline_sorted) > SUMMARY_POINTS:
        positions = ((np.arange(SUMMARY_POINTS) + 0.5) * len(baseline_sorted) / SUMMARY_POINTS).astype(np.int64)
        baseline_sorted = baseline_sorted[positions]
    scaled = baseline_sorted * ratio
    below = np.searchsorted(baseline_sorted, scaled, side="left")
    at_or_below = np.searchsorted(baseline_sorted, scaled, side="right")
    pairs = len(baseline_sorted) ** 2
    return float((below.sum() + 0.5 * (at_or_below - below).sum()) / pairs)


def rank_sum_samples_needed(
    baseline_sorted: NDArray[np.float64], ratio: float, alpha: float, power: float = DEFAULT_POWER
) -> int | None:
    """Samples per side for the rank-sum test to detect a ``ratio`` scaling; None if undetectable."""
    if len(baseline_sorted) < 2:
        return None
    probability = superiority_probability(baseline_sorted, ratio)
    if abs(probability - 0.5) < 1e-9:
        return None
    z = norm_isf(alpha / 2.0) + norm_isf(1.0 - power)
    # Noether (1987) with equal allocation: N = z^2 / (3 (P - 1/2)^2) in total.
    return math.ceil(z * z / (3.0 * (probability - 0.5) ** 2) / 2.0)
