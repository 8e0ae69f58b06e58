"""Pins down the simulated clients: a seeded run splits requests across backends in proportion to
their weights and round-robin across a backend's pods, each version fails at its profile's error
rate with its latency distribution, runs are reproducible, and the request clock is exact."""

from __future__ import annotations

import random
import statistics
from collections import Counter

import pytest

from simulator.model import Backend, Pod, RoutingState
from simulator.profiles import ProfileSet
from simulator.traffic import Request, RequestClock, TrafficEngine, WeightedPicker


def pods(prefix: str, n: int, tag: str = "1.0") -> tuple[Pod, ...]:
    return tuple(Pod(f"{prefix}-{i}", "shop", True, "primary", f"web:{tag}", tag) for i in range(n))


def run(routing: RoutingState, profiles: ProfileSet, count: int, seed: int = 7) -> list[Request]:
    out: list[Request] = []
    TrafficEngine(seed).run(routing, profiles, count, out.append)
    return out


def test_weighted_picker_matches_weights_within_tolerance() -> None:
    backends = [
        Backend("web", 90, pods("web", 1)), Backend("web-canary", 10, pods("c", 1)), Backend("off", 0, ()),
    ]
    picker, rng = WeightedPicker(backends), random.Random(3)
    picks = Counter(b.name for b in (picker.pick(rng) for _ in range(20_000)) if b)
    assert picks["off"] == 0
    # binomial sd of the canary share at n=20000 is 0.0021: 0.01 is ~5 sd
    assert picks["web-canary"] / 20_000 == pytest.approx(0.10, abs=0.01)


def test_no_positive_weight_means_no_backend() -> None:
    assert WeightedPicker([Backend("a", 0, pods("a", 1))]).pick(random.Random(1)) is None


def test_requests_follow_weights_then_round_robin_within_a_backend() -> None:
    routing = RoutingState("shop", (
        Backend("web", 80, pods("web", 4)), Backend("web-canary", 20, pods("web-canary", 2, "2.0")),
    ))
    requests = run(routing, ProfileSet(), 10_000)
    by_backend = Counter(r.backend for r in requests)
    assert by_backend["web-canary"] / 10_000 == pytest.approx(0.2, abs=0.015)
    by_pod = Counter(r.pod.name for r in requests if r.pod)
    for backend, n in (("web", 4), ("web-canary", 2)):
        counts = [by_pod[f"{backend}-{i}"] for i in range(n)]
        assert max(counts) - min(counts) <= 1, counts  # round-robin is exact


def test_replicas_routing_splits_by_ready_replica_count() -> None:
    routing = RoutingState("shop", (Backend("web", 100, pods("web", 3) + pods("web-canary", 1, "2.0")),))
    requests = run(routing, ProfileSet(), 1000)
    assert sum(1 for r in requests if r.pod and r.pod.tag == "2.0") == 250


def test_error_rate_and_latency_follow_the_version_profile() -> None:
    profiles = ProfileSet.from_yaml("""
        default: {errorRate: 0.01, latency: {median: 0.05, sigma: 0.3}}
        versions: {"2.0": {errorRate: 0.3, latency: {median: 0.2}}}
    """)
    backends = (Backend("web", 50, pods("web", 2)), Backend("c", 50, pods("c", 2, "2.0")))
    routing = RoutingState("shop", backends)
    requests = run(routing, profiles, 20_000)
    for tag, rate, median in (("1.0", 0.01, 0.05), ("2.0", 0.3, 0.2)):
        mine = [r for r in requests if r.pod and r.pod.tag == tag]
        assert sum(r.code == 500 for r in mine) / len(mine) == pytest.approx(rate, abs=0.015)
        assert {r.code for r in mine} == {200, 500}
        assert statistics.median(r.latency for r in mine) == pytest.approx(median, rel=0.03)


def test_sigma_zero_is_a_constant_latency() -> None:
    routing = RoutingState("shop", (Backend("web", 1, pods("web", 1)),))
    requests = run(routing, ProfileSet.from_yaml("default: {latency: {median: 0.1, sigma: 0}}"), 50)
    assert {r.latency for r in requests} == {0.1}


def test_same_seed_same_run_and_routing_does_not_reshuffle_outcomes() -> None:
    routing = RoutingState("shop", (Backend("a", 1, pods("a", 2)), Backend("b", 1, pods("b", 1))))
    profiles = ProfileSet.from_yaml("default: {errorRate: 0.2}")
    assert run(routing, profiles, 500, seed=1) == run(routing, profiles, 500, seed=1)
    assert run(routing, profiles, 500, seed=1) != run(routing, profiles, 500, seed=2)
    one_backend = RoutingState("shop", (Backend("a", 1, pods("a", 2)),))
    codes = [r.code for r in run(routing, profiles, 500, seed=1)]
    assert codes == [r.code for r in run(one_backend, profiles, 500, seed=1)]


def test_backend_without_ready_pods_fails_without_reaching_a_pod() -> None:
    routing = RoutingState("shop", (Backend("web-canary", 1, ()),))
    requests = run(routing, ProfileSet(), 3)
    assert [(r.pod, r.code) for r in requests] == [(None, 503)] * 3


def test_no_backends_routes_nothing() -> None:
    assert TrafficEngine(1).run(RoutingState("shop", ()), ProfileSet(), 10, lambda r: None) == 0


def test_clock_counts_exactly_however_ticks_fall() -> None:
    clock = RequestClock(10, now=100.0)
    sent = sum(clock.due(t) for t in (100.05, 100.33, 100.34, 101.0, 101.25, 102.0))
    assert sent == 20
    clock.reset(4, now=102.0)
    assert clock.due(102.5) == 2
    assert clock.due(102.5) == 0


def test_clock_drops_a_backlog_after_a_stall_and_zero_rps_sends_nothing() -> None:
    clock = RequestClock(10, now=0.0, max_backlog=5)
    assert clock.due(60.0) == 0  # a minute-long stall is not burst out
    assert clock.due(61.0) == 10
    clock.reset(0, now=61.0)
    assert clock.due(1000.0) == 0
    with pytest.raises(ValueError, match="rps"):
        clock.reset(-1, now=0.0)
