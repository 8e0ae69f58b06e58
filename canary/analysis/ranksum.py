"""Mann-Whitney U (Wilcoxon rank-sum) test on sorted samples.

Conventions follow R's ``wilcox.test`` and scipy's ``mannwhitneyu``:

* ``U`` counts the pairs where the canary value beats the baseline value, ties
  counting one half, so ``U / (n * m)`` is the common-language effect size;
* small samples without ties (both sides under 50, R's rule) use the exact null
  distribution; otherwise the normal approximation with the tie correction of the
  variance and a continuity correction of one half.

Sorting dominates the cost.  ``sort_samples`` sorts many equally long samples in
one vectorised ``np.sort`` call; the statistic itself is a linear merge of the two
sorted arrays (``canary.analysis.merge``) instead of a rank transform of the
pooled sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from canary.analysis.merge import count_less, count_not_greater
from canary.analysis.normal import norm_cdf, norm_sf
from canary.analysis.wilcoxon_exact import EXACT_LIMIT, exact_two_sided_p, u_cdf, u_sf

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class RankSumTest:
    """Outcome of the rank-sum test of canary against baseline."""

    u: float  # pairs with canary > baseline, ties counting one half
    p_value: float  # two-sided
    z: float | None  # standardised U (None for the exact test)
    exact: bool
    n_canary: int
    n_baseline: int
    has_ties: bool  # any tie in the pooled sample
    within_tie_term: float  # sum(t^3 - t) over ties inside each sample (for the CI)
    # One-sided p-values (scipy's alternative="greater" / "less"): the decision uses the one of
    # the bad direction, so ties and discrete data are judged by U itself, not by an estimate's sign.
    p_greater: float = 1.0
    p_less: float = 1.0
    # Per canary value, baseline values strictly below: reused by the Hodges-Lehmann selection.
    below: NDArray[np.int64] | None = field(default=None, repr=False, compare=False)

    @property
    def cles(self) -> float:
        """Common-language effect size: P(canary > baseline) + P(equal) / 2."""
        return self.u / (self.n_canary * self.n_baseline)


def sort_samples(samples: Sequence[NDArray[np.floating]]) -> list[FloatArray]:
    """Sort each sample ascending; equally long samples are sorted in one numpy call."""
    arrays = [np.asarray(s, dtype=np.float64) for s in samples]
    if arrays and all(len(a) == len(arrays[0]) for a in arrays):
        stacked = np.sort(np.stack(arrays), axis=1)
        return list(stacked)
    return [np.sort(a) for a in arrays]


def _tie_term(values_sorted: FloatArray) -> float:
    """sum(t^3 - t) over the runs of equal values of a sorted array."""
    if len(values_sorted) < 2:
        return 0.0
    boundaries = np.flatnonzero(np.diff(values_sorted) != 0)
    edges = np.concatenate(([-1], boundaries, [len(values_sorted) - 1]))
    runs = np.diff(edges).astype(np.float64)
    return float(np.sum(runs**3 - runs))


def _has_repeats(values_sorted: FloatArray) -> bool:
    return bool(len(values_sorted) > 1 and np.any(values_sorted[1:] == values_sorted[:-1]))


def count_below(canary_sorted: FloatArray, baseline_sorted: FloatArray) -> tuple[NDArray[np.int64], float]:
    """Per canary value, how many baseline values are strictly below; and the number of equal pairs."""
    below = count_less(canary_sorted, baseline_sorted)
    # Equal pairs need a second count; most data has none, which one look settles.
    inside = below < len(baseline_sorted)
    if not np.any(baseline_sorted[below[inside]] == canary_sorted[inside]):
        return below, 0.0
    at_or_below = count_not_greater(canary_sorted, baseline_sorted)
    return below, float(np.sum(at_or_below - below))


def rank_sum_test(
    canary_sorted: FloatArray,
    baseline_sorted: FloatArray,
    below: NDArray[np.int64] | None = None,
    equal_pairs: float | None = None,
) -> RankSumTest:
    """Mann-Whitney U test; both samples sorted ascending, NaN-free, non-empty.

    ``below``/``equal_pairs`` may be passed when ``count_below`` was already run.
    """
    n, m = len(canary_sorted), len(baseline_sorted)
    if n == 0 or m == 0:
        raise ValueError("the rank-sum test needs at least one value on each side")
    if below is None or equal_pairs is None:
        below, equal_pairs = count_below(canary_sorted, baseline_sorted)
    u = float(below.sum()) + 0.5 * equal_pairs
    within = _tie_term(canary_sorted) + _tie_term(baseline_sorted)
    has_ties = equal_pairs > 0 or within > 0
    if n < EXACT_LIMIT and m < EXACT_LIMIT and not has_ties:
        return RankSumTest(
            u, exact_two_sided_p(u, n, m), None, True, n, m, False, 0.0, u_sf(u, n, m), u_cdf(u, n, m), below
        )
    pooled_ties = _tie_term(np.sort(np.concatenate((canary_sorted, baseline_sorted)))) if has_ties else 0.0
    total = n + m
    variance = n * m / 12.0 * ((total + 1) - pooled_ties / (total * (total - 1)))
    deviation = u - n * m / 2.0
    if variance <= 0.0:
        # Every observation is identical: no evidence of any shift.
        return RankSumTest(u, 1.0, 0.0, False, n, m, has_ties, within, 1.0, 1.0, below)
    z = (deviation - math.copysign(0.5, deviation) if deviation else 0.0) / math.sqrt(variance)
    p_value = min(1.0, 2.0 * norm_sf(abs(z)))
    sigma = math.sqrt(variance)
    # One-sided, with the continuity correction towards the null as scipy applies it.
    p_greater = norm_sf((deviation - 0.5) / sigma)
    p_less = norm_cdf((deviation + 0.5) / sigma)
    return RankSumTest(u, p_value, z, False, n, m, has_ties, within, p_greater, p_less, below)
