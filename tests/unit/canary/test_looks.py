"""The analysis look pool (canary.kube.looks): a look's result is handed only to a claim of the same look of
the same canary, and wakes that canary when it is ready; a claim of another look drops the held one, whose
late result is never delivered; a slow Prometheus holds only its own canary's look (bounded queries per look)
while another canary's look completes; and a look's identity stays put across reconciles until the step, its
clock or its recorded history moves on."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import numpy as np

from canary.analysis import MetricPolicy
from canary.analysis.policy import MetricType, TestKind
from canary.domain.actions import LookId, RunAnalysis
from canary.domain.machine import decide
from canary.kube.analysis import LookPlan, MetricPlan, Query
from canary.kube.looks import RUNNING, LookPool
from canary.models import Verdict
from canary.providers import QueryWindow
from tests.unit.canary.world import T0, World

DEADLINE = 30.0  # seconds any wait below may take before the test fails


class Provider:
    """Answers every query with a few error/total counts; blocks on `gate` while it is closed."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.gate = gate
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0
        self.queries: list[str] = []

    def query(self, query: str, window: QueryWindow | None = None) -> np.ndarray:
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            self.queries.append(query)
        try:
            if self.gate is not None:
                assert self.gate.wait(DEADLINE), "the test never opened the gate"
            return np.array([1.0 if "errors" in query else 1000.0])
        finally:
            with self.lock:
                self.in_flight -= 1

    def is_online(self) -> bool:
        return True


def action(step: int = 0, previous_seconds: int | None = None, until: int = 30) -> RunAnalysis:
    previous = None if previous_seconds is None else T0 + timedelta(seconds=previous_seconds)
    return RunAnalysis(step, 10, T0, T0 + timedelta(seconds=until), previous=previous)


def plan(run: RunAnalysis, provider: Provider, workloads: int = 1) -> LookPlan:
    policy = MetricPolicy(name="http-error-rate", type=MetricType.RATIO, test=TestKind.PROPORTION,
                          queries={"errors": "e", "total": "t"})
    metrics = tuple(
        MetricPlan(policy, False, {track: {"errors": Query(f"errors{{w={w},track={track}}}", None),
                                           "total": Query(f"total{{w={w},track={track}}}", None)}
                                   for track in ("canary", "baseline")})
        for w in range(workloads))
    return LookPlan(run, provider, metrics)


class Woken:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.events: dict[str, threading.Event] = {}
        self.lock = threading.Lock()

    def __call__(self, namespace: str, name: str) -> None:
        with self.lock:
            self.calls.append((namespace, name))
            self.events.setdefault(name, threading.Event()).set()

    def wait(self, name: str) -> bool:
        with self.lock:
            event = self.events.setdefault(name, threading.Event())
        return event.wait(DEADLINE)


def test_a_result_goes_to_a_claim_of_the_same_look_and_wakes_its_canary() -> None:
    woken, gate = Woken(), threading.Event()
    pool = LookPool(4, on_ready=woken)
    run = action()
    assert pool.claim("uid-a", run.identity) is None
    pool.start("uid-a", "prod", "a", plan(run, Provider(gate)))
    assert pool.claim("uid-a", run.identity) is RUNNING
    gate.set()
    assert woken.wait("a")
    outcome = pool.claim("uid-a", run.identity)
    assert outcome is not None and outcome is not RUNNING
    assert (outcome.record.time, outcome.record.step) == (run.until, 0)
    # Claimed again (the status patch that records it failed, say): the same result, not a new look.
    assert pool.claim("uid-a", run.identity) is outcome
    assert pool.claim("uid-b", run.identity) is None  # another canary holds nothing
    pool.shutdown(wait=True)


def test_a_claim_of_another_look_drops_the_held_one_and_its_late_result_is_never_delivered() -> None:
    woken, gate = Woken(), threading.Event()
    pool = LookPool(4, on_ready=woken)
    stale, fresh = action(), action(previous_seconds=30, until=60)
    slow = Provider(gate)
    pool.start("uid-a", "prod", "a", plan(stale, slow))
    assert pool.claim("uid-a", fresh.identity) is None  # stale: dropped
    pool.start("uid-a", "prod", "a", plan(fresh, Provider()))
    assert woken.wait("a")
    gate.set()  # the stale look's queries now finish
    pool.shutdown(wait=True)
    outcome = pool.claim("uid-a", fresh.identity)
    assert outcome is not None and outcome is not RUNNING
    assert outcome.record.time == fresh.until
    assert woken.calls == [("prod", "a")]  # once, for the fresh look only
    assert pool.claim("uid-a", stale.identity) is None


def test_a_slow_prometheus_holds_only_its_own_canary() -> None:
    woken, gate = Woken(), threading.Event()
    pool = LookPool(4, on_ready=woken, per_look=1)
    slow, fast = Provider(gate), Provider()
    run = action()
    pool.start("uid-slow", "prod", "slow", plan(run, slow, workloads=3))
    pool.start("uid-fast", "prod", "fast", plan(run, fast, workloads=3))
    assert woken.wait("fast")  # all of the fast canary's queries ran while the slow one's first hangs
    assert pool.claim("uid-slow", run.identity) is RUNNING
    assert len(fast.queries) == 12
    assert len(slow.queries) == 1
    assert slow.most == 1  # one query at a time: three workers stayed free for the others
    gate.set()
    assert woken.wait("slow")
    assert len(slow.queries) == 12
    pool.shutdown(wait=True)


def test_a_look_has_at_most_its_share_of_the_pool_in_flight() -> None:
    woken = Woken()
    provider = Provider()
    pool = LookPool(8, on_ready=woken)  # a quarter: 2 per look
    pool.start("uid-a", "prod", "a", plan(action(), provider, workloads=4))
    assert woken.wait("a")
    assert len(provider.queries) == 16
    assert provider.most <= 2
    pool.shutdown(wait=True)


def test_forgetting_a_canary_drops_its_look() -> None:
    woken, gate = Woken(), threading.Event()
    pool = LookPool(2, on_ready=woken)
    run = action()
    pool.start("uid-a", "prod", "a", plan(run, Provider(gate)))
    pool.forget("uid-a")
    assert pool.held() == 0
    gate.set()
    pool.shutdown(wait=True)
    assert woken.calls == []


def test_a_look_keeps_its_identity_across_reconciles_until_its_step_moves_on() -> None:
    # Given a canary whose first look is due
    world = World(judge=lambda _run: Verdict.PASS).run(until=lambda w: w.parsed_status.phase.value == "Progressing")
    started = world.parsed_status.step_started_at
    assert started is not None
    world.now = started + timedelta(seconds=30)
    first = decide(world.observe(), world.now).of(RunAnalysis)[-1]
    # When the look is still running at the next reconciles (later `until`, maybe another look number)
    later = decide(world.observe(), world.now + timedelta(seconds=25)).of(RunAnalysis)[-1]
    # Then it is the same look
    assert later.until != first.until
    assert later.identity == first.identity == LookId(0, 10, started, None)
    # And once a look is recorded, the next one is another look
    world.reconcile()
    world.now += timedelta(seconds=30)
    following = decide(world.observe(), world.now).of(RunAnalysis)[-1]
    assert following.identity == replace(first.identity, previous=first.until)
