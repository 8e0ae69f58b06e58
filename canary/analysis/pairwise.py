"""Order statistics of the pairwise differences ``x_i - y_j`` of two sorted samples.

The Hodges-Lehmann shift estimate and its Wilcoxon confidence interval are order
statistics of the n*m pairwise differences.  For 10,000 samples per side that is
10^8 values, too many to materialise.  The differences form a matrix sorted along
both axes, so an exact *cut* (per row, how many differences lie above a pivot, and
their total) is one linear merge of ``x - pivot`` with ``y`` (``pairwise_cuts``).
Large inputs use:

* the near path (``pairwise_near``), for all wanted ranks at once.  The count
  function is estimated from 625 evenly spaced rows (one ``searchsorted`` for all
  ranks), as an increment over the exact cut at difference 0 that the rank-sum test
  already made; a Newton step with the local slope (the density of y around each
  sampled row's cut) predicts each wanted value to within a few hundred ranks of
  10^8.  One exact cut per group of nearby ranks (the interval's two ends, the
  middle pair) then leaves each answer a few hundred ranks beyond its cut: it is
  read off the next pairs of the rows near the cut, checked complete.  Three merges
  for an estimate and its interval, and no enumeration.
* the general path (``pairwise_general``), for what the near path leaves (discrete
  data, whose counts jump by whole runs of ties; extreme ranks; odd shapes): a
  coarse guide (the pairwise differences of a few evenly spaced quantiles of each
  sample) and interpolation between exact counts choose pivots, a random member of
  the remaining band is the fallback pivot when interpolation stalls, and once a
  band between two bracketing cuts is small, its pairs are enumerated and
  ``np.partition`` picks the answer.  It starts from every cut the near path made.

This module drives the selection (brute force for small inputs, the near path,
then the general path for what is left).

Both are exact: they return the value sorting every computed difference
``x_i - y_j`` gives, which the tests check against brute force on random,
heavily tied and rounding-prone data.  Cuts are consistent with the computed
differences: rounding ``x_i - pivot`` can misplace a pair only when the rounded
value equals ``y_j``, and those rows are checked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from canary.analysis.merge import count_less
from canary.analysis.pairwise_cuts import Cut, Cutter
from canary.analysis.pairwise_general import PairMatrix, pick, select
from canary.analysis.pairwise_near import near_selection

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# Below this many pairs materialising every difference is cheaper than selecting.
BRUTE_FORCE_PAIRS = 1_000_000
# The near path can be switched off (tests exercise the general path on its own).
NEAR_PATH = True


class _Selection:
    """One call's state: the samples, the wanted ranks, what is found and every exact cut made."""

    def __init__(self, x: FloatArray, y: FloatArray, ranks: Sequence[int], below_zero: IntArray | None) -> None:
        self.x, self.y, self.ranks = x, y, ranks
        self.n, self.m = len(x), len(y)
        self.total = self.n * self.m
        if below_zero is None:
            below_zero = count_less(x, y)
        self.zero = Cut(0.0, int(self.total - int(below_zero.sum())), below_zero)
        # The extreme ranks are the extreme corners of the sorted difference matrix.
        self.found: dict[int, float] = {1: float(x[0] - y[-1]), self.total: float(x[-1] - y[0])}
        self.wanted = [r for r in sorted(set(ranks)) if r not in self.found]
        self.cuts: list[Cut] = []
        self._cutter: Cutter | None = None

    @property
    def cutter(self) -> Cutter:
        if self._cutter is None:
            self._cutter = Cutter(self.x, self.y)
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
            matrix = PairMatrix(self.x, self.y, np.random.default_rng(0x5EED), self.cutter)
            for cut in (self.zero, *self.cuts):
                matrix.remember(cut)
            # The middle first: the interval's ends are then extrapolated from exact counts on
            # both sides of the distribution's centre.
            for rank in sorted(remaining, key=lambda r: abs(r - self.total // 2)):
                if rank not in self.found:
                    pending = [r for r in remaining if r not in self.found and r != rank]
                    outcome = select(matrix, rank, pending)
                    if isinstance(outcome, dict):
                        self.found.update(outcome)
                    else:
                        self.found.update(pick(matrix, *outcome, remaining))
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
        found, selection.cuts = near_selection(selection.cutter, selection.wanted, selection.zero)
        selection.found.update(found)
    return selection.finish()


def pairwise_median(x_sorted: FloatArray, y_sorted: FloatArray) -> float:
    """Median of all pairwise differences (the Hodges-Lehmann shift estimate)."""
    total = len(x_sorted) * len(y_sorted)
    if total % 2:
        return pairwise_order_statistics(x_sorted, y_sorted, [total // 2 + 1])[0]
    below, above = pairwise_order_statistics(x_sorted, y_sorted, [total // 2, total // 2 + 1])
    return (below + above) / 2.0
