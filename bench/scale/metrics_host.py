"""One Prometheus target for all the canary scenario's simulators.

200 simulators with an HTTP endpoint each, scraped every second, were 200 scrapes a second into the
harness process; it could not answer within the scrape timeout, Prometheus dropped the samples and the
canaries saw no data. Here the simulators run without endpoints and one endpoint exposes their
per-pod families merged by name (one HELP/TYPE per family, as the text format requires). Only the
application's families are exposed: the simulators' own sanity gauges are labelled by namespace and
backend, which the simulators of one namespace share.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from simulator import Simulator

APPLICATION_FAMILIES = frozenset({"http_requests", "http_request_duration_seconds"})
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def merged(sources: Sequence[Callable[[], list[Metric]]]) -> list[Metric]:
    """The families of every source merged by name, application families only."""
    families: dict[str, Metric] = {}
    for source in sources:
        for family in source():
            if family.name not in APPLICATION_FAMILIES:
                continue
            into = families.get(family.name)
            if into is None:
                into = families[family.name] = Metric(family.name, family.documentation, family.type)
            into.samples.extend(family.samples)
    return list(families.values())


class _Merged(Collector):
    def __init__(self, sims: Sequence[Simulator]) -> None:
        self.sims = sims

    def collect(self) -> list[Metric]:
        return merged([s.metric_families for s in list(self.sims)])


class MetricsHost:
    """`http://127.0.0.1:<port>/metrics` for a list of simulators (which may grow while it serves)."""

    def __init__(self, sims: Sequence[Simulator]) -> None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Merged(sims))

        class Handler(BaseHTTPRequestHandler):
            timeout = 10

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                body = generate_latest(registry) if self.path == "/metrics" else b""
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics-host", daemon=True)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> MetricsHost:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
