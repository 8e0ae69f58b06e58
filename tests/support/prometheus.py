"""A real Prometheus server for tests: Debian's ``prometheus`` binary on 127.0.0.1.

``PrometheusFactory.start`` runs a server on a free loopback port, either scraping
the given ``scrape_configs`` or serving data backfilled with ``promtool tsdb
create-blocks-from openmetrics`` into its storage directory before it starts.  It
returns once ``/-/ready`` answers (polled against a deadline, never a bare sleep),
and ``stop`` terminates the process and waits for it, killing it if it lingers, so
no server outlives its test session.

``OpenMetrics`` builds backfill input: counters, gauges and histograms per series,
with explicit timestamps.

Fixtures (import them into a conftest with ``from tests.support.prometheus import *``):

* ``prometheus_factory`` (session): the factory; every server it started is
  stopped at the end of the session.
"""

from __future__ import annotations

import math
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.wait import wait_for

__all__ = [
    "OpenMetrics",
    "PrometheusFactory",
    "PrometheusServer",
    "prometheus_available",
    "prometheus_factory",
]

PROMETHEUS = "prometheus"
PROMTOOL = "promtool"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def prometheus_available() -> bool:
    return shutil.which(PROMETHEUS) is not None and shutil.which(PROMTOOL) is not None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items())) + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


@dataclass
class OpenMetrics:
    """Backfill input: families of series, each a list of (unix seconds, value) points."""

    families: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[float, float]]]] = field(
        default_factory=dict
    )
    types: dict[str, str] = field(default_factory=dict)

    def add(
        self,
        family: str,
        kind: str,
        sample: str,
        labels: Mapping[str, str],
        points: Sequence[tuple[float, float]],
    ) -> None:
        self.types[family] = kind
        key = (sample, tuple(sorted(labels.items())))
        self.families.setdefault(family, {}).setdefault(key, []).extend(points)

    def counter(self, name: str, labels: Mapping[str, str], points: Sequence[tuple[float, float]]) -> None:
        """A counter; ``name`` ends in ``_total`` as the sample name does."""
        family = name.removesuffix("_total")
        self.add(family, "counter", family + "_total", labels, points)

    def gauge(self, name: str, labels: Mapping[str, str], points: Sequence[tuple[float, float]]) -> None:
        self.add(name, "gauge", name, labels, points)

    def histogram(
        self,
        name: str,
        labels: Mapping[str, str],
        bounds: Sequence[float],
        points: Sequence[tuple[float, Sequence[float]]],
    ) -> None:
        """Cumulative bucket counts per timestamp (one count per bound, +Inf last), with _count."""
        for index, bound in enumerate(bounds):
            le = "+Inf" if math.isinf(bound) else repr(float(bound))
            series = [(t, float(counts[index])) for t, counts in points]
            self.add(name, "histogram", name + "_bucket", {**labels, "le": le}, series)
        self.add(name, "histogram", name + "_count", labels, [(t, float(c[-1])) for t, c in points])

    def render(self) -> str:
        lines: list[str] = []
        for family, series in self.families.items():
            lines.append(f"# TYPE {family} {self.types[family]}")
            for (sample, labels), points in series.items():
                for timestamp, value in sorted(points):
                    lines.append(f"{sample}{_labels(dict(labels))} {_number(value)} {timestamp:.3f}")
        lines.append("# EOF")
        return "\n".join(lines) + "\n"


@dataclass
class PrometheusServer:
    url: str
    port: int
    directory: Path
    process: subprocess.Popen[bytes]

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.process.returncode}: {self.log()}") from None
            return False

    def log(self) -> str:
        path = self.directory / "prometheus.log"
        return path.read_text()[-4000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)


class PrometheusFactory:
    """Starts Prometheus servers under ``base`` and remembers them for ``stop_all``."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.servers: list[PrometheusServer] = []

    def start(
        self,
        *,
        scrape_configs: Sequence[Mapping[str, Any]] = (),
        backfill: OpenMetrics | str | None = None,
        scrape_interval: str = "1s",
        extra_args: Sequence[str] = (),
    ) -> PrometheusServer:
        directory = self.base / f"prometheus-{len(self.servers)}"
        storage = directory / "data"
        storage.mkdir(parents=True)
        config = {"global": {"scrape_interval": scrape_interval}, "scrape_configs": list(scrape_configs)}
        (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
        if backfill is not None:
            self._backfill(directory, storage, backfill)
        port = free_port()
        log = (directory / "prometheus.log").open("wb")
        process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={directory / 'prometheus.yml'}",
                f"--storage.tsdb.path={storage}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=30d",
                *extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        server = PrometheusServer(f"http://127.0.0.1:{port}", port, directory, process)
        self.servers.append(server)
        try:
            wait_for(server.ready, timeout=READY_TIMEOUT, interval=0.2, what=f"prometheus on port {port} ready")
        except BaseException:
            server.stop()
            raise
        return server

    @staticmethod
    def _backfill(directory: Path, storage: Path, backfill: OpenMetrics | str) -> None:
        text = backfill.render() if isinstance(backfill, OpenMetrics) else backfill
        source = directory / "backfill.om"
        source.write_text(text)
        result = subprocess.run(
            [PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(source), str(storage)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"promtool backfill failed: {result.stdout}\n{result.stderr}")

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture(scope="session")
def prometheus_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusFactory]:
    """Start real Prometheus servers; all are stopped when the session ends."""
    if not prometheus_available():
        pytest.fail("the prometheus and promtool binaries are not installed: run scripts/bootstrap.sh")
    factory = PrometheusFactory(tmp_path_factory.mktemp("prometheus"))
    try:
        yield factory
    finally:
        factory.stop_all()


def now() -> float:
    """Wall-clock seconds, whole: backfilled timestamps line up with range-query steps."""
    return float(int(time.time()))
