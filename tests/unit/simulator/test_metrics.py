"""Pins down the exported metrics: the names and labels the policies library queries, histogram
buckets that are cumulative with an inclusive `le`, text exposition that both prometheus_client's
parser and Prometheus's own promtool accept, and series that vanish with their pod."""

from __future__ import annotations

import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from simulator.metrics import MetricStore, exposition, validate_buckets
from simulator.model import Backend, Pod, RoutingState
from simulator.traffic import Request

POD = Pod("web-7d4-abcde", "shop", True, "canary", "web:2.0", "2.0")


def samples(store: MetricStore) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = exposition(store).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return (name, frozenset(labels.items()))


def test_histogram_buckets_are_cumulative_and_le_is_inclusive() -> None:
    store = MetricStore("shop", buckets=(0.1, 0.5, 1.0))
    for latency in (0.05, 0.1, 0.3, 0.5, 2.0):
        store.record(Request("web", POD, 200, latency))
    got = samples(store)
    labels = {"namespace": "shop", "pod": POD.name}
    bucket = "http_request_duration_seconds_bucket"
    assert got[key(bucket, le="0.1", **labels)] == 2
    assert got[key(bucket, le="0.5", **labels)] == 4
    assert got[key(bucket, le="1.0", **labels)] == 4
    assert got[key(bucket, le="+Inf", **labels)] == 5
    assert got[key("http_request_duration_seconds_count", **labels)] == 5
    assert got[key("http_request_duration_seconds_sum", **labels)] == pytest.approx(2.95)


def test_request_counters_carry_namespace_pod_and_code() -> None:
    store = MetricStore("shop")
    for code in (200, 200, 500):
        store.record(Request("web-canary", POD, code, 0.01))
    store.record(Request("web-canary", None, 503, 0.0))
    store.record_unrouted(4)
    got = samples(store)
    assert got[key("http_requests_total", namespace="shop", pod=POD.name, code="200")] == 2
    assert got[key("http_requests_total", namespace="shop", pod=POD.name, code="500")] == 1
    sanity = "simulator_requests_total"
    assert got[key(sanity, namespace="shop", backend="web-canary", outcome="ok")] == 2
    assert got[key(sanity, namespace="shop", backend="web-canary", outcome="error")] == 1
    assert got[key(sanity, namespace="shop", backend="web-canary", outcome="no_endpoints")] == 1
    assert got[key(sanity, namespace="shop", backend="", outcome="no_route")] == 4
    assert not any(name.endswith("_created") for name, _ in got)


def test_routed_pods_start_at_zero_for_200_and_500() -> None:
    store = MetricStore("shop")
    store.update_routing(RoutingState("shop", (Backend("web", 1, (POD,)),), frozenset({POD.name})), 1)
    got = samples(store)
    for code in ("200", "500"):
        assert got[key("http_requests_total", namespace="shop", pod=POD.name, code=code)] == 0
    assert got[key("http_request_duration_seconds_count", namespace="shop", pod=POD.name)] == 0


def test_routing_gauges_and_series_disappear_with_their_pod() -> None:
    store = MetricStore("shop")
    store.record(Request("web", POD, 200, 0.01))
    backends = (Backend("web", 90, (POD,)), Backend("web-canary", 10, ()))
    routing = RoutingState("shop", backends, frozenset({POD.name}))
    store.update_routing(routing, rps=25)
    got = samples(store)
    assert got[key("simulator_backend_weight", namespace="shop", backend="web-canary")] == 10
    assert got[key("simulator_backend_ready_pods", namespace="shop", backend="web")] == 1
    assert got[key("simulator_target_rps", namespace="shop")] == 25
    assert POD.name in store.request_counts()

    store.update_routing(RoutingState("shop", (), frozenset()), rps=25)
    assert store.request_counts() == {}
    assert not any(dict(labels).get("pod") == POD.name for _, labels in samples(store))




def test_promtool_accepts_the_exposition() -> None:
    store = MetricStore("shop")
    store.record(Request("web", POD, 200, 0.01))
    store.record(Request("web", POD, 500, 0.2))
    store.update_routing(RoutingState("shop", (Backend("web", 1, (POD,)),), frozenset({POD.name})), 5)
    result = subprocess.run(
        ["promtool", "check", "metrics"], input=exposition(store), capture_output=True, timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("buckets", [(), (0.5, 0.1), (0.1, 0.1), (0.1, float("inf"))])
def test_invalid_buckets_are_rejected(buckets: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="buckets"):
        validate_buckets(buckets)
