"""Exact null distribution of the Mann-Whitney U statistic (no ties).

Used for small samples, where the normal approximation is poor.  The counts follow
the classic recursion on the largest observation: it either belongs to the first
sample (beating all ``m`` values of the second) or to the second (beating none):

    c(u; n, m) = c(u - m; n - 1, m) + c(u; n, m - 1)

All terms are additions of non-negative counts, so float64 keeps full relative
precision even where the counts exceed 2**53.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

# R switches to the normal approximation at 50 observations per side; so do we, which
# keeps the table at most 49*49 + 1 entries and the recursion cheap.
EXACT_LIMIT = 50


@lru_cache(maxsize=64)
def _u_counts(n: int, m: int) -> NDArray[np.float64]:
    """Number of arrangements giving each U in 0..n*m, for sample sizes n and m."""
    # table[b] holds the counts for (a, b) while a sweeps 0..n.
    table = [np.ones(1) for _ in range(m + 1)]  # a = 0: U is always 0
    for a in range(1, n + 1):
        row = [np.ones(1)]  # b = 0: U is always 0
        for b in range(1, m + 1):
            counts = np.zeros(a * b + 1)
            shifted = table[b]  # (a - 1, b) shifted by b
            counts[b : b + len(shifted)] += shifted
            counts[: len(row[b - 1])] += row[b - 1]  # (a, b - 1)
            row.append(counts)
        table = row
    counts = table[m]
    counts.setflags(write=False)
    return counts


def u_cdf(u: float, n: int, m: int) -> float:
    """P(U <= u) under the null hypothesis, U counting pairs x_i > y_j."""
    counts = _u_counts(n, m)
    upto = int(np.floor(u))
    if upto < 0:
        return 0.0
    return float(counts[: upto + 1].sum() / counts.sum())


def u_sf(u: float, n: int, m: int) -> float:
    """P(U >= u) under the null hypothesis."""
    counts = _u_counts(n, m)
    start = int(np.ceil(u))
    if start > n * m:
        return 0.0
    return float(counts[max(start, 0) :].sum() / counts.sum())


def u_quantile(p: float, n: int, m: int) -> int:
    """Smallest u with P(U <= u) >= p, as R's ``qwilcox``."""
    counts = _u_counts(n, m)
    cumulative = np.cumsum(counts) / counts.sum()
    # R compares against p - 10 * DBL_EPSILON so that exact fractions are not missed.
    return int(np.searchsorted(cumulative, p - 10 * np.finfo(float).eps, side="left"))


def exact_two_sided_p(u: float, n: int, m: int) -> float:
    """Two-sided exact p-value: twice the smaller tail, capped at 1 (R and scipy agree)."""
    tail = u_sf(u, n, m) if u > n * m / 2.0 else u_cdf(u, n, m)
    return min(1.0, 2.0 * tail)
