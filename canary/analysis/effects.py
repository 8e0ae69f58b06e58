"""Effect sizes reported next to every test: how big a change is, not just whether it is real."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray


def mean_ratio(canary: NDArray[np.float64], baseline: NDArray[np.float64]) -> float:
    """Mean of canary over mean of baseline, Kayenta's effect size.

    A zero baseline mean gives 1 when the canary mean is zero too, else +/-inf, so
    the value stays comparable with ``allowedIncrease`` instead of becoming NaN.
    """
    canary_mean = float(np.mean(canary))
    baseline_mean = float(np.mean(baseline))
    if baseline_mean != 0.0:
        return canary_mean / baseline_mean
    if canary_mean == 0.0:
        return 1.0
    return math.copysign(math.inf, canary_mean)


def common_language_effect(u: float, n_canary: int, n_baseline: int) -> float:
    """P(canary > baseline) + P(equal) / 2, from the Mann-Whitney U of the canary."""
    return u / (n_canary * n_baseline)
