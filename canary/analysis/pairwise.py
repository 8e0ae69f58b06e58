"""Order statistics of the pairwise differences ``x_i - y_j`` of two sorted samples.

The Hodges-Lehmann shift estimate and its Wilcoxon confidence interval are order
statistics of the n*m pairwise differences.  For 10,000 samples per side that is
10^8 values, too many to materialise, so large inputs use a selection algorithm:

* the differences form a matrix sorted along both axes, so the number of them at
  or below a pivot ``d`` is one ``searchsorted`` pass (O(n log m));
* a coarse guide (the pairwise differences of a few evenly spaced quantiles of each
  sample) predicts where the wanted rank lies, interpolation between exact counts
  sharpens the prediction, and a random member of the remaining band is the
  fallback pivot when interpolation stalls (ties, odd shapes);
* once the band between the two bracketing pivots holds few enough pairs, they are
  enumerated and ``np.partition`` picks the exact answer.

The result is exact, the same value the brute-force ``np.sort(outer difference)``
gives, which the tests check on random and heavily tied data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# Below this many pairs materialising every difference is cheaper than selecting.
BRUTE_FORCE_PAIRS = 1_000_000
# A band this small is enumerated and partitioned directly.
ENUMERATE_PAIRS = 6_000
# Quantile points per sample in the coarse guide (GUIDE_POINTS**2 guide differences).
GUIDE_POINTS = 96
_MAX_ROUNDS = 200


@dataclass(frozen=True)
class _Cut:
    """Exact count of pairs with difference <= value, and where each row's run starts."""

    value: float
    count: int
    start: IntArray  # per x_i: first j with x_i - y_j <= value (y ascending)


class _PairMatrix:
    """The implicit sorted matrix D[i, j] = x[i] - y[j] (x ascending, y ascending)."""

    def __init__(self, x: FloatArray, y: FloatArray, rng: np.random.Generator) -> None:
        self.x = x
        self.y = y
        self.n = len(x)
        self.m = len(y)
        self.total = self.n * self.m
        self.rng = rng
        self.low = _Cut(-np.inf, 0, np.full(self.n, self.m, dtype=np.int64))
        self.high = _Cut(np.inf, self.total, np.zeros(self.n, dtype=np.int64))
        self.cache: list[_Cut] = []
        self.guide = self._build_guide()

    def _build_guide(self) -> FloatArray:
        # Midpoints of equal-count blocks approximate each sample's quantile function
        # to second order, so their pairwise differences approximate D's distribution.
        def midpoints(values: FloatArray) -> FloatArray:
            points = min(GUIDE_POINTS, len(values))
            positions = ((np.arange(points) + 0.5) * len(values) / points).astype(np.int64)
            return values[positions]

        guide = (midpoints(self.x)[:, None] - midpoints(self.y)[None, :]).ravel()
        guide.sort()
        return guide

    def cut(self, value: float) -> _Cut:
        start = np.searchsorted(self.y, self.x - value, side="left").astype(np.int64)
        cut = _Cut(value, int(self.total - int(start.sum())), start)
        self.cache.append(cut)
        return cut

    def guess(self, rank: float) -> float:
        position = (rank - 0.5) / self.total * len(self.guide)
        index = int(np.clip(np.floor(position), 0, len(self.guide) - 1))
        return float(self.guide[index])

    def band(self, low: _Cut, high: _Cut) -> FloatArray:
        """All differences in (low.value, high.value], by the rows' run boundaries."""
        lengths = low.start - high.start
        widest = int(lengths.max())
        if widest * self.n <= 4 * ENUMERATE_PAIRS:
            # Short runs in every row: a masked rectangle is cheaper than np.repeat.
            steps = np.arange(widest)
            cols = np.minimum(high.start[:, None] + steps[None, :], self.m - 1)
            grid = self.x[:, None] - self.y[cols]
            picked: FloatArray = grid[steps[None, :] < lengths[:, None]]
            return picked
        rows = np.repeat(np.arange(self.n), lengths)
        offsets = np.cumsum(lengths) - lengths
        cols = np.arange(int(lengths.sum())) - np.repeat(offsets, lengths) + np.repeat(high.start, lengths)
        values: FloatArray = self.x[rows] - self.y[cols]
        return values

    def random_member(self, low: _Cut, high: _Cut, draws: int = 63) -> float:
        """Median of a few uniformly drawn band members: a pivot that always splits the band."""
        lengths = low.start - high.start
        ends = np.cumsum(lengths)
        picks = self.rng.integers(0, int(ends[-1]), size=draws)
        rows = np.searchsorted(ends, picks, side="right")
        cols = high.start[rows] + picks - (ends[rows] - lengths[rows])
        return float(np.median(self.x[rows] - self.y[cols]))

    def bracket(self, rank: int) -> tuple[_Cut, _Cut]:
        low, high = self.low, self.high
        for cut in self.cache:
            if cut.count < rank and cut.value > low.value:
                low = cut
            if cut.count >= rank and cut.value < high.value:
                high = cut
        return low, high


