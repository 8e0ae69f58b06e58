"""Weight maths: the replicas router's rounding rule (ceil, at least one pod when the weight is above 0,
never more than the primary, baseline equal to canary, primary untouched) and its inverse, clamping, traffic
splits that always sum to 100 with the baseline matching the canary, and the weight each step holds."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from canary.domain.weights import (
    canary_replicas,
    clamp_weight,
    copy_replicas,
    replicas_traffic_share,
    step_weight,
    traffic_split,
    weight_for_replicas,
)
from canary.models import PauseStep, RouterType, WeightStep

totals = st.integers(min_value=0, max_value=500)
weights = st.integers(min_value=-50, max_value=150)


@given(totals, weights)
def test_canary_replicas_rounding_rule(total: int, weight: int) -> None:
    replicas = canary_replicas(total, weight)
    w = clamp_weight(weight)
    if total == 0 or w == 0:
        assert replicas == 0
    else:
        assert replicas == max(1, math.ceil(total * w / 100))
        assert 1 <= replicas <= total


@given(totals, st.integers(0, 100), st.integers(0, 100))
def test_more_weight_never_means_fewer_canary_pods(total: int, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert canary_replicas(total, low) <= canary_replicas(total, high)


@given(totals, st.integers(0, 100))
def test_weight_for_replicas_is_the_smallest_weight_giving_that_count(total: int, weight: int) -> None:
    replicas = canary_replicas(total, weight)
    back = weight_for_replicas(total, replicas)
    assert canary_replicas(total, back) == replicas
    assert back <= weight
    assert back == 0 or canary_replicas(total, back - 1) < replicas


def test_replicas_examples() -> None:
    # 4 primary pods: 10% -> 1 canary + 1 baseline pod; the canary gets 1 request in 6.
    assert canary_replicas(4, 10) == 1
    assert replicas_traffic_share(4, 1, baseline=True) == 1 / 6
    assert canary_replicas(4, 50) == 2
    assert canary_replicas(4, 100) == 4
    assert canary_replicas(10, 25) == 3
    assert replicas_traffic_share(0, 0, baseline=False) == 0.0


@given(totals, st.integers(0, 100))
def test_copies_are_sized_by_weight_only_under_the_replicas_router(total: int, weight: int) -> None:
    assert copy_replicas(RouterType.REPLICAS, total, weight) == canary_replicas(total, weight)
    for router in RouterType:
        if router is not RouterType.REPLICAS:
            assert copy_replicas(router, total, weight) == total


@given(weights, st.booleans())
def test_traffic_split_sums_to_100_and_the_baseline_matches_the_canary(weight: int, baseline: bool) -> None:
    split = traffic_split(weight, baseline)
    assert split.primary + split.canary + split.baseline == 100
    assert min(split.primary, split.canary, split.baseline) >= 0
    assert split.canary == clamp_weight(weight)
    if baseline:
        assert split.baseline == min(split.canary, 100 - split.canary)
    else:
        assert split.baseline == 0


def test_step_weight_holds_through_pauses() -> None:
    steps = (PauseStep(), WeightStep(10, 60), PauseStep(), WeightStep(50, 60))
    assert [step_weight(steps, i) for i in range(6)] == [0, 10, 10, 50, 50, 50]
    assert step_weight((), 0) == 0
