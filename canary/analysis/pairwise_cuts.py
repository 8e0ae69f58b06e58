"""Exact cuts of the implicit sorted matrix of pairwise differences ``x_i - y_j``.

A cut at a value splits the n*m differences of two sorted samples into those on
or below it and those above, per row of x: one linear merge of ``x - value`` with
``y``.  A cut also reads the few pairs next to it in every row, which is how the
near path answers ranks close to it (``canary.analysis.pairwise`` has the
overview).  Cuts are consistent with the computed differences under rounding.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# Most pairs read per row next to a cut (deeper runs of ties fall back to the general path).
READ_DEPTH = 16
_PAD = READ_DEPTH + 1


@dataclass(frozen=True)
class Cut:
    """An exact split of the pairs at ``value``, and where each row's run starts.

    ``count`` pairs lie on or below the cut, all (as computed) at most ``value``; the
    others lie above it, all at least ``value``.  Pairs equal to ``value`` may be on
    either side, which does not matter for order statistics.
    """

    value: float
    count: int
    start: IntArray  # per x_i: first j of the row's run on or below the cut (y ascending)


class Cutter:
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

    def cut(self, value: float) -> tuple[Cut, FloatArray]:
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
        return Cut(value, self.total - int(start.sum()), start), first_below

    def read(self, cut: Cut, first_below: FloatArray, ranks: Sequence[int], slope: float) -> dict[int, float] | None:
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