def _known_cuts(matrix: _PairMatrix) -> list[_Cut]:
    return sorted(matrix.cache, key=lambda cut: cut.count)


def _predict(matrix: _PairMatrix, rank: float) -> tuple[float, float]:
    """Predict the value of ``rank`` and how many ranks the prediction may be off by."""
    cuts = [c for c in _known_cuts(matrix) if 0 < c.count < matrix.total]
    below = [c for c in cuts if c.count < rank]
    above = [c for c in cuts if c.count >= rank]
    if below and above and above[0].value > below[-1].value:
        # Interpolation error on a smooth CDF shrinks with the band squared.
        lo, hi = below[-1], above[0]
        band = hi.count - lo.count
        value = lo.value + (hi.value - lo.value) * (rank - lo.count) / band
        return value, 4.0 * band * band / matrix.total
    if len(cuts) >= 2:
        # Secant through the two exact counts nearest to the wanted rank.
        # The farthest cut as second point: a long baseline averages out local noise.
        by_distance = sorted(cuts, key=lambda c: abs(c.count - rank))
        near = [by_distance[0], by_distance[-1]]
        a, b = sorted(near, key=lambda c: c.value)
        if b.value > a.value and b.count > a.count:
            slope = (b.count - a.count) / (b.value - a.value)
            anchor = near[0]
            distance = abs(rank - anchor.count)
            return anchor.value + (
                rank - anchor.count
            ) / slope, 0.01 * distance + 2.0 * distance**2 / matrix.total
    if cuts:
        # Newton step from the one exact count, with the guide's local density as slope.
        anchor = cuts[0]
        guide = matrix.guide
        where = int(np.searchsorted(guide, anchor.value))
        lo_i, hi_i = max(where - 64, 0), min(where + 64, len(guide) - 1)
        if guide[hi_i] > guide[lo_i]:
            slope = (hi_i - lo_i) / len(guide) * matrix.total / (guide[hi_i] - guide[lo_i])
            distance = abs(rank - anchor.count)
            return anchor.value + (
                rank - anchor.count
            ) / slope, 0.05 * distance + 8.0 * distance**2 / matrix.total
    return matrix.guess(rank), 0.25 * matrix.total / len(matrix.guide)


def _propose(matrix: _PairMatrix, low: _Cut, high: _Cut, rank: int) -> float:
    """Aim just past the wanted rank on the side that is furthest from it."""
    aim_low = (rank - low.count) >= (high.count - rank)
    _, error = _predict(matrix, rank)
    margin = max(ENUMERATE_PAIRS / 8, 2.0 * error)
    target = rank - margin if aim_low else rank + margin
    target = min(max(target, low.count + 1.0), high.count - 1.0)
    value, _ = _predict(matrix, target)
    return value


def _pick(matrix: _PairMatrix, low: _Cut, high: _Cut, ranks: Sequence[int]) -> dict[int, float]:
    """Enumerate the band (low, high] and read every wanted rank that falls inside it."""
    inside = [r for r in ranks if low.count < r <= high.count]
    values = matrix.band(low, high)
    offsets = sorted({r - low.count - 1 for r in inside})
    picked = np.partition(values, offsets)
    return {r: float(picked[r - low.count - 1]) for r in inside}


