"""Weight maths: clamping, the weight each step holds, traffic splits and the `replicas` router's counts.

Rounding rule of the replicas router (also in docs/canary.md): the primary keeps all its `total` replicas (the
Release owns it, and a rollback then never waits for the primary to scale back up). The canary copy gets
`ceil(total * weight / 100)` replicas, at least 1 when weight > 0, at most `total`; the baseline copy gets
the same count. The weight is therefore "canary replicas as a percentage of the primary's"; the canary's
share of the requests the primary Service spreads over all pods is `canary / (total + canary + baseline)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from canary.models import RouterType, Step, WeightStep


def clamp_weight(weight: int) -> int:
    return max(0, min(100, weight))


def canary_replicas(total: int, weight: int) -> int:
    """Replicas of the canary (and of the baseline) copy for `weight` under the replicas router."""
    weight = clamp_weight(weight)
    if total <= 0 or weight == 0:
        return 0
    # Integer ceil: float maths would round 100 * 0.07 the wrong way for some totals.
    return min(total, max(1, -(-total * weight // 100)))


def weight_for_replicas(total: int, canary: int) -> int:
    """The smallest weight whose `canary_replicas(total, weight)` is `canary`: the inverse get_weight uses.

    ceil(total * w / 100) >= c exactly when w > 100 * (c - 1) / total. Counts above `total` read as `total`.
    """
    if canary <= 0 or total <= 0:
        return 0
    return min(100, 100 * (min(canary, total) - 1) // total + 1)


def replicas_traffic_share(total: int, canary: int, baseline: bool) -> float:
    """The canary's share of requests when the primary Service spreads them evenly over all pods."""
    pods = total + canary + (canary if baseline else 0)
    return canary / pods if pods else 0.0


def copy_replicas(router: RouterType, total: int, weight: int) -> int:
    """Replicas each copy runs with: sized by weight under the replicas router, else the primary's size,
    because traffic routers send `weight`% of all requests to the copy whatever its size."""
    if router is RouterType.REPLICAS:
        return canary_replicas(total, weight)
    return max(total, 0)


@dataclass(frozen=True)
class TrafficSplit:
    """Percentages of requests per track; they sum to 100."""

    primary: int
    canary: int
    baseline: int


def traffic_split(weight: int, baseline: bool) -> TrafficSplit:
    """Split for a traffic router: the baseline gets the same share as the canary so their metrics compare
    fairly, limited to what is left above 50%; the primary keeps the rest."""
    canary = clamp_weight(weight)
    base = min(canary, 100 - canary) if baseline else 0
    return TrafficSplit(primary=100 - canary - base, canary=canary, baseline=base)


def step_weight(steps: Sequence[Step], index: int) -> int:
    """The weight in force at step `index`: a pause holds the previous weight; past the end, the last one."""
    for step in reversed(steps[: min(index, len(steps) - 1) + 1]):
        if isinstance(step, WeightStep):
            return clamp_weight(step.weight)
    return 0
