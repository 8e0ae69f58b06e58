"""Running the real command lines against the test cluster (and the pipeline example, in a pipeline job's
environment), and driving a CanaryRelease's status by hand (the status subresource), as the canary controller
would, for tests of `kubectl canary wait` and friends that need states on demand."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.cluster import Cluster
from tests.support.releases import GROUP, VERSION

REPO = Path(__file__).resolve().parents[2]
RUDDER = (sys.executable, "-m", "rudder.cli.main")
KUBECTL_CANARY = (sys.executable, "-m", "canary.cli.main")
CANARIES = "canaryreleases"
# The kubectl a pipeline job would have: the one on PATH, else the local control plane's own build of it.
KUBECTL = shutil.which("kubectl") or str(Path.home() / ".cache" / "rudder" / "bin" / "kubectl-v1.37.2")


def cli_env(cluster: Cluster, **extra: str) -> dict[str, str]:
    return {**os.environ, "KUBECONFIG": cluster.kubeconfig, "PYTHONPATH": str(REPO), **extra}


def run(command: Sequence[str], cluster: Cluster, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run a command line to completion; its exit code, stdout and stderr are in the result."""
    return subprocess.run([*command, *args], cwd=REPO, env=cli_env(cluster), capture_output=True, text=True,
                          timeout=timeout, check=False)


def pipeline_env(cluster: Cluster, bin_dir: Path, **extra: str) -> dict[str, str]:
    """A pipeline job's environment: kubectl on PATH and `kubectl-canary` next to it, where the job's
    `pip install` would put it (a launcher of this checkout's entry point), so `kubectl canary` finds the plugin."""
    assert Path(KUBECTL).exists(), f"no kubectl at {KUBECTL} (deploy/local/cluster.sh up builds one)"
    bin_dir.mkdir(parents=True, exist_ok=True)
    plugin = bin_dir / "kubectl-canary"
    plugin.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m canary.cli.main "$@"\n')
    plugin.chmod(0o755)
    named = {} if Path(KUBECTL).name == "kubectl" else {"KUBECTL": KUBECTL}
    return cli_env(cluster, PATH=f"{bin_dir}:{Path(KUBECTL).parent}:/usr/bin:/bin", **named, **extra)


@dataclass
class Running:
    """A command running in the background, its stderr read line by line as it comes."""

    proc: subprocess.Popen[str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)  # stderr lines read so far (all of them after finish())
    pump: threading.Thread | None = None

    @classmethod
    def start(cls, command: Sequence[str], cluster: Cluster, *args: str, env: dict[str, str] | None = None) -> Running:
        proc = subprocess.Popen([*command, *args], cwd=REPO, env=env or cli_env(cluster), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        running = cls(proc)
        running.pump = threading.Thread(target=running._pump, daemon=True)
        running.pump.start()
        return running

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def expect_line(self, predicate: Callable[[str], bool], *, timeout: float = 30, what: str = "a line") -> str:
        """Wait (with a deadline) for a stderr line matching `predicate`; fail if the command ends first."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {what} on stderr within {timeout:.0f}s; seen: {self.seen}")
            try:
                line = self.lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    raise AssertionError(f"exited with {self.proc.returncode} before {what}; seen: {self.seen}"
                                         ) from None
                continue
            self.seen.append(line.rstrip("\n"))
            if predicate(line):
                return line

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        """Wait for the exit; the exit code and stdout (stderr's lines are all in `seen` afterwards)."""
        assert self.proc.stdout is not None and self.pump is not None
        out = self.proc.stdout.read()  # stderr belongs to the pump thread; reading both here would race it
        self.proc.wait(timeout=timeout)
        self.pump.join(timeout=timeout)
        while not self.lines.empty():
            self.seen.append(self.lines.get().rstrip("\n"))
        return self.proc.returncode, out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


@dataclass
class CanaryDriver:
    """Creates CanaryReleases and writes their status as the controller would (nobody else touches them in
    an `iso-` namespace)."""

    cluster: Cluster
    namespace: str

    def create(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "CanaryRelease", "metadata": {"name": name},
                "spec": spec}
        return self.cluster.custom.create_namespaced_custom_object(  # type: ignore[no-any-return]
            GROUP, VERSION, self.namespace, CANARIES, body)

    def get(self, name: str) -> dict[str, Any]:
        return self.cluster.custom.get_namespaced_custom_object(  # type: ignore[no-any-return]
            GROUP, VERSION, self.namespace, CANARIES, name)

    def set_status(self, name: str, status: dict[str, Any]) -> dict[str, Any]:
        """Make `status` the whole status (keys it lacks are cleared), stamped with the current generation."""
        live = self.get(name)
        cleared: dict[str, Any] = dict.fromkeys(live.get("status") or {})
        full = {**cleared, "observedGeneration": live["metadata"]["generation"], **status}
        return self.cluster.custom.patch_namespaced_custom_object_status(  # type: ignore[no-any-return]
            GROUP, VERSION, self.namespace, CANARIES, name, {"status": full})

    def annotate(self, name: str, annotations: dict[str, str | None]) -> dict[str, Any]:
        return self.cluster.custom.patch_namespaced_custom_object(  # type: ignore[no-any-return]
            GROUP, VERSION, self.namespace, CANARIES, name, {"metadata": {"annotations": annotations}})
