"""The Prometheus provider against a real Prometheus server with backfilled data.

Pins down: instant queries give one value per series and range queries every
point; an empty result is NoData; an unreachable server and a malformed query are
Error measurements (retried with backoff only when transient), never exceptions;
the helper's scrape-config mode scrapes a local exporter and stops cleanly;
our histogram_quantile agrees with PromQL's; an escaped hostile label value keeps
the query's shape; and the generic policy library judges a backfilled canary with
5x the baseline's error rate as a Fail.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from canary.analysis import (
    Look,
    MeasurementStatus,
    Observation,
    QueryContext,
    Track,
    Verdict,
    evaluate_metric,
    judge_analysis,
    load_policies,
    render_queries,
)
from canary.analysis.histograms import Histogram, histogram_quantile
from canary.providers import PrometheusProvider, QueryWindow, RetryPolicy, create_provider, measure

# The session fixture, usable here whether or not tests/conftest.py imports it too.
from tests.support.prometheus import (
    OpenMetrics,
    PrometheusFactory,
    PrometheusServer,
    free_port,
    now,
    prometheus_factory,  # noqa: F401
)
from tests.support.wait import wait_for

pytestmark = pytest.mark.prometheus

LIBRARY = Path(__file__).resolve().parents[2] / "policies"

STEP = 15
POINTS = 81  # 20 minutes of 15 s scrapes
BOUNDS = (0.05, 0.1, 0.25, 0.5, 1.0, math.inf)
PODS = {"canary": "web-canary-7d4b9-x2x1z", "baseline": "web-baseline-6c8f7-k9q2m"}
ERROR_SHARE = {"canary": 0.05, "baseline": 0.01}
# Share of requests per latency bucket (non-cumulative), canary slower.
LATENCY_SHARE = {"canary": (0.2, 0.3, 0.3, 0.1, 0.05, 0.05), "baseline": (0.4, 0.3, 0.2, 0.05, 0.03, 0.02)}
RPS = 20.0


def _backfill(end: float) -> OpenMetrics:
    data = OpenMetrics()
    times = [end - STEP * (POINTS - 1 - i) for i in range(POINTS)]
    for track, pod in PODS.items():
        labels = {"namespace": "prod", "pod": pod}
        total = [(t, RPS * STEP * i) for i, t in enumerate(times)]
        data.counter(
            "http_requests_total",
            {**labels, "code": "200"},
            [(t, v * (1 - ERROR_SHARE[track])) for t, v in total],
        )
        data.counter("http_requests_total", {**labels, "code": "500"}, [(t, v * ERROR_SHARE[track]) for t, v in total])
        cumulative = np.cumsum(LATENCY_SHARE[track])
        data.histogram("http_request_duration_seconds", labels, BOUNDS, [(t, list(v * cumulative)) for t, v in total])
    return data


@pytest.fixture(scope="module")
def backfilled(prometheus_factory: PrometheusFactory) -> Iterator[tuple[PrometheusServer, float]]:  # noqa: F811
    end = now() - 30  # the newest point well inside the instant-query lookback
    server = prometheus_factory.start(backfill=_backfill(end))
    try:
        yield server, end
    finally:
        server.stop()


@pytest.fixture
def provider(backfilled: tuple[PrometheusServer, float]) -> PrometheusProvider:
    server, _ = backfilled
    made = create_provider("prometheus", {"url": server.url, "timeout": "5s"})
    assert isinstance(made, PrometheusProvider)
    return made


def test_instant_query_gives_one_value_per_series(provider: PrometheusProvider) -> None:
    values = provider.query('http_requests_total{namespace="prod"}')
    expected = RPS * STEP * (POINTS - 1)
    assert sorted(values) == pytest.approx(
        sorted(expected * share for track in PODS for share in (ERROR_SHARE[track], 1 - ERROR_SHARE[track]))
    )
    assert provider.is_online()


def test_range_query_gives_every_point(
    provider: PrometheusProvider, backfilled: tuple[PrometheusServer, float]
) -> None:
    _, end = backfilled
    window = QueryWindow(
        datetime.fromtimestamp(end - 10 * STEP, UTC),
        datetime.fromtimestamp(end, UTC),
        timedelta(seconds=STEP),
    )
    query = f'http_requests_total{{pod="{PODS["canary"]}", code="500"}}'
    values = provider.query(query, window)
    expected = [RPS * STEP * i * ERROR_SHARE["canary"] for i in range(POINTS - 11, POINTS)]
    assert list(values) == pytest.approx(expected)


def test_empty_result_is_no_data(provider: PrometheusProvider) -> None:
    measurement = measure(provider, 'http_requests_total{namespace="nowhere"}')
    assert measurement.status is MeasurementStatus.NO_DATA
    assert measurement.values.size == 0


def test_unreachable_server_is_an_error_after_bounded_retries() -> None:
    provider = create_provider("prometheus", {"url": f"http://127.0.0.1:{free_port()}", "timeout": 2})
    waits: list[float] = []
    measurement = measure(provider, "up", retry=RetryPolicy(attempts=3, initial_backoff=0.5), sleep=waits.append)
    assert measurement.status is MeasurementStatus.ERROR
    assert measurement.attempts == 3
    assert waits == [0.5, 1.0]
    assert not provider.is_online()


def test_malformed_query_is_an_error_without_retries(provider: PrometheusProvider) -> None:
    waits: list[float] = []
    measurement = measure(provider, "sum(rate(", sleep=waits.append)
    assert measurement.status is MeasurementStatus.ERROR
    assert "400" in measurement.message
    assert waits == []


def test_histogram_quantile_agrees_with_promql(provider: PrometheusProvider) -> None:
    selector = f'http_request_duration_seconds_bucket{{pod="{PODS["canary"]}"}}'
    buckets = measure(provider, f"sum by (le) ({selector})", labelled=True)
    assert buckets.status is MeasurementStatus.OK
    ours = Histogram.from_buckets({labels["le"]: v for labels, v in zip(buckets.labels, buckets.values, strict=True)})
    for q in (0.5, 0.9, 0.95, 0.99):
        theirs = provider.query(f"histogram_quantile({q}, sum by (le) ({selector}))")
        assert histogram_quantile(q, ours) == pytest.approx(float(theirs[0]), rel=1e-12)


def test_escaped_hostile_value_keeps_the_query_shape(provider: PrometheusProvider) -> None:
    (policy,) = [p for p in load_policies(LIBRARY) if p.name == "http-error-rate"]
    hostile = 'prod"} or vector(1) or up{x="'
    context = QueryContext(namespace=hostile, workload="web", track=Track.CANARY, pod_regex=".*", interval="10m")
    total = measure(provider, render_queries(policy.queries, context)["total"])
    # Parsed fine (no Error) and matched no namespace literally called that (NoData).
    assert total.status is MeasurementStatus.NO_DATA
    benign = QueryContext(namespace="prod", workload="web", track=Track.CANARY, pod_regex=".*", interval="10m")
    assert measure(provider, render_queries(policy.queries, benign)["total"]).status is MeasurementStatus.OK


def test_policy_library_fails_a_canary_with_five_times_the_errors(provider: PrometheusProvider) -> None:
    policies = {p.name: p for p in load_policies(LIBRARY)}
    policy = policies["http-error-rate"]
    observations = {}
    for track in (Track.CANARY, Track.BASELINE):
        context = QueryContext(
            namespace="prod", workload="web", track=track, pod_regex=f"web-{track.value}-.*", interval="15m"
        )
        queries = render_queries(policy.queries, context)
        observations[track] = Observation.of(**{name: measure(provider, q) for name, q in queries.items()})
    evidence = evaluate_metric(policy, observations[Track.CANARY], observations[Track.BASELINE])
    result = judge_analysis([evidence], Look(number=10, planned=10))
    (metric,) = result.metrics
    assert result.verdict is Verdict.FAIL, metric.reason
    assert metric.evidence.canary == pytest.approx(0.05, rel=1e-4)
    assert metric.evidence.baseline == pytest.approx(0.01, rel=1e-4)
    assert metric.to_status()["query"].count("web-canary-.*") == 2


class _Exporter(BaseHTTPRequestHandler):
    """A one-metric exporter: what Prometheus scrapes in the scrape-config mode."""

    def do_GET(self) -> None:
        body = b'# TYPE http_requests_total counter\nhttp_requests_total{code="200"} 42\n'
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


def test_scrape_config_mode_scrapes_a_local_exporter(prometheus_factory: PrometheusFactory) -> None:  # noqa: F811
    exporter = ThreadingHTTPServer(("127.0.0.1", 0), _Exporter)
    thread = threading.Thread(target=exporter.serve_forever, daemon=True)
    thread.start()
    try:
        target = f"127.0.0.1:{exporter.server_address[1]}"
        server = prometheus_factory.start(
            scrape_configs=[{"job_name": "app", "static_configs": [{"targets": [target]}]}]
        )
        provider = create_provider("prometheus", {"url": server.url})
        values = wait_for(
            lambda: provider.query('http_requests_total{job="app"}').tolist(), timeout=30, what="the first scrape"
        )
        assert values == [42.0]
        server.stop()
        assert server.process.poll() is not None
    finally:
        exporter.shutdown()
        exporter.server_close()
        thread.join(timeout=5)
