"""The general path of the pairwise selection: bracketing cuts, interpolated pivots, enumeration.

For what the near path leaves (discrete data, whose counts jump by whole runs of
ties; extreme ranks; odd shapes): a coarse guide (the pairwise differences of a
few evenly spaced quantiles of each sample) and interpolation between exact
counts choose pivots, a random member of the remaining band is the fallback pivot
when interpolation stalls, and once a band between two bracketing cuts is small,
its pairs are enumerated and ``np.partition`` picks the answer.  A cut close to
the wanted rank finishes by reading the pairs next to it.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from canary.analysis.pairwise_cuts import Cut, Cutter

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# A band this small is enumerated and partitioned directly.
ENUMERATE_PAIRS = 6_000
# Quantile points per sample in the coarse guide (GUIDE_POINTS**2 guide differences).
GUIDE_POINTS = 64
# A cut this close (in ranks) to the wanted one may finish by reading FINISH_WIDTH pairs per row.
FINISH_REACH = 3_000
FINISH_WIDTH = 4
_MAX_ROUNDS = 200


class PairMatrix:
    """The implicit sorted matrix D[i, j] = x[i] - y[j] (x ascending, y ascending)."""

    def __init__(self, x: FloatArray, y: FloatArray, rng: np.random.Generator, cutter: Cutter) -> None:
        self.x = x
        self.y = y
        self.n = len(x)
        self.m = len(y)
        self.total = self.n * self.m
        self.rng = rng
        self.cutter = cutter
        self.low = Cut(-np.inf, 0, np.full(self.n, self.m, dtype=np.int64))
        self.high = Cut(np.inf, self.total, np.zeros(self.n, dtype=np.int64))
        self.cache: list[Cut] = []  # every exact cut so far, kept sorted by count
        self._guide: FloatArray | None = None

    @property
    def guide(self) -> FloatArray:
        """Built on first use: a prediction anchored on exact cuts does not need it."""
        if self._guide is None:
            self._guide = self._build_guide()
        return self._guide

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

    def cut(self, value: float) -> Cut:
        cut, _ = self.cutter.cut(value)
        return self.remember(cut)

    def remember(self, cut: Cut) -> Cut:
        bisect.insort(self.cache, cut, key=lambda known: known.count)
        return cut

    def guess(self, rank: float) -> float:
        position = (rank - 0.5) / self.total * len(self.guide)
        index = int(np.clip(np.floor(position), 0, len(self.guide) - 1))
        return float(self.guide[index])

    def band(self, low: Cut, high: Cut) -> FloatArray:
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

    def random_member(self, low: Cut, high: Cut, draws: int = 63) -> float:
        """Median of a few uniformly drawn band members: a pivot that always splits the band."""
        lengths = low.start - high.start
        ends = np.cumsum(lengths)
        picks = self.rng.integers(0, int(ends[-1]), size=draws)
        rows = np.searchsorted(ends, picks, side="right")
        cols = high.start[rows] + picks - (ends[rows] - lengths[rows])
        return float(np.median(self.x[rows] - self.y[cols]))

    def bracket(self, rank: int) -> tuple[Cut, Cut]:
        low, high = self.low, self.high
        for cut in self.cache:
            if cut.count < rank and cut.value > low.value:
                low = cut
            if cut.count >= rank and cut.value < high.value:
                high = cut
        return low, high


def _known_cuts(matrix: PairMatrix) -> list[Cut]:
    return matrix.cache


def _predict(matrix: PairMatrix, rank: float) -> tuple[float, float]:
    """Predict the value of ``rank`` and how many ranks the prediction may be off by.

    The error models' constants were tuned on normal, lognormal and tied data: a
    too-small margin costs one more pass (the cut lands on the other side and still
    narrows the bracket), a too-large one costs a pass every time.  They never
    affect the result, only the running time.
    """
    cuts = [c for c in _known_cuts(matrix) if 0 < c.count < matrix.total]
    below = [c for c in cuts if c.count < rank]
    above = [c for c in cuts if c.count >= rank]
    if below and above and above[0].value > below[-1].value:
        # Interpolation error on a smooth CDF shrinks with the band squared.
        lo, hi = below[-1], above[0]
        band = hi.count - lo.count
        value = lo.value + (hi.value - lo.value) * (rank - lo.count) / band
        return value, 0.02 * band * band / matrix.total
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
            error = 0.0005 * distance + 0.01 * distance**2 / matrix.total
            return anchor.value + (rank - anchor.count) / slope, error
    if cuts:
        # One exact count: step from it by the guide's own difference between the two
        # ranks, so the guide's local bias cancels out.
        anchor = cuts[0]
        distance = abs(rank - anchor.count)
        error = 0.002 * distance + 0.2 * distance**2 / matrix.total
        return anchor.value + matrix.guess(rank) - matrix.guess(anchor.count), error
    return matrix.guess(rank), 0.25 * matrix.total / len(matrix.guide)


def _propose(matrix: PairMatrix, low: Cut, high: Cut, rank: int) -> float:
    """Aim at the rank when the prediction is good enough to finish next to the cut,
    else just past it on the side that is furthest from it."""
    aim_low = (rank - low.count) >= (high.count - rank)
    value, error = _predict(matrix, rank)
    if error < FINISH_REACH / 4:
        return value
    margin = max(ENUMERATE_PAIRS / 8, 2.0 * error)
    target = rank - margin if aim_low else rank + margin
    target = min(max(target, low.count + 1.0), high.count - 1.0)
    value, _ = _predict(matrix, target)
    return value


def pick(matrix: PairMatrix, low: Cut, high: Cut, ranks: Sequence[int]) -> dict[int, float]:
    """Enumerate the band (low, high] and read every wanted rank that falls inside it."""
    inside = [r for r in ranks if low.count < r <= high.count]
    values = matrix.band(low, high)
    offsets = sorted({r - low.count - 1 for r in inside})
    picked = np.partition(values, offsets)
    return {r: float(picked[r - low.count - 1]) for r in inside}


def _band_extremes(matrix: PairMatrix, low: Cut, high: Cut) -> tuple[float, float]:
    rows = np.flatnonzero(low.start > high.start)
    largest = matrix.x[rows] - matrix.y[high.start[rows]]
    smallest = matrix.x[rows] - matrix.y[low.start[rows] - 1]
    return float(smallest.min()), float(largest.max())


def _finish_near(matrix: PairMatrix, cut: Cut, rank: int, also: Sequence[int] = ()) -> dict[int, float] | None:
    """The answer read off the few pairs next to one cut in every row, when they suffice.

    Above a cut, row i's next values are x_i - y_j for j = start_i - 1, start_i - 2, ...
    (ascending); below it, j = start_i, start_i + 1, ... (descending).  If the wanted
    value is among the first FINISH_WIDTH of each row, and every row's next value
    lies beyond it, no other pair can come between: one cut instead of a bracket.
    Ranks in ``also`` on the same side and closer to the cut are answered too.
    """
    offset = rank - cut.count
    if offset == 0 or abs(offset) > FINISH_REACH or not 0 < cut.count < matrix.total:
        return None
    # Mirror below the cut so both cases read "the k-th smallest beyond the cut".
    sign, step, first_col = (1.0, -1, cut.start - 1) if offset > 0 else (-1.0, 1, cut.start)
    wanted = offset if offset > 0 else 1 - offset
    if wanted > matrix.n:
        return None  # some row would need more than one pair: not "near" any more
    last = matrix.m - 1
    nearest = sign * (matrix.x - matrix.y[np.clip(first_col, 0, last)])
    nearest[(first_col < 0) | (first_col > last)] = np.inf  # rows with nothing beyond the cut
    # The k-th smallest of the rows' nearest values bounds the answer (those k pairs
    # are all at or below it); only rows whose nearest value is under it matter.
    # A value predicted to lie past the answer spares a partition when it is right.
    close = nearest <= sign * _beyond(matrix, cut, rank)
    if np.count_nonzero(close) < wanted:
        close = nearest <= np.partition(nearest, wanted - 1)[wanted - 1]
    rows = np.flatnonzero(close & np.isfinite(nearest))
    if len(rows) < wanted:
        return None
    cols = first_col[rows, None] + step * np.arange(FINISH_WIDTH + 1)[None, :]
    valid = (cols >= 0) & (cols <= last)
    values = sign * (matrix.x[rows, None] - matrix.y[np.clip(cols, 0, last)])
    inner = values[:, :-1][valid[:, :-1]]
    # Other wanted ranks between the cut and this one come out of the same partition.
    places = {r: (r - cut.count if offset > 0 else cut.count - r + 1) for r in (rank, *also)}
    places = {r: k for r, k in places.items() if 1 <= k <= wanted}
    picked = np.partition(inner, sorted({k - 1 for k in places.values()}))
    if np.any(values[:, -1][valid[:, -1]] <= picked[wanted - 1]):
        return None  # some row may hold more pairs in range than were read
    return {r: float(sign * picked[k - 1]) for r, k in places.items()}


def _beyond(matrix: PairMatrix, cut: Cut, rank: int) -> float:
    """A value predicted to lie a little past ``rank``, seen from ``cut``."""
    _, error = _predict(matrix, rank)
    return _predict(matrix, rank + (error + 100) * (1 if cut.count < rank else -1))[0]


def select(matrix: PairMatrix, rank: int, pending: Sequence[int] = ()) -> tuple[Cut, Cut] | dict[int, float]:
    """Narrow the bracket around ``rank`` until the band is small enough to enumerate.

    Returns the bracket, or the answer itself (read next to a cut, or when the whole
    band is one tied value).
    """
    low, high = matrix.bracket(rank)
    for near in sorted((low, high), key=lambda c: abs(c.count - rank)):
        finished = _finish_near(matrix, near, rank, pending)
        if finished is not None:
            return finished
    for _ in range(_MAX_ROUNDS):
        band = high.count - low.count
        if band <= ENUMERATE_PAIRS:
            break
        pivot = _propose(matrix, low, high, rank)
        if not low.value < pivot < high.value:
            pivot = matrix.random_member(low, high)
        cut = matrix.cut(pivot)
        finished = _finish_near(matrix, cut, rank, pending)
        if finished is not None:
            return finished
        remaining = cut.count - low.count if cut.count >= rank else high.count - cut.count
        bracketed = bool(np.isfinite(low.value) and np.isfinite(high.value))
        if cut.count in (low.count, high.count) or (bracketed and remaining > band // 2):
            # Interpolation stalled (ties or an odd shape).  A band of one tied value is
            # the answer; otherwise a random member below the largest one splits the band,
            # halving it in expectation, which bounds the number of rounds.
            smallest, largest = _band_extremes(matrix, low, high)
            if smallest == largest:
                return {r: smallest for r in (rank, *pending) if low.count < r <= high.count}
            below_largest = float(np.nextafter(largest, -np.inf))
            cut = matrix.cut(min(max(matrix.random_member(low, high), smallest), below_largest))
        finished = _finish_near(matrix, cut, rank, pending)
        if finished is not None:
            return finished
        if cut.count >= rank and cut.value < high.value:
            high = cut
        elif cut.count < rank and cut.value > low.value:
            low = cut
    return low, high
