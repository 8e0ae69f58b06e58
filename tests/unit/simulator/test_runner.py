"""Pins down the running simulator without a cluster (routing read from memory): traffic flows
into /metrics with the pods' names, the HTTP control API switches a version to "bad" and changes
the rate, the profile file is reloaded on change, routing changes are followed, unreadable routing
sends nothing, and stop() leaves no thread behind."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator import ProfileSet, Simulator
from simulator.routing import StaticReader
from tests.support.wait import wait_for
from tests.unit.simulator.factories import NS, service, web_fleet


def http(sim: Simulator, method: str, path: str, body: str | None = None) -> tuple[int, str]:
    data = body.encode() if body is not None else None
    req = urllib.request.Request(sim.url + path, method=method, data=data)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def counts(sim: Simulator) -> dict[str, dict[str, int]]:
    """Requests per pod by status code, as the /routing endpoint reports them (JSON: string codes)."""
    return dict(json.loads(http(sim, "GET", "/routing")[1])["requests"])


@pytest.fixture
def reader() -> StaticReader:
    return StaticReader(NS, [*web_fleet(primary=2, canary=1, baseline=0), service("web", {"app": "web"})])


@pytest.fixture
def sim(reader: StaticReader) -> Iterator[Simulator]:
    s = Simulator(NS, "web", reader=reader, rps=200, tick=0.02, refresh=0.05, seed=3)
    with s:
        yield s


def test_traffic_reaches_every_pod_and_is_exported(sim: Simulator) -> None:
    assert sim.port > 0
    wait_for(lambda: len(counts(sim)) == 3, timeout=10, what="requests on all three pods")
    status, text = http(sim, "GET", "/metrics")
    assert status == 200
    for name in ("web-0", "web-1", "web-canary-0"):
        assert f'http_requests_total{{code="200",namespace="{NS}",pod="{name}"}}' in text
        assert f'http_request_duration_seconds_bucket{{le="+Inf",namespace="{NS}",pod="{name}"}}' in text
    first = sum(c.get(200, 0) for c in sim.request_counts().values())
    wait_for(lambda: sum(c.get(200, 0) for c in sim.request_counts().values()) > first + 50, timeout=10)


def test_switching_a_version_to_bad_over_http(sim: Simulator) -> None:
    status, _ = http(sim, "PUT", "/profiles/versions/2.0", "errorRate: 1.0")
    assert status == 200
    wait_for(lambda: counts(sim).get("web-canary-0", {}).get("500", 0) > 20, timeout=10, what="canary errors")
    assert counts(sim)["web-0"]["500"] == 0
    assert "2.0" in json.loads(http(sim, "GET", "/profiles")[1])["versions"]

    assert http(sim, "DELETE", "/profiles/versions/2.0")[0] == 200
    assert sim.profiles.versions == {}


def test_bad_requests_are_refused(sim: Simulator) -> None:
    assert http(sim, "PUT", "/profiles", "default: {errorRate: 2}")[0] == 400
    assert http(sim, "PUT", "/profiles/versions/2.0", "latency: {p50: 1}")[0] == 400
    assert http(sim, "PUT", "/rps", "lots")[0] == 400
    assert http(sim, "PUT", "/rps", "-3")[0] == 400
    assert http(sim, "GET", "/nope")[0] == 404
    assert sim.profiles == ProfileSet()


def test_rate_can_be_changed_over_http(sim: Simulator) -> None:
    status, body = http(sim, "PUT", "/rps", "0")
    assert (status, json.loads(body)) == (200, {"rps": 0.0})
    assert 'simulator_target_rps{namespace="shop"} 0.0' in http(sim, "GET", "/metrics")[1]


def test_routing_changes_are_followed(sim: Simulator, reader: StaticReader) -> None:
    wait_for(lambda: "web-canary-0" in counts(sim), timeout=10)
    reader.replace([*web_fleet(primary=2, canary=0, baseline=0), service("web", {"app": "web"})])
    wait_for(lambda: "web-canary-0" not in counts(sim), timeout=10, what="deleted pod's series to go")
    assert 'pod="web-canary-0"' not in http(sim, "GET", "/metrics")[1]


def test_unreadable_routing_sends_no_traffic_and_reports_why(reader: StaticReader) -> None:
    with Simulator(NS, "missing", reader=reader, rps=200, tick=0.02) as sim:
        assert sim.last_error is not None
        assert "Service 'missing' not found" in sim.last_error
        wait_for(lambda: 'outcome="no_route"' in http(sim, "GET", "/metrics")[1], timeout=10)
        assert sim.request_counts() == {}


def test_profile_file_is_reloaded(tmp_path: Path, reader: StaticReader) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_text("default: {errorRate: 0}\n")
    with Simulator(NS, "web", reader=reader, rps=200, tick=0.02, profiles=path) as sim:
        path.write_text("default: {errorRate: 0}\nversions: {'2.0': {errorRate: 1}}\n")
        wait_for(lambda: sim.profiles.for_tag("2.0").error_rate == 1, timeout=10, what="file reload")
        wait_for(lambda: sim.request_counts().get("web-canary-0", {}).get(500, 0) > 10, timeout=10)


def test_stop_leaves_no_thread_and_frees_the_port(reader: StaticReader) -> None:
    before = set(threading.enumerate())
    sim = Simulator(NS, "web", reader=reader, rps=100, tick=0.02).start()
    http(sim, "GET", "/metrics")
    sim.stop()
    assert set(threading.enumerate()) <= before
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(sim.url + "/healthz", timeout=2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"router": "linkerd"}, "unknown router type"), ({"tick": 0}, "positive"), ({"rps": -1}, "rps")],
)
def test_invalid_settings_fail_before_starting(
    reader: StaticReader, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Simulator(NS, "web", reader=reader, **kwargs)


def served(sim: Simulator) -> int:
    return sum(sum(c.values()) for c in sim.request_counts().values())


class FlakyReader(StaticReader):
    """Answers until `down` is set, then fails like an unreachable API server."""

    down = False

    def pods(self) -> list[dict[str, Any]]:
        if self.down:
            raise ConnectionRefusedError("connection refused")
        return super().pods()


def test_unreachable_api_keeps_the_last_routing_state() -> None:
    reader = FlakyReader(NS, [*web_fleet(primary=2, canary=1, baseline=0), service("web", {"app": "web"})])
    with Simulator(NS, "web", reader=reader, rps=200, tick=0.02, refresh=0.05) as sim:
        routed = sim.routing
        reader.down = True
        wait_for(lambda: sim.last_error and "ConnectionRefusedError" in sim.last_error, timeout=10)
        assert sim.routing is routed
        before = served(sim)
        wait_for(lambda: served(sim) > before + 20, timeout=10, what="traffic on the last known routing")
        reader.down = False
        wait_for(lambda: sim.last_error is None, timeout=10, what="recovery")
