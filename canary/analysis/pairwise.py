"""Order statistics of the pairwise differences ``x_i - y_j`` of two sorted samples.

The Hodges-Lehmann shift estimate and its Wilcoxon confidence interval are order
statistics of the n*m pairwise differences.  For 10,000 samples per side that is
10^8 values, too many to materialise.  The differences form a matrix sorted along
both axes, so an exact *cut* (per row, how many differences lie above a pivot, and
their total) is one linear merge of ``x - pivot`` with ``y`` (``_Cutter.cut``).
Large inputs use:

* the near path (``_near_selection``), for all wanted ranks at once.  The count
  function is estimated from 625 evenly spaced rows (one ``searchsorted`` for all
  ranks), as an increment over the exact cut at difference 0 that the rank-sum test
  already made; a Newton step with the local slope (the density of y around each
  sampled row's cut) predicts each wanted value to within a few hundred ranks of
  10^8.  One exact cut per group of nearby ranks (the interval's two ends, the
  middle pair) then leaves each answer a few hundred ranks beyond its cut: it is
  read off the next pairs of the rows near the cut, checked complete.  Three merges
  for an estimate and its interval, and no enumeration.
* the general path, for what the near path leaves (discrete data, whose counts jump
  by whole runs of ties; extreme ranks; odd shapes): a coarse guide (the pairwise
  differences of a few evenly spaced quantiles of each sample) and interpolation
  between exact counts choose pivots, a random member of the remaining band is the
  fallback pivot when interpolation stalls, and once a band between two bracketing
  cuts is small, its pairs are enumerated and ``np.partition`` picks the answer.
  It starts from every cut the near path made.

Both are exact: they return the value sorting every computed difference
``x_i - y_j`` gives, which the tests check against brute force on random,
heavily tied and rounding-prone data.  Cuts are consistent with the computed
differences: rounding ``x_i - pivot`` can misplace a pair only when the rounded
value equals ``y_j``, and those rows are checked.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from canary.analysis.merge import count_less

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# Below this many pairs materialising every difference is cheaper than selecting.
BRUTE_FORCE_PAIRS = 1_000_000
# A band this small is enumerated and partitioned directly.
ENUMERATE_PAIRS = 6_000
# Quantile points per sample in the coarse guide (GUIDE_POINTS**2 guide differences).
GUIDE_POINTS = 64
# A cut this close (in ranks) to the wanted one may finish by reading FINISH_WIDTH pairs per row.
FINISH_REACH = 3_000
FINISH_WIDTH = 4
_MAX_ROUNDS = 200
# Near path: rows of the estimated count function, most pairs read per row next to a cut,
# and how far (in ranks, per row of x) a cut may be from the answer and still finish by reading.
SAMPLED_ROWS = 625
READ_DEPTH = 16
NEAR_REACH_PER_ROW = 1.0
_PAD = READ_DEPTH + 1
_NEAR_CUTS = 3
_ESTIMATES = 6
# The near path can be switched off (tests exercise the general path on its own).
NEAR_PATH = True


@dataclass(frozen=True)
class _Cut:
    """An exact split of the pairs at ``value``, and where each row's run starts.

    ``count`` pairs lie on or below the cut, all (as computed) at most ``value``; the
    others lie above it, all at least ``value``.  Pairs equal to ``value`` may be on
    either side, which does not matter for order statistics.
    """

    value: float
    count: int
    start: IntArray  # per x_i: first j of the row's run on or below the cut (y ascending)


class _Cutter:
    """Exact cuts of the implicit sorted matrix x_i - y_j, and reads of the pairs next to them.

    A cut at ``value`` is, per x_i, how many y_j give a difference above it (the
    row's pairs above the cut are j < start_i, in ascending order of difference as j
    falls).  It is one stable argsort of ``x - value`` next to ``y`` in a buffer
    kept for the purpose: numpy merges the two sorted runs in linear time, and a
    needle's merged position minus its index counts the y before it.
    """

    def __init__(self, x: FloatArray, y: FloatArray) -> None:
        self.x = x
        self.y = y
        self.n = len(x)
        self.m = len(y)
        self.total = self.n * self.m
        # y between READ_DEPTH + 1 infinities on each side: the pair ``depth`` places
        # above a cut is ``padded[PAD - 1 - depth + start_i]`` (+inf difference when
        # there is none), the one ``depth`` places below ``padded[PAD + depth + start_i]``.
        self.padded: FloatArray = np.concatenate((np.full(_PAD, -np.inf), y, np.full(_PAD, np.inf)))
        self.merging = self.n * 8 >= self.m  # else a binary search per row is cheaper
        self.buffer = np.empty(self.n + self.m if self.merging else 0)
        if self.merging:
            self.buffer[self.n :] = y

    def above(self, depth: int) -> FloatArray:
        """Indexed by a cut's starts: per row, the y of the pair ``depth`` places above the cut."""
        view: FloatArray = self.padded[_PAD - 1 - depth :]
        return view

    def below(self, depth: int) -> FloatArray:
        """Indexed by a cut's starts: per row, the y of the pair ``depth`` places below the cut."""
        view: FloatArray = self.padded[_PAD + depth :]
        return view

    def cut(self, value: float) -> tuple[_Cut, FloatArray]:
        """The exact cut at ``value`` and, per row, the y just below it.

        The merge compares ``x_i - value`` (rounded) with ``y_j``.  Rounding can only
        disagree with the computed ``x_i - y_j > value`` when ``y_j`` equals the
        rounded ``x_i - value``: no float lies strictly between a real number and its
        rounding, so the next larger y is at or beyond the exact ``x_i - value`` and
        is placed right.  Such rows move past their run of that y value.
        """
        n = self.n
        if self.merging:
            needles = self.buffer[:n]
            np.subtract(self.x, value, out=needles)
            start: IntArray = np.flatnonzero(self.buffer.argsort(kind="stable") < n)
            start -= _positions(n)
        else:
            needles = self.x - value
            start = np.searchsorted(self.y, needles).astype(np.int64)
        first_below: FloatArray = self.below(0)[start]
        moved = np.any(first_below == needles) and _settle(
            self.x, self.y, value, needles=needles, start=start, first_below=first_below
        )
        if moved:
            first_below = self.below(0)[start]
        return _Cut(value, self.total - int(start.sum()), start), first_below

    def read(self, cut: _Cut, first_below: FloatArray, ranks: Sequence[int], slope: float) -> dict[int, float] | None:
        """Answer ranks all on one side of ``cut`` from the few pairs next to it in every row.

        Beyond the cut, row i's pairs come in order (above: x_i - y_j for j = start_i - 1,
        start_i - 2, ...; below, mirrored to y_j - x_i: j = start_i, start_i + 1, ...).
        With a limit predicted a little past the farthest rank (``slope`` is ranks per
        unit), the rows whose nearest pair is within it are read pair after pair until
        each row's next pair lies past the limit: that collects every pair up to the
        limit (most rows hold one, a few two or three).  When they are at least as many
        as needed, the answers are among them.  A limit that falls short is replaced by
        the k-th smallest of the rows' nearest pairs (those k pairs are all within it).
        """
        up = ranks[0] > cut.count
        sign = 1.0 if up else -1.0
        wanted = ranks[-1] - cut.count if up else cut.count - ranks[0] + 1
        nearest: FloatArray = self.x - self.above(0)[cut.start] if up else first_below - self.x
        limit = sign * cut.value + (1.1 * wanted + 200.0) / slope
        for _ in range(2):
            if not math.isfinite(limit):
                if wanted > self.n:
                    return None  # the rows' nearest pairs are too few to bound the answer
                limit = float(np.partition(nearest, wanted - 1)[wanted - 1])
                if not math.isfinite(limit):
                    return None
            candidates = self._collect(cut.start, nearest, limit, up=up)
            if candidates is None:
                return None
            if candidates.size >= wanted:
                places = [r - cut.count - 1 if up else cut.count - r for r in ranks]
                picked = np.partition(candidates, sorted(set(places)))
                return {r: float(sign * picked[k]) for r, k in zip(ranks, places, strict=True)}
            limit = math.inf
        return None

    def _collect(self, start: IntArray, nearest: FloatArray, limit: float, *, up: bool) -> FloatArray | None:
        """Every pair beyond the cut up to ``limit`` (mirrored below it), read row by row outwards.

        None when some row holds more than READ_DEPTH of them (long runs of ties).
        """
        rows = np.flatnonzero(nearest <= limit)
        found = [nearest[rows]]
        x_rows, starts = self.x[rows], start[rows]
        for depth in range(1, READ_DEPTH + 1):
            values = x_rows - self.above(depth)[starts] if up else self.below(depth)[starts] - x_rows
            inside = values <= limit
            if not inside.any():
                return np.concatenate(found)
            x_rows, starts = x_rows[inside], starts[inside]
            found.append(values[inside])
        return None


