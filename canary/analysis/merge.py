"""Counting by merging two sorted arrays, the inner loop of the rank statistics.

``np.searchsorted`` costs a binary search per needle.  When needles and haystack
are both sorted and of similar size, a stable argsort of their concatenation is
about twice as fast: numpy's stable sort detects the two sorted runs and merges
them in linear time, and a needle's position in the merged order, minus its own
index, is how many haystack values precede it.  Stability decides ties: needles
placed first precede equal haystack values (strictly-less counts), placed last
they follow them (at-most counts).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


def _merge_pays(needles: int, haystack: int) -> bool:
    # Merging is linear in both sizes; binary search is needles * log(haystack).
    return needles * 8 >= haystack


def count_less(needles_sorted: FloatArray, haystack_sorted: FloatArray) -> IntArray:
    """Per needle, the number of haystack values strictly below it (``searchsorted(side="left")``)."""
    n = len(needles_sorted)
    if not _merge_pays(n, len(haystack_sorted)):
        return np.searchsorted(haystack_sorted, needles_sorted, side="left").astype(np.int64)
    order = np.argsort(np.concatenate((needles_sorted, haystack_sorted)), kind="stable")
    positions: IntArray = np.flatnonzero(order < n) - np.arange(n)
    return positions


def count_not_greater(needles_sorted: FloatArray, haystack_sorted: FloatArray) -> IntArray:
    """Per needle, the number of haystack values at or below it (``searchsorted(side="right")``)."""
    m = len(haystack_sorted)
    n = len(needles_sorted)
    if not _merge_pays(n, m):
        return np.searchsorted(haystack_sorted, needles_sorted, side="right").astype(np.int64)
    order = np.argsort(np.concatenate((haystack_sorted, needles_sorted)), kind="stable")
    positions: IntArray = np.flatnonzero(order >= m) - np.arange(n)
    return positions
