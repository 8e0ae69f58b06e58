"""The demo's story, step by step, against a running cluster (scripts/demo.sh brings one up).

1. Install the CRDs and the metric-policy library; start the controllers, a real Prometheus and the
   traffic simulator (a stand-in for clients and the instrumented app: KWOK pods run no containers).
2. `rudder install` the example web-app chart.
3. A good CanaryRelease (image tag 1.28) walks its steps and is promoted.
4. A bad one (tag 1.29, 25% errors in the simulator) is rolled back.
5. Print where to look next: status, the history table and the HTML report.

Every command shown is the real CLI. Exit status 0 only when both canaries ended as expected.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
CRDS = ("releases.rudder.dev", "releasehistories.rudder.dev", "canaryreleases.rudder.dev",
        "metricpolicies.rudder.dev", "clustermetricpolicies.rudder.dev")
PROFILES = {"default": {"errorRate": 0.002, "latency": {"median": 0.05, "sigma": 0.2}},
            "versions": {"1.29": {"errorRate": 0.25}}}


def say(text: str) -> None:
    print(f"\n\033[1m==> {text}\033[0m" if sys.stdout.isatty() else f"\n==> {text}", flush=True)


def run(*cmd: str, check: bool = True, env: dict[str, str] | None = None) -> int:
    print("$ " + " ".join(c if " " not in c else repr(c) for c in cmd), flush=True)
    return subprocess.run(cmd, check=check, env=env, cwd=REPO).returncode


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"demo: {what} did not come up within {timeout:.0f}s ({url})")


@contextmanager
def background(cmd: list[str], log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO,
                                start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=20)


def canary(name: str, tag: str, prometheus: str) -> dict[str, object]:
    return {
        "apiVersion": "rudder.dev/v1alpha1", "kind": "CanaryRelease", "metadata": {"name": name},
        "spec": {
            "release": "web", "values": {"image": {"tag": tag}},
            "router": {"type": "replicas", "service": "web"},
            # p99 is judged on one point per pod per disjoint 3 s rate window (Prometheus scrapes every 1 s):
            # a 30 s step gives each pod the policy's minSamples of 10 points.
            "steps": [{"weight": 25, "duration": "30s"}, {"weight": 50, "duration": "30s"}],
            "analysis": {"interval": "5s", "prometheus": {"url": prometheus}, "failureLimit": 0,
                         "onInconclusive": "extend",
                         "metrics": [{"policy": "http-error-rate"},
                                     {"policy": "http-latency-p99", "args": {"rate_window": "3s"}}]},
            "progressDeadline": "3m",
        },
    }


def start_services(stack: ExitStack, kubeconfig: str, ns: str, out: Path, env: dict[str, str]) -> str:
    """The controllers, the example Release, the simulator and Prometheus; returns Prometheus' URL."""
    rudder = [PY, "-m", "rudder.cli.main"]
    say("Starting the controllers (Release + CanaryRelease), watching namespace " + ns)
    health, metrics = free_port(), free_port()
    prom_port = free_port()  # chosen now: the controller allows canaries to query only this Prometheus
    stack.enter_context(background(
        [PY, "-m", "rudder.controller", "--namespace", ns, "--standalone", "--resync", "2",
         "--health-port", str(health), "--metrics-port", str(metrics),
         "--prometheus-url", f"http://127.0.0.1:{prom_port}"], out / "controller.log", env))
    wait_http(f"http://127.0.0.1:{health}/healthz", 60, "the controller")

    say("Installing the example web-app chart as Release web")
    run(*rudder, "install", "web", "examples/web-app", "-n", ns, "--set", "autoscaling.enabled=false",
        "--set", "replicaCount=4", "--wait", "--timeout", "3m", env=env)

    say("Starting the traffic simulator and a real Prometheus scraping it")
    profiles = out / "profiles.yaml"
    profiles.write_text(yaml.safe_dump(PROFILES))
    sim_port = free_port()
    stack.enter_context(background(
        [PY, "-m", "simulator", "--kubeconfig", kubeconfig, "-n", ns, "--service", "web",
         "--rps", "1000", "--profiles", str(profiles), "--port", str(sim_port)], out / "simulator.log", env))
    wait_http(f"http://127.0.0.1:{sim_port}/healthz", 30, "the simulator")
    prom_dir = Path(tempfile.mkdtemp(prefix="rudder-demo-prometheus-"))
    config = subprocess.run([PY, "-m", "simulator.prometheus_config", f"127.0.0.1:{sim_port}"],
                            check=True, capture_output=True, text=True, cwd=REPO).stdout
    (prom_dir / "prometheus.yml").write_text(config)
    stack.enter_context(background(
        ["prometheus", f"--config.file={prom_dir / 'prometheus.yml'}", f"--storage.tsdb.path={prom_dir / 'data'}",
         f"--web.listen-address=127.0.0.1:{prom_port}"], out / "prometheus.log", env))
    prometheus = f"http://127.0.0.1:{prom_port}"
    wait_http(f"{prometheus}/-/ready", 60, "Prometheus")
    return prometheus


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"), required="KUBECONFIG" not in os.environ)
    p.add_argument("--kubectl", default="kubectl")
    p.add_argument("--namespace", default="demo")
    p.add_argument("--out", default=str(REPO / "out" / "demo"))
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ns = args.namespace
    env = {**os.environ, "KUBECONFIG": args.kubeconfig, "PYTHONUNBUFFERED": "1"}
    kubectl = [args.kubectl, "--kubeconfig", args.kubeconfig]
    rudder = [PY, "-m", "rudder.cli.main"]
    canary_cli = [PY, "-m", "canary.cli.main"]

    say("Installing Rudder's CRDs and the metric-policy library")
    # The demo owns these CRDs: take over fields an earlier install (another version) applied.
    run(*kubectl, "apply", "--server-side", "--force-conflicts", "-k", "crds/")
    run(*kubectl, "wait", "--for=condition=Established", "--timeout=60s", *(f"crd/{c}" for c in CRDS))
    run(*kubectl, "apply", "--server-side", "--force-conflicts", "-k", "policies/")
    run(*kubectl, "delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=120s")
    run(*kubectl, "create", "namespace", ns)

    with ExitStack() as stack:
        prometheus = start_services(stack, args.kubeconfig, ns, out, env)

        results = {}
        for name, tag, expected in (("web-1-28", "1.28", 0), ("web-1-29", "1.29", 1)):
            story = "should be promoted" if expected == 0 else "returns 25% errors: should be rolled back"
            say(f"CanaryRelease {name}: image tag {tag} ({story})")
            manifest = out / f"{name}.yaml"
            manifest.write_text(yaml.safe_dump(canary(name, tag, prometheus), sort_keys=False))
            run(*kubectl, "apply", "-n", ns, "-f", str(manifest))
            code = run(*canary_cli, "wait", name, "-n", ns, "--timeout", "5m", env=env, check=False)
            results[name] = (code, expected)
            run(*canary_cli, "status", name, "-n", ns, env=env, check=False)
            run(*canary_cli, "report", name, "-n", ns, "-o", str(out / f"{name}.html"), env=env, check=False)

        say("Where the Release stands now")
        run(*rudder, "status", "web", "-n", ns, env=env, check=False)
        run(*rudder, "history", "web", "-n", ns, env=env, check=False)

    ok = all(code == expected for code, expected in results.values())
    say("Done" if ok else "The demo did not end as expected")
    print(json.dumps({name: {"exit": c, "expected": e} for name, (c, e) in results.items()}))
    print(f"""
Look next:
  export KUBECONFIG={args.kubeconfig}
  {' '.join(kubectl[:1])} get releases,releasehistories,canaryreleases -n {ns}
  rudder history web -n {ns}          # the revision table (promotion is revision 2)
  kubectl canary status web-1-29 -n {ns}
  open {out / 'web-1-29.html'}        # why the bad canary was rolled back, with plots
  open {out / 'web-1-28.html'}""")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