def _band_extremes(matrix: _PairMatrix, low: _Cut, high: _Cut) -> tuple[float, float]:
    rows = np.flatnonzero(low.start > high.start)
    largest = matrix.x[rows] - matrix.y[high.start[rows]]
    smallest = matrix.x[rows] - matrix.y[low.start[rows] - 1]
    return float(smallest.min()), float(largest.max())


def _select(matrix: _PairMatrix, rank: int) -> tuple[_Cut, _Cut] | float:
    """Narrow the bracket around ``rank`` until the band is small enough to enumerate.

    Returns the bracket, or the answer itself when the whole band is one tied value.
    """
    low, high = matrix.bracket(rank)
    for _ in range(_MAX_ROUNDS):
        band = high.count - low.count
        if band <= ENUMERATE_PAIRS:
            break
        pivot = _propose(matrix, low, high, rank)
        if not low.value < pivot < high.value:
            pivot = matrix.random_member(low, high)
        cut = matrix.cut(pivot)
        remaining = cut.count - low.count if cut.count >= rank else high.count - cut.count
        bracketed = bool(np.isfinite(low.value) and np.isfinite(high.value))
        if cut.count in (low.count, high.count) or (bracketed and remaining > band // 2):
            # Interpolation stalled (ties or an odd shape).  A band of one tied value is
            # the answer; otherwise a random member below the largest one splits the band,
            # halving it in expectation, which bounds the number of rounds.
            smallest, largest = _band_extremes(matrix, low, high)
            if smallest == largest:
                return smallest
            below_largest = float(np.nextafter(largest, -np.inf))
            cut = matrix.cut(min(max(matrix.random_member(low, high), smallest), below_largest))
        if cut.count >= rank and cut.value < high.value:
            high = cut
        elif cut.count < rank and cut.value > low.value:
            low = cut
    return low, high


def pairwise_order_statistics(
    x_sorted: FloatArray, y_sorted: FloatArray, ranks: Sequence[int]
) -> list[float]:
    """Return the ``ranks``-th smallest (1-based) of all differences ``x_i - y_j``.

    Both inputs must be sorted ascending and free of NaN.
    """
    n, m = len(x_sorted), len(y_sorted)
    total = n * m
    for rank in ranks:
        if not 1 <= rank <= total:
            raise ValueError(f"rank {rank} outside 1..{total}")
    if total <= BRUTE_FORCE_PAIRS:
        differences = (x_sorted[:, None] - y_sorted[None, :]).ravel()
        picked = np.partition(differences, [r - 1 for r in ranks])
        return [float(picked[r - 1]) for r in ranks]
    # Seeded: the random pivot only changes the path, never the answer, but a fixed
    # seed keeps the running time reproducible too.
    matrix = _PairMatrix(x_sorted, y_sorted, np.random.default_rng(0x5EED))
    # The extreme ranks are the extreme corners of the sorted difference matrix.
    found: dict[int, float] = {1: float(x_sorted[0] - y_sorted[-1]), total: float(x_sorted[-1] - y_sorted[0])}
    for rank in sorted(set(ranks)):
        if rank not in found:
            outcome = _select(matrix, rank)
            if isinstance(outcome, float):
                found[rank] = outcome
            else:
                found.update(_pick(matrix, *outcome, ranks))
    return [found[r] for r in ranks]


def pairwise_median(x_sorted: FloatArray, y_sorted: FloatArray) -> float:
    """Median of all pairwise differences (the Hodges-Lehmann shift estimate)."""
    total = len(x_sorted) * len(y_sorted)
    if total % 2:
        return pairwise_order_statistics(x_sorted, y_sorted, [total // 2 + 1])[0]
    below, above = pairwise_order_statistics(x_sorted, y_sorted, [total // 2, total // 2 + 1])
    return (below + above) / 2.0
