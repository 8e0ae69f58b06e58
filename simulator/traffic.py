"""Simulated clients: when requests happen, which pod each reaches, and how each one ends.

Pure and deterministic: given a seed, the same routing states and the same request counts give
the same outcomes. Backends are picked at random in proportion to their weights, as Envoy's
weighted clusters and ingress-nginx's canary-weight do; within a backend requests go
round-robin over its ready pods, as kube-proxy's spread does on average.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from simulator.model import Backend, Pod, RoutingState
from simulator.profiles import ProfileSet

OK, ERROR = 200, 500


class RequestClock:
    """A fixed-rate schedule: request i is due at start + i / rps.

    Counting due requests against the schedule (rather than adding rps * dt per tick) keeps the
    total exact however unevenly ticks arrive. After a stall longer than `max_backlog` seconds
    the backlog is dropped instead of burst out, as clients that time out would.
    """

    def __init__(self, rps: float, now: float, max_backlog: float = 5.0) -> None:
        self.max_backlog = max_backlog
        self._rps = 0.0
        self.reset(rps, now)

    @property
    def rps(self) -> float:
        return self._rps

    def reset(self, rps: float, now: float) -> None:
        if not (rps >= 0 and math.isfinite(rps)):
            raise ValueError(f"rps must be a finite number >= 0, got {rps}")
        self._rps = rps
        self._start = now
        self._emitted = 0

    def due(self, now: float) -> int:
        """How many requests to send now; marks them as sent."""
        if self._rps == 0:
            return 0
        expected = math.floor((now - self._start) * self._rps)
        if expected - self._emitted > self.max_backlog * self._rps:
            self.reset(self._rps, now)
            return 0
        count = max(expected - self._emitted, 0)
        self._emitted += count
        return count


class WeightedPicker:
    """Weighted random choice over the backends with a positive weight."""

    def __init__(self, backends: Sequence[Backend]) -> None:
        self.backends = [b for b in backends if b.weight > 0]
        self._cumulative: list[float] = []
        total = 0.0
        for b in self.backends:
            total += b.weight
            self._cumulative.append(total)
        self.total = total

    def pick(self, rng: random.Random) -> Backend | None:
        if not self.backends:
            return None
        index = bisect.bisect_right(self._cumulative, rng.random() * self.total)
        return self.backends[min(index, len(self.backends) - 1)]


@dataclass(frozen=True)
class Request:
    """One simulated request: where it went and how it ended. `pod` is None when the chosen
    backend had no ready pod (the proxy would answer 503 without reaching the application)."""

    backend: str
    pod: Pod | None
    code: int
    latency: float


class TrafficEngine:
    """Turns a routing state and profiles into a stream of request outcomes.

    Routing choices and outcomes draw from separate seeded streams, so changing where requests
    go does not reshuffle which of them fail.
    """

    def __init__(self, seed: int) -> None:
        self._route_rng = random.Random(f"{seed}:route")
        self._outcome_rng = random.Random(f"{seed}:outcome")
        self._round_robin: dict[str, int] = {}
        self._picker_for: RoutingState | None = None
        self._picker = WeightedPicker(())

    def _pod_in(self, backend: Backend) -> Pod | None:
        if not backend.pods:
            return None
        index = self._round_robin.get(backend.name, 0)
        self._round_robin[backend.name] = index + 1
        return backend.pods[index % len(backend.pods)]

    def run(
        self, routing: RoutingState, profiles: ProfileSet, count: int, sink: Callable[[Request], None]
    ) -> int:
        """Simulate `count` requests, handing each to `sink`; returns how many had a backend."""
        if self._picker_for is not routing:  # rebuild only when a new routing state arrives
            self._picker, self._picker_for = WeightedPicker(routing.backends), routing
        routed = 0
        for _ in range(count):
            backend = self._picker.pick(self._route_rng)
            if backend is None:
                return routed
            routed += 1
            pod = self._pod_in(backend)
            if pod is None:
                sink(Request(backend.name, None, 503, 0.0))
                continue
            profile = profiles.for_tag(pod.tag)
            code = ERROR if self._outcome_rng.random() < profile.error_rate else OK
            sink(Request(backend.name, pod, code, profile.sample_latency(self._outcome_rng)))
        return routed
