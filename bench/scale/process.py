"""A controller variant's command line, its process, and what /proc says about that process tree."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def variant_name(name: str, where: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"{where}: NAME must be a lower-case DNS label of at most 32 characters")
    return name


@dataclass(frozen=True)
class Variant:
    """A controller command line the harness extends with the scenario's `--controllers ...` (unless the command
    names them), `--namespace NS --standalone --metrics-port P --health-port P`, and runs from `cwd` (default: the
    repository) with KUBECONFIG set to the variant's own identity. `--variant NAME=COMMAND` gives one directly;
    `--ref NAME=GITREF` (bench/scale/refs.py) runs the controller of a commit."""

    name: str
    command: tuple[str, ...]
    cwd: Path | None = None
    source: str = ""

    @classmethod
    def parse(cls, text: str) -> Variant:
        name, sep, command = text.partition("=")
        if not sep or not _NAME.fullmatch(name) or not command.strip():
            raise ValueError(f"--variant {text!r}: expected NAME=COMMAND with NAME a lower-case DNS label")
        return cls(name, tuple(shlex.split(command)), source="command line")

    def command_for(self, controllers: str, extra: tuple[str, ...] = ()) -> list[str]:
        """The command line of one scenario: its controllers (unless the variant's command names them) and
        extra flags."""
        chosen = [] if "--controllers" in self.command else ["--controllers", controllers]
        return [*self.command, *chosen, *extra]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry))
    return kids


def process_tree(pid: int) -> list[int]:
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(_children(p))
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process tree (reaped children included)."""
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # Fields after the command: state is [0]; utime, stime, cutime, cstime are [11:15].
        total += sum(int(x) for x in fields[11:15])
    return total / CLOCK_TICKS


def peak_rss_by_process(pid: int) -> dict[int, float]:
    """Peak resident memory (VmHWM) of each process of the tree, MiB."""
    peaks: dict[int, float] = {}
    for p in process_tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        m = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        if m:
            peaks[p] = int(m.group(1)) / 1024
    return peaks


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory (VmHWM) of the process tree, MiB (each process's peak, summed)."""
    return sum(peak_rss_by_process(pid).values())


@dataclass
class Controller:
    variant: Variant
    proc: subprocess.Popen[bytes]
    health_port: int
    log_path: Path
    metrics_port: int = 0

    @classmethod
    def start(cls, variant: Variant, *, kubeconfig: str, namespace: str, log_path: Path, cwd: Path,
              controllers: str = "release", extra: tuple[str, ...] = ()) -> Controller:
        metrics_port, health_port = free_port(), free_port()
        cmd = [*variant.command_for(controllers, extra), "--namespace", namespace, "--standalone",
               "--metrics-port", str(metrics_port), "--health-port", str(health_port)]
        env = {**os.environ, "KUBECONFIG": kubeconfig, "PYTHONUNBUFFERED": "1"}
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("wb") as out:
            proc = subprocess.Popen(cmd, cwd=variant.cwd or cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        ctl = cls(variant, proc, health_port, log_path, metrics_port)
        deadline = time.monotonic() + 120
        while not ctl.healthy():
            if proc.poll() is not None:
                raise RuntimeError(f"controller {variant.name} exited with {proc.returncode}; log: {log_path}")
            if time.monotonic() > deadline:
                ctl.stop()
                raise TimeoutError(f"controller {variant.name} not healthy after 120 s; log: {log_path}")
            time.sleep(0.5)
        return ctl

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/healthz", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def metrics_text(self) -> str:
        """The controller's /metrics page ("" when it does not answer)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as r:
                return str(r.read().decode())
        except OSError:
            return ""

    def own_writes(self) -> dict[str, float]:
        """The controller's own count of its writes (`rudder_api_write_requests_total`) by `verb kind`, where the
        variant exports it; empty otherwise. For diagnosis: the API server's count is the measurement."""
        text = self.metrics_text()
        counts: dict[str, float] = {}
        for m in re.finditer(r'^rudder_api_write_requests_total\{([^}]*)\} (\S+)$', text, re.MULTILINE):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            key = f"{labels.get('verb', '?')} {labels.get('kind', '?')}"
            counts[key] = counts.get(key, 0.0) + float(m.group(2))
        return counts

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.proc.pid)

    def peak_rss_mib(self) -> float:
        peaks = peak_rss_by_process(self.proc.pid)
        print(f"{self.variant.name}: peak RSS by process (MiB): "
              + ", ".join(f"{pid}: {mib:.0f}" for pid, mib in sorted(peaks.items())), file=sys.stderr, flush=True)
        return sum(peaks.values())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
