"""The near path of the pairwise selection: all wanted ranks at once from an estimated count function.

The count function is estimated from evenly spaced rows (one ``searchsorted`` for
all ranks), as an increment over the exact cut at difference 0 that the rank-sum
test already made; a Newton step with the local slope (the density of y around
each sampled row's cut) predicts each wanted value to within a few hundred ranks
of 10^8.  One exact cut per group of nearby ranks then leaves each answer a few
hundred ranks beyond its cut, read off the next pairs of the rows near the cut.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from canary.analysis.pairwise_cuts import Cut, Cutter

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# Rows of the estimated count function, and how far (in ranks, per row of x) a cut
# may be from the answer and still finish by reading.
SAMPLED_ROWS = 625
NEAR_REACH_PER_ROW = 1.0
_NEAR_CUTS = 3
_ESTIMATES = 6


def _sides(group: Sequence[int], count: int) -> tuple[list[int], list[int]]:
    """A group's ranks above a cut of ``count`` pairs, and those on or below it."""
    return [r for r in group if r > count], [r for r in group if r <= count]


def _groups(ranks: Sequence[int]) -> list[list[int]]:
    """Distinct ranks, ascending, grouped when they are close enough to share a cut."""
    groups: list[list[int]] = []
    for rank in sorted(set(ranks)):
        if groups and rank - groups[-1][-1] <= 2:
            groups[-1].append(rank)
        else:
            groups.append([rank])
    return groups


@functools.lru_cache(maxsize=32)
def _sampled_rows(n: int) -> IntArray:
    """Evenly spaced rows (block midpoints) of the estimated count function; shared, never mutated."""
    rows = min(n, SAMPLED_ROWS)
    sampled: IntArray = ((np.arange(rows) + 0.5) * (n / rows)).astype(np.int64)
    return sampled


def _local_slope(y: FloatArray, above: IntArray, weight: float) -> FloatArray:
    """Slope of the count function (ranks per unit), per row of ``above`` (sampled rows' cuts).

    Each sampled row contributes the density of y around its cut: the gaps between
    the 8th y below and the 8th above it (fewer at the ends of y), divided by their
    width; a neighbourhood of one tied value contributes nothing.
    """
    low = np.maximum(above - 8, 0)
    high = np.minimum(above + 8, len(y) - 1)
    span = y[high] - y[low]
    density = np.zeros(span.shape)
    np.divide(high - low, span, out=density, where=span > 0)
    slope: FloatArray = weight * density.sum(axis=-1)
    return slope


def _near_pivots(cutter: Cutter, zero: Cut, aims: FloatArray) -> tuple[FloatArray, FloatArray] | None:
    """Predicted values at the aimed ranks, and the count function's slope there (ranks per unit).

    The count at or below t is estimated from evenly spaced rows, each standing for
    n/rows rows, as an increment over the exact count at the cut ``zero``: its
    error is a few hundred ranks for 10^4 x 10^4 pairs.  Newton steps on it, from
    the cut and kept inside the bracket known so far, use the local slope (the
    density of y around every sampled row's cut), all aims in one ``searchsorted``
    per step.  Once the guesses are within a few rows' worth of ranks, the last
    step is the prediction: usually after one evaluation.
    """
    x, y, n = cutter.x, cutter.y, cutter.n
    sampled = _sampled_rows(n)
    rows = len(sampled)
    weight = n / rows
    x_rows = x[sampled] - zero.value if zero.value else x[sampled]
    y_rows = y[:: max(1, len(y) // rows)]
    if 2 * (np.count_nonzero(x_rows[1:] == x_rows[:-1]) + np.count_nonzero(y_rows[1:] == y_rows[:-1])) > rows:
        return None  # discrete data: counts jump by whole runs of ties, left to the general path
    anchor = zero.start[sampled]
    base = zero.count + weight * float(anchor.sum())
    slope0 = float(_local_slope(y, anchor, weight))
    if not slope0 > 0:
        return None
    # Steps are relative to the zero cut; the bracket's ends start at the extreme differences.
    below = np.full(len(aims), float(x[0] - y[-1]) - zero.value)
    beyond = np.full(len(aims), float(x[-1] - y[0]) - zero.value)
    steps = np.minimum(np.maximum((aims - zero.count) / slope0, below), beyond)
    for _ in range(_ESTIMATES):
        above = np.searchsorted(y, x_rows - steps[:, None])
        estimate = base - weight * above.sum(axis=1)
        slope = _local_slope(y, above, weight)
        # A Newton step where the slope is known and it stays inside the bracket, else bisection.
        following = steps - np.divide(estimate - aims, slope, out=np.full(len(aims), np.inf), where=slope > 0)
        low_side = estimate < aims
        below = np.where(low_side, np.maximum(below, steps), below)
        beyond = np.where(low_side, beyond, np.minimum(beyond, steps))
        following = np.where((following > below) & (following < beyond), following, (below + beyond) / 2.0)
        if np.max(np.abs(estimate - aims)) <= 10 * NEAR_REACH_PER_ROW * n:
            break
        steps = following
    if not np.all(np.isfinite(following)):
        return None
    slope = np.where(slope > 0, slope, slope0)
    pivots: FloatArray = zero.value + following
    return pivots, slope


def near_selection(cutter: Cutter, ranks: Sequence[int], zero: Cut) -> tuple[dict[int, float], list[Cut]]:
    """The ranks the near path answers, and every exact cut it made (for the general path)."""
    cuts: list[Cut] = []
    found: dict[int, float] = {}
    groups = _groups(ranks)
    aims = np.array([(group[0] + group[-1]) / 2.0 for group in groups])
    predicted = _near_pivots(cutter, zero, aims)
    if predicted is None:
        return found, cuts
    for group, aim, pivot, slope in zip(groups, aims.tolist(), *(a.tolist() for a in predicted), strict=True):
        landed = _cut_near(cutter, zero, aim, guess=(pivot, slope), cuts=cuts)
        if landed is None:
            continue
        cut, first_below, local_slope = landed
        for side in _sides(group, cut.count):
            if side:
                answer = cutter.read(cut, first_below, side, local_slope)
                if answer is not None:
                    found.update(answer)
    return found, cuts


def _cut_near(
    cutter: Cutter, previous: Cut, aim: float, *, guess: tuple[float, float], cuts: list[Cut]
) -> tuple[Cut, FloatArray, float] | None:
    """Cut at the guessed pivot, and again by secant while the count is beyond reach of ``aim``.

    ``previous`` is the last exact cut known (the secant's other end).  Returns the
    cut in reach, its first pairs below, and the slope; every cut made is appended
    to ``cuts``.
    """
    pivot, slope = guess
    for _ in range(_NEAR_CUTS):
        cut, first_below = cutter.cut(pivot)
        cuts.append(cut)
        offset = aim - cut.count
        if abs(offset) <= NEAR_REACH_PER_ROW * cutter.n:
            return cut, first_below, slope
        if cut.count != previous.count and cut.value != previous.value:
            slope = max((cut.count - previous.count) / (cut.value - previous.value), slope / 4)
        previous = cut
        pivot = cut.value + offset / slope
        if not math.isfinite(pivot):
            return None
    return None
