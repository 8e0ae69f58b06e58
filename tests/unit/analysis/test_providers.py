"""Metric providers: auth headers, timeouts, retries as data, and the registry.

Pins down against a local stub of the Prometheus HTTP API: bearer tokens (inline
or from a file), extra headers and basic auth reach the server; a 503 is retried
with backoff and a later success is a value; a 400 is not retried; a server slower
than the timeout is an Error, and with a budget (the controller's looks) a query that hung for the whole
timeout is not retried while quick failures still are; scalar and string results parse; NaN values are
kept as NaN; an unknown provider kind raises, naming it.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from canary.analysis import MeasurementStatus
from canary.providers import (
    MetricProvider,
    PrometheusProvider,
    QueryWindow,
    RetryPolicy,
    UnknownProviderError,
    create_provider,
    measure,
    register_provider,
)
from canary.providers.registry import unregister_provider
from tests.support.loopback import serve


class _Stub(BaseHTTPRequestHandler):
    """Answers /api/v1/query with queued responses and records the requests."""

    responses: ClassVar[list[tuple[int, Any, float]]] = []
    seen: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        self.seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
        status, body, delay = self.responses.pop(0) if self.responses else (200, _vector([]), 0.0)
        time.sleep(delay)  # a deliberately slow server, to exercise the client's timeout
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        try:
            self.wfile.write(payload)
        except BrokenPipeError:  # the client gave up (its timeout): nothing to answer
            return

    def log_message(self, *args: object) -> None:
        return


def _vector(values: list[float], key: str = "value") -> dict[str, Any]:
    series = [
        {"metric": {"pod": f"p{i}"}, key: [1.0, str(v)] if key == "value" else [[1.0, str(v)]]}
        for i, v in enumerate(values)
    ]
    return {"status": "success", "data": {"resultType": "vector", "result": series}}


@pytest.fixture
def stub() -> Iterator[str]:
    _Stub.responses, _Stub.seen = [], []
    with serve(_Stub) as url:
        yield url


def test_auth_headers_reach_the_server(stub: str, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("from-file\n")
    provider = create_provider(
        "prometheus", {"url": stub, "bearerTokenFile": str(token), "headers": {"X-Scope-OrgID": "team-a"}}
    )
    provider.query("up")
    assert _Stub.seen[-1]["authorization"] == "Bearer from-file"
    assert _Stub.seen[-1]["x-scope-orgid"] == "team-a"
    create_provider("prometheus", {"url": stub, "bearerToken": "inline"}).query("up")
    assert _Stub.seen[-1]["authorization"] == "Bearer inline"
    create_provider("prometheus", {"url": stub, "basicAuth": {"username": "u", "password": "p"}}).query("up")
    assert _Stub.seen[-1]["authorization"] == "Basic " + base64.b64encode(b"u:p").decode()


def test_server_errors_are_retried_with_backoff_until_success(stub: str) -> None:
    _Stub.responses = [
        (503, {"status": "error"}, 0.0),
        (503, {"status": "error"}, 0.0),
        (200, _vector([4.0, 6.0]), 0.0),
    ]
    waits: list[float] = []
    measurement = measure(
        create_provider("prometheus", {"url": stub}), "up", retry=RetryPolicy(attempts=3), sleep=waits.append
    )
    assert measurement.status is MeasurementStatus.OK
    assert measurement.values.tolist() == [4.0, 6.0]
    assert measurement.attempts == 3
    assert waits == [0.5, 1.0]


def test_exhausted_retries_are_an_error_measurement(stub: str) -> None:
    _Stub.responses = [(500, {"status": "error"}, 0.0)] * 2
    measurement = measure(
        create_provider("prometheus", {"url": stub}),
        "up",
        retry=RetryPolicy(attempts=2),
        sleep=lambda _: None,
    )
    assert measurement.status is MeasurementStatus.ERROR
    assert "after 2 attempt" in measurement.message


def test_bad_queries_are_not_retried(stub: str) -> None:
    _Stub.responses = [(400, {"status": "error", "error": "parse error"}, 0.0)]
    waits: list[float] = []
    measurement = measure(create_provider("prometheus", {"url": stub}), "sum(", sleep=waits.append)
    assert measurement.status is MeasurementStatus.ERROR
    assert waits == []


def test_with_a_budget_a_query_that_hung_is_not_retried_but_quick_failures_are(stub: str) -> None:
    # A fake clock: the budget starts at 0; the first answer (a 503) comes after the whole 10 s timeout.
    readings = iter([0.0, 10.0, 10.0])
    provider = create_provider("prometheus", {"url": stub})
    _Stub.responses = [(503, {"status": "error"}, 0.0)] * 3
    hung = measure(provider, "up", budget=10.0, clock=lambda: next(readings), sleep=lambda _: None)
    assert hung.status is MeasurementStatus.ERROR
    assert hung.attempts == 1
    # Answers that fail at once are retried within the same budget.
    _Stub.responses = [(503, {"status": "error"}, 0.0), (200, _vector([1.0]), 0.0)]
    quick = measure(provider, "up", budget=10.0, clock=lambda: 0.0, sleep=lambda _: None)
    assert quick.status is MeasurementStatus.OK
    assert quick.attempts == 2


def test_a_slow_server_times_out_into_an_error(stub: str) -> None:
    _Stub.responses = [(200, _vector([1.0]), 1.5)]
    provider = create_provider("prometheus", {"url": stub, "timeout": 0.3})
    measurement = measure(provider, "up", retry=RetryPolicy(attempts=1))
    assert measurement.status is MeasurementStatus.ERROR
    assert "0.3s" in measurement.message


def test_result_shapes(stub: str) -> None:
    provider = create_provider("prometheus", {"url": stub})
    _Stub.responses = [(200, {"status": "success", "data": {"resultType": "scalar", "result": [1.0, "2.5"]}}, 0.0)]
    assert provider.query("scalar(up)").tolist() == [2.5]
    _Stub.responses = [(200, _vector([1.0, float("nan")]), 0.0)]
    values = provider.query("up")
    assert values[0] == 1.0
    assert np.isnan(values[1])
    _Stub.responses = [(200, _vector([3.0], key="values"), 0.0)]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    assert provider.query("up", QueryWindow(start, start + timedelta(minutes=1), timedelta(seconds=15))).tolist() == [
        3.0
    ]
    assert "query_range" in _Stub.seen[-1]["path"]
    assert provider.is_online()


def test_query_windows_are_validated() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="end"):
        QueryWindow(start, start - timedelta(seconds=1), timedelta(seconds=1))
    with pytest.raises(ValueError, match="step"):
        QueryWindow(start, start, timedelta(0))


def test_registry_refuses_unknown_and_duplicate_kinds() -> None:
    with pytest.raises(UnknownProviderError, match=r"'prometheos'.*prometheus"):
        create_provider("prometheos", {"url": "http://x"})
    with pytest.raises(ValueError, match="already registered"):
        register_provider("prometheus", PrometheusProvider.from_config)
    with pytest.raises(ValueError, match="url is required"):
        create_provider("prometheus", {})


def test_registered_kinds_are_built_and_satisfy_the_protocol() -> None:
    class Recorded:
        def __init__(self, config: Any) -> None:
            self.values = np.asarray(config["values"], dtype=np.float64)

        def query(self, query: str, window: QueryWindow | None = None) -> np.ndarray:
            return self.values

        def is_online(self) -> bool:
            return True

    register_provider("recorded", Recorded)
    try:
        provider = create_provider("recorded", {"values": [1, 2]})
        assert isinstance(provider, MetricProvider)
        assert measure(provider, "anything").values.tolist() == [1.0, 2.0]
    finally:
        unregister_provider("recorded")
