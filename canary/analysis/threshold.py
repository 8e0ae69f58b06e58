"""Absolute threshold checks on one value, inclusive at both ends as Flagger's.

A value passes when ``min <= value <= max``; an unset bound does not constrain.
NaN never passes: a query that produced NaN (0/0 rates) is reported as NoData by
the caller, and a NaN that reaches this check is treated as out of range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Threshold:
    min: float | None = None
    max: float | None = None

    def __post_init__(self) -> None:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"threshold min {self.min} is above max {self.max}")

    @property
    def is_set(self) -> bool:
        return self.min is not None or self.max is not None


@dataclass(frozen=True)
class ThresholdCheck:
    value: float
    passed: bool
    below_min: bool
    above_max: bool


def check_threshold(value: float, threshold: Threshold) -> ThresholdCheck:
    if math.isnan(value):
        return ThresholdCheck(value, False, False, False)
    below = threshold.min is not None and value < threshold.min
    above = threshold.max is not None and value > threshold.max
    return ThresholdCheck(value, not (below or above), below, above)