def _settle(
    x: FloatArray, y: FloatArray, value: float, *, needles: FloatArray, start: IntArray, first_below: FloatArray
) -> bool:
    """Move rows whose first y below the cut equals the rounded x_i - value yet gives x_i - y > value.

    The whole run of that y value moves (equal y give equal differences); the next
    larger y is at or beyond the exact x_i - value.  True when some row moved.
    """
    suspects = np.flatnonzero(first_below == needles)
    # Usually the subtraction was exact and x_i - y_j == value: nothing moves.
    suspects = suspects[x[suspects] - first_below[suspects] > value]
    if not suspects.size:
        return False
    start[suspects] = np.searchsorted(y, first_below[suspects], side="right")
    return True


@functools.lru_cache(maxsize=32)
def _positions(n: int) -> IntArray:
    """0, 1, ..., n - 1; shared, never mutated."""
    return np.arange(n, dtype=np.int64)


class _PairMatrix:
    """The implicit sorted matrix D[i, j] = x[i] - y[j] (x ascending, y ascending)."""

    def __init__(self, x: FloatArray, y: FloatArray, rng: np.random.Generator, cutter: _Cutter) -> None:
        self.x = x
        self.y = y
        self.n = len(x)
        self.m = len(y)
        self.total = self.n * self.m
        self.rng = rng
        self.cutter = cutter
        self.low = _Cut(-np.inf, 0, np.full(self.n, self.m, dtype=np.int64))
        self.high = _Cut(np.inf, self.total, np.zeros(self.n, dtype=np.int64))
        self.cache: list[_Cut] = []  # every exact cut so far, kept sorted by count
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

    def cut(self, value: float) -> _Cut:
        cut, _ = self.cutter.cut(value)
        return self.remember(cut)

    def remember(self, cut: _Cut) -> _Cut:
        bisect.insort(self.cache, cut, key=lambda known: known.count)
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
    return matrix.cache


