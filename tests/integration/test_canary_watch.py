"""CanaryReleases without polling, on a controller whose safety-net resync is an hour (so any progress comes
from due times, watch events and analysis results): a canary walks a weight step, a timed pause step and
another weight step, each look recorded after the one before, and is promoted; and a Prometheus that hangs
holds only its own canary: another canary (on the same small analysis pool) is analysed and promoted while the
slow one's first look is still unanswered, and the slow canary records its look once its Prometheus answers.
Each test runs its own controller in an `iso-` namespace."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

import pytest

from tests.support.canary import canary_bed
from tests.support.cluster import Cluster
from tests.support.controller import LOG_DIR, ControllerProcess
from tests.support.loopback import serve
from tests.support.prometheus import PrometheusFactory
from tests.support.releases import create_release, release_body, wait_release
from tests.support.wait import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.prometheus]

HOUR = "3600"


@pytest.fixture
def hour_resync(cluster: Cluster, iso_namespace: str) -> Iterator[ControllerProcess]:
    """A controller whose safety net fires once an hour, with an analysis pool of four (one query per look)."""
    proc = ControllerProcess(cluster.kubeconfig, args=["--namespace", iso_namespace, "--resync", HOUR,
                                                       "--analysis-workers", "4"])
    proc.start(LOG_DIR)
    try:
        yield proc
    finally:
        proc.stop()


def analysis(url: str, interval: str = "3s", **extra: Any) -> dict[str, Any]:
    return {"interval": interval, "prometheus": {"url": url, **extra},
            "metrics": [{"policy": "http-error-rate"}], "failureLimit": 0, "onInconclusive": "extend",
            "maxExtensions": 20}


def times(status: dict[str, Any]) -> list[datetime]:
    return [datetime.fromisoformat(r["time"].replace("Z", "+00:00")) for r in status.get("analysis") or ()]


@pytest.mark.usefixtures("hour_resync", "policies")
def test_a_canary_steps_forward_and_is_promoted_with_the_safety_net_at_an_hour(
    cluster: Cluster, iso_namespace: str, prometheus_factory: PrometheusFactory,
) -> None:
    with canary_bed(cluster, iso_namespace, prometheus_factory) as bed:
        bed.canary("web-steps", {
            "release": "web", "values": {"tag": "3.9"},
            "steps": [{"weight": 30, "duration": "9s"}, {"pause": {"duration": "3s"}},
                      {"weight": 50, "duration": "12s"}],
            "analysis": analysis(bed.prometheus.url),
            "progressDeadline": "2m",
        })

        bed.wait("web-steps", lambda status: status.get("step", 0) >= 2, "past the timed pause", timeout=180)
        done = bed.wait_phase("web-steps", "Promoted", timeout=240)

        status = done["status"]
        assert status["promotedRevision"] == 2
        records = status["analysis"]
        assert {r["step"] for r in records} == {0, 2}, "both weight steps analysed, the pause step not"
        assert [r["step"] for r in records] == sorted(r["step"] for r in records)
        seen = times(status)
        assert seen == sorted(seen) and len(set(seen)) == len(seen), "each look after the one before"
        assert records[-1]["verdict"] == "Pass"
        assert bed.copies() == []


class _Hanging(BaseHTTPRequestHandler):
    """A Prometheus that answers nothing until `gate` opens, then an empty result (NoData)."""

    gate: ClassVar[threading.Event] = threading.Event()
    received: ClassVar[list[str]] = []
    answered: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.received.append(self.path)
        if not self.gate.wait(300):  # bounded: the server must never outlive its test
            return
        kind = "matrix" if "query_range" in self.path else "vector"
        payload = json.dumps({"status": "success", "data": {"resultType": kind, "result": []}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        self.answered.append(self.path)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def hanging() -> Iterator[str]:
    _Hanging.gate, _Hanging.received, _Hanging.answered = threading.Event(), [], []
    with serve(_Hanging) as url:
        try:
            yield url
        finally:
            _Hanging.gate.set()  # let the handler threads finish before the server closes


@pytest.mark.usefixtures("hour_resync", "policies")
def test_a_hanging_prometheus_delays_only_its_own_canary(
    cluster: Cluster, iso_namespace: str, prometheus_factory: PrometheusFactory, hanging: str,
) -> None:
    ns = iso_namespace
    with canary_bed(cluster, ns, prometheus_factory) as bed:
        create_release(cluster, ns, release_body("other", chart_values={"greeting": "hi", "replicas": 1,
                                                                         "tag": "3.10"}))
        wait_release(cluster, ns, "other", phase="Ready", revision=1)
        # Given a canary whose Prometheus hangs on its first look
        bed.canary("slow", {
            "release": "other", "values": {"tag": "3.9"},
            "steps": [{"weight": 50, "duration": "60s"}],
            "analysis": analysis(hanging, interval="2s", timeout="120s"),
            "progressDeadline": "5m",
        })
        wait_for(lambda: _Hanging.received, timeout=120, what="the slow canary's first query")
        # When another canary runs on the same controller and analysis pool
        bed.canary("fast", {
            "release": "web", "values": {"tag": "3.9"},
            "steps": [{"weight": 50, "duration": "12s"}],
            "analysis": analysis(bed.prometheus.url),
            "progressDeadline": "2m",
        })
        # Then it is analysed and promoted while the slow look is still unanswered
        fast = bed.wait_phase("fast", "Promoted", timeout=240)
        assert fast["status"]["analysis"], "the fast canary was analysed"
        assert _Hanging.answered == []
        slow = bed.get("slow")["status"]
        assert slow["phase"] == "Progressing" and not slow.get("analysis"), "the slow look has no result yet"
        # And once its Prometheus answers, the slow canary records that look (a NoData, while holding)
        _Hanging.gate.set()
        recorded = bed.wait("slow", lambda status: bool(status.get("analysis")), "the slow look recorded",
                            timeout=120)
        assert recorded["status"]["analysis"][0]["verdict"] == "NoData"
        assert recorded["status"]["phase"] == "Progressing"
