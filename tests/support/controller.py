"""Runs the real controller entry point as a subprocess against the test cluster."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.wait import wait_for

REPO = Path(__file__).resolve().parents[2]
# Controller logs outlive the test session so a failure can be read afterwards (CI prints them).
LOG_DIR = Path(os.environ.get("RUDDER_TEST_LOG_DIR", REPO / "out" / "test-logs"))


TEST_PROMETHEUS_ALLOW = "http://127.0.0.1:*"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ControllerProcess:
    """One `rudder-controller` process; its log is kept for failure messages."""

    kubeconfig: str
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    metrics_port: int = 0
    health_port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    def start(self, log_dir: Path) -> ControllerProcess:
        self.metrics_port, self.health_port = free_port(), free_port()
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"controller-{self.metrics_port}.log"
        env = {**os.environ, "KUBECONFIG": self.kubeconfig, "PYTHONUNBUFFERED": "1", **self.env}
        cmd = [
            sys.executable, "-m", "rudder.controller",
            "--metrics-port", str(self.metrics_port), "--health-port", str(self.health_port),
            # The safety net stays out of the way: every reaction the tests wait for must be event-driven.
            "--resync", env.get("RUDDER_TEST_RESYNC", "3600"), *self.args,
        ]
        if "--peering" not in self.args:
            cmd.append("--standalone")
        if not any(a.startswith(("--prometheus-allow", "--prometheus-url")) for a in self.args):
            # The tests' Prometheus servers listen on free loopback ports; a test of the allow-list
            # itself passes its own --prometheus-allow/--prometheus-url.
            cmd += ["--prometheus-allow", TEST_PROMETHEUS_ALLOW]
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        wait_for(self.healthy, timeout=60, what=f"controller health endpoint; log: {self.log_path}")
        return self

    def healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"controller exited with {self.proc.returncode}:\n{self.log()}")
        with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/healthz", timeout=2) as r:
            return bool(r.status == 200)

    def metrics(self) -> dict[str, float]:
        """Samples of the metrics endpoint keyed by `name{labels}`."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as r:
            text = r.read().decode()
        samples: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                samples[key] = float(value)
        return samples

    def write_samples(self, namespace: str | None = None) -> dict[str, float]:
        """Write requests the controller sent, by verb and kind (into one namespace when given)."""
        tag = f'namespace="{namespace}"' if namespace is not None else ""
        return {k: v for k, v in self.metrics().items()
                if k.startswith("rudder_api_write_requests_total") and tag in k}

    def writes(self, namespace: str | None = None) -> float:
        return sum(self.write_samples(namespace).values())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-20000:] if self.log_path else ""

    def kill(self) -> None:
        """SIGKILL: the crash a restart test simulates."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
