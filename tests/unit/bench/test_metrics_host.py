"""Pins down the canary scenario's single metrics target: simulators without endpoints of their own are
exposed through one /metrics whose families are merged by name (one HELP/TYPE each), carrying every
simulator's pods, and without the per-namespace sanity gauges the simulators of one namespace share."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from bench.scale.metrics_host import MetricsHost
from simulator import ProfileSet, Simulator
from simulator.routing import StaticReader
from tests.support.wait import wait_for
from tests.unit.simulator.factories import NS, pod, service


def _sim(name: str) -> Simulator:
    reader = StaticReader(NS, [pod(f"{name}-{i}", {"app": name}, image="example/web:1.0") for i in range(2)]
                          + [service(name, {"app": name})])
    return Simulator(NS, name, reader=reader, rps=200, tick=0.02, refresh=0.05, profiles=ProfileSet(),
                     serve=False)


def test_one_endpoint_serves_all_simulators_merged() -> None:
    sims = [_sim("alpha").start(), _sim("beta").start()]
    try:
        assert all(s.port == 0 for s in sims)  # no endpoint of their own
        with MetricsHost(sims) as host:
            def scrape() -> str:
                with urllib.request.urlopen(f"http://{host.target}/metrics", timeout=5) as r:
                    return str(r.read().decode())

            wait_for(lambda: scrape().count('code="200"') >= 4, timeout=10, what="both simulators' pods")
            text = scrape()
            assert text.count("# TYPE http_requests_total counter") == 1
            assert text.count("# TYPE http_request_duration_seconds histogram") == 1
            families = {f.name: f for f in text_string_to_metric_families(text)}
            assert set(families) == {"http_requests", "http_request_duration_seconds"}
            pods = {s.labels["pod"] for s in families["http_requests"].samples}
            assert pods == {"alpha-0", "alpha-1", "beta-0", "beta-1"}
    finally:
        for s in sims:
            s.stop()