def _predict(matrix: _PairMatrix, rank: float) -> tuple[float, float]:
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


def _propose(matrix: _PairMatrix, low: _Cut, high: _Cut, rank: int) -> float:
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


def _finish_near(matrix: _PairMatrix, cut: _Cut, rank: int, also: Sequence[int] = ()) -> dict[int, float] | None:
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


def _beyond(matrix: _PairMatrix, cut: _Cut, rank: int) -> float:
    """A value predicted to lie a little past ``rank``, seen from ``cut``."""
    _, error = _predict(matrix, rank)
    return _predict(matrix, rank + (error + 100) * (1 if cut.count < rank else -1))[0]


def _select(matrix: _PairMatrix, rank: int, pending: Sequence[int] = ()) -> tuple[_Cut, _Cut] | dict[int, float]:
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


def _near_pivots(cutter: _Cutter, zero: _Cut, aims: FloatArray) -> tuple[FloatArray, FloatArray] | None:
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


def _near_selection(cutter: _Cutter, ranks: Sequence[int], zero: _Cut) -> tuple[dict[int, float], list[_Cut]]:
    """The ranks the near path answers, and every exact cut it made (for the general path)."""
    cuts: list[_Cut] = []
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
    cutter: _Cutter, previous: _Cut, aim: float, *, guess: tuple[float, float], cuts: list[_Cut]
) -> tuple[_Cut, FloatArray, float] | None:
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


