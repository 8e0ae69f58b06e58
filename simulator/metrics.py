"""What the simulated application would export, in Prometheus text format.

Per pod, with the pod's real name and namespace as labels (Prometheus scrapes with
`honor_labels: true` so they are kept):
  http_requests_total{namespace, pod, code}                      counter, code 200 or 500
  http_request_duration_seconds_bucket{namespace, pod, le}       histogram (+ _sum, _count)
Simulator sanity metrics:
  simulator_requests_total{namespace, backend, outcome}          ok | error | no_endpoints | no_route
  simulator_backend_weight{namespace, backend}                   weight the router gives the backend
  simulator_backend_ready_pods{namespace, backend}
  simulator_target_rps{namespace}

Every pod a backend routes to gets its series as soon as it is seen, at zero, for codes 200 and 500
(the usual "initialise your labels" practice): an error-ratio query then reads 0 for a healthy
pod instead of returning nothing. Series of a pod disappear once the pod no longer exists, as they
would with the pod's process.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from simulator.model import RoutingState
from simulator.traffic import Request

# prometheus_client's default buckets: they cover 5ms..10s, the range the profiles live in.
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)
INITIAL_CODES = (200, 500)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class _PodSeries:
    codes: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    buckets: list[int] = field(default_factory=list)  # non-cumulative; last slot is +Inf
    total: float = 0.0
    count: int = 0


def validate_buckets(buckets: Iterable[float]) -> tuple[float, ...]:
    values = tuple(float(b) for b in buckets)
    if not values or any(not math.isfinite(b) for b in values) or list(values) != sorted(set(values)):
        raise ValueError(f"buckets must be finite, strictly increasing and non-empty, got {values}")
    return values


class MetricStore:
    """Thread-safe counters and histograms fed by the traffic loop and read by /metrics."""

    def __init__(self, namespace: str, buckets: Sequence[float] = DEFAULT_BUCKETS) -> None:
        self.namespace = namespace
        self.buckets = validate_buckets(buckets)
        self._lock = threading.Lock()
        self._pods: dict[str, _PodSeries] = {}
        self._requests: dict[tuple[str, str], int] = defaultdict(int)
        self._routing: RoutingState | None = None
        self._rps = 0.0

    def record(self, request: Request) -> None:
        with self._lock:
            if request.pod is None:
                self._requests[(request.backend, "no_endpoints")] += 1
                return
            outcome = "ok" if request.code < 500 else "error"
            self._requests[(request.backend, outcome)] += 1
            series = self._series(request.pod.name)
            series.codes[request.code] += 1
            # `le` is inclusive: a request of exactly 0.1s belongs in the le="0.1" bucket.
            series.buckets[bisect.bisect_left(self.buckets, request.latency)] += 1
            series.total += request.latency
            series.count += 1

    def _series(self, pod: str) -> _PodSeries:
        series = self._pods.get(pod)
        if series is None:
            series = self._pods[pod] = _PodSeries(buckets=[0] * (len(self.buckets) + 1))
            for code in INITIAL_CODES:
                series.codes[code] = 0
        return series

    def record_unrouted(self, count: int) -> None:
        if count > 0:
            with self._lock:
                self._requests[("", "no_route")] += count

    def update_routing(self, routing: RoutingState, rps: float) -> None:
        """Remember the routing state for the gauges, start the series of newly routed pods at zero,
        and forget pods that no longer exist."""
        with self._lock:
            self._routing, self._rps = routing, rps
            for name in [n for n in self._pods if n not in routing.existing_pods]:
                del self._pods[name]
            for backend in routing.backends:
                for pod in backend.pods:
                    self._series(pod.name)

    def set_rps(self, rps: float) -> None:
        with self._lock:
            self._rps = rps

    def request_counts(self) -> dict[str, dict[int, int]]:
        """Per pod, requests by status code (a snapshot, for tests and the /routing view)."""
        with self._lock:
            return {pod: dict(s.codes) for pod, s in self._pods.items()}

    def collect(self) -> Iterator[Metric]:
        ns = self.namespace
        requests = CounterMetricFamily(
            "http_requests", "Simulated HTTP requests the pod handled.", labels=["namespace", "pod", "code"]
        )
        latency = HistogramMetricFamily(
            "http_request_duration_seconds", "Simulated HTTP request latency.", labels=["namespace", "pod"]
        )
        sanity = CounterMetricFamily(
            "simulator_requests", "Requests the simulator sent, by backend and outcome.",
            labels=["namespace", "backend", "outcome"],
        )
        weight = GaugeMetricFamily(
            "simulator_backend_weight", "Router weight of the backend.", labels=["namespace", "backend"]
        )
        ready = GaugeMetricFamily(
            "simulator_backend_ready_pods", "Ready pods behind the backend.", labels=["namespace", "backend"]
        )
        rps = GaugeMetricFamily("simulator_target_rps", "Configured request rate.", labels=["namespace"])
        with self._lock:
            for pod, s in sorted(self._pods.items()):
                for code, n in sorted(s.codes.items()):
                    requests.add_metric([ns, pod, str(code)], n)
                cumulative, buckets = 0, []
                for bound, n in zip([*self.buckets, math.inf], s.buckets, strict=True):
                    cumulative += n
                    buckets.append(("+Inf" if bound == math.inf else repr(bound), cumulative))
                latency.add_metric([ns, pod], buckets, s.total)
            for (backend, outcome), n in sorted(self._requests.items()):
                sanity.add_metric([ns, backend, outcome], n)
            if self._routing is not None:
                for b in self._routing.backends:
                    weight.add_metric([ns, b.name], b.weight)
                    ready.add_metric([ns, b.name], len(b.pods))
            rps.add_metric([ns], self._rps)
        yield from (requests, latency, sanity, weight, ready, rps)


class _StoreCollector(Collector):
    def __init__(self, store: MetricStore) -> None:
        self._store = store

    def collect(self) -> Iterable[Metric]:
        return self._store.collect()


def exposition(store: MetricStore) -> bytes:
    """The store in Prometheus text exposition format 0.0.4."""
    # A private registry: the process-wide default one would add the simulator's own
    # python_*/process_* metrics, which have nothing to do with the simulated pods.
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_StoreCollector(store))
    return generate_latest(registry)