class _Selection:
    """One call's state: the samples, the wanted ranks, what is found and every exact cut made."""

    def __init__(self, x: FloatArray, y: FloatArray, ranks: Sequence[int], below_zero: IntArray | None) -> None:
        self.x, self.y, self.ranks = x, y, ranks
        self.n, self.m = len(x), len(y)
        self.total = self.n * self.m
        if below_zero is None:
            below_zero = count_less(x, y)
        self.zero = _Cut(0.0, int(self.total - int(below_zero.sum())), below_zero)
        # The extreme ranks are the extreme corners of the sorted difference matrix.
        self.found: dict[int, float] = {1: float(x[0] - y[-1]), self.total: float(x[-1] - y[0])}
        self.wanted = [r for r in sorted(set(ranks)) if r not in self.found]
        self.cuts: list[_Cut] = []
        self._cutter: _Cutter | None = None

    @property
    def cutter(self) -> _Cutter:
        if self._cutter is None:
            self._cutter = _Cutter(self.x, self.y)
        return self._cutter

    @property
    def near(self) -> bool:
        """Whether the near path may try (it needs finite differences)."""
        ends = (float(self.x[0]), float(self.x[-1]), float(self.y[0]), float(self.y[-1]))
        return bool(self.wanted) and NEAR_PATH and all(math.isfinite(end) for end in ends)

    def finish(self) -> list[float]:
        """The general path for whatever the near path left, from every cut made so far."""
        remaining = [r for r in self.wanted if r not in self.found]
        if remaining:
            # Seeded: the random pivot only changes the path, never the answer, but a fixed
            # seed keeps the running time reproducible too.
            matrix = _PairMatrix(self.x, self.y, np.random.default_rng(0x5EED), self.cutter)
            for cut in (self.zero, *self.cuts):
                matrix.remember(cut)
            # The middle first: the interval's ends are then extrapolated from exact counts on
            # both sides of the distribution's centre.
            for rank in sorted(remaining, key=lambda r: abs(r - self.total // 2)):
                if rank not in self.found:
                    pending = [r for r in remaining if r not in self.found and r != rank]
                    outcome = _select(matrix, rank, pending)
                    if isinstance(outcome, dict):
                        self.found.update(outcome)
                    else:
                        self.found.update(_pick(matrix, *outcome, remaining))
        return [self.found[r] for r in self.ranks]


def _brute_force(x: FloatArray, y: FloatArray, ranks: Sequence[int]) -> list[float] | None:
    """Check the ranks; the answer from every difference when there are few enough, else None."""
    total = len(x) * len(y)
    for rank in ranks:
        if not 1 <= rank <= total:
            raise ValueError(f"rank {rank} outside 1..{total}")
    if total > BRUTE_FORCE_PAIRS:
        return None
    differences = (x[:, None] - y[None, :]).ravel()
    picked = np.partition(differences, [r - 1 for r in ranks])
    return [float(picked[r - 1]) for r in ranks]


def pairwise_order_statistics(
    x_sorted: FloatArray,
    y_sorted: FloatArray,
    ranks: Sequence[int],
    below_zero: IntArray | None = None,
) -> list[float]:
    """Return the ``ranks``-th smallest (1-based) of all differences ``x_i - y_j``.

    Both inputs must be sorted ascending and free of NaN.  ``below_zero`` (per x_i,
    how many y are strictly below it: what the rank-sum test already counted) is the
    exact cut at difference 0 and saves a pass.
    """
    brute = _brute_force(x_sorted, y_sorted, ranks)
    if brute is not None:
        return brute
    selection = _Selection(x_sorted, y_sorted, ranks, below_zero)
    if selection.near:
        found, selection.cuts = _near_selection(selection.cutter, selection.wanted, selection.zero)
        selection.found.update(found)
    return selection.finish()


def pairwise_median(x_sorted: FloatArray, y_sorted: FloatArray) -> float:
    """Median of all pairwise differences (the Hodges-Lehmann shift estimate)."""
    total = len(x_sorted) * len(y_sorted)
    if total % 2:
        return pairwise_order_statistics(x_sorted, y_sorted, [total // 2 + 1])[0]
    below, above = pairwise_order_statistics(x_sorted, y_sorted, [total // 2, total // 2 + 1])
    return (below + above) / 2.0
