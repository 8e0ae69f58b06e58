"""The canary scenario: C concurrent CanaryReleases (replicas router, 3 weight steps, analysis every `interval`
against a real Prometheus scraping the traffic simulator) on top of N Releases, against one controller variant.

In a namespace of its own (`bench-<variant>-canary`): N Releases of the benchmark chart and C `webNNN` Releases
(a 2-replica Deployment and its Service) are created and waited Ready; one in-process simulator per web Service
sends its traffic, Prometheus scrapes them all through one endpoint (bench/scale/metrics_host.py); then the C
CanaryReleases are created at once and a watch records every analysis look until all have finished or the
window ends (bench/scale/looks.py computes the figures). Uninstalling is deleting the namespace, timed, as in
the Release scenario.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import watch

from bench.scale.cluster import REPO, Bench, wait_until
from bench.scale.looks import CanaryResult, LookLog, histogram_mean
from bench.scale.metrics_host import MetricsHost
from bench.scale.process import Controller, Variant, free_port
from bench.scale.run import CLEANUP_GRACE, GROUP, PLURAL, VERSION, Options, release, uninstall_namespace
from bench.scale.shared_reader import SharedReader
from simulator import ProfileSet, Simulator
from simulator.profiles import Profile
from simulator.routing.reader import KubeReader

FINAL = frozenset({"Promoted", "RolledBack", "Failed"})
POLICY = "bench-error-rate"
# As the canary tests' healthy app: 0.2% errors, 50 ms median latency.
GOOD = Profile(error_rate=0.002, latency_median=0.05, latency_sigma=0.2)


@dataclass(frozen=True)
class CanaryOptions:
    canaries: int = 200
    releases: int = 1000
    interval: float = 10.0  # seconds between analysis looks
    weights: tuple[int, ...] = (10, 30, 60)
    step_seconds: float = 60.0
    rps: float = 20.0  # simulated requests per second per web Service
    window: float = 0.0  # how long to record looks at most (0: the steps' total plus 60 s)

    @property
    def record_for(self) -> float:
        return self.window or len(self.weights) * self.step_seconds + 60.0


def bench_policy(namespace: str) -> dict[str, Any]:
    """The library's http-error-rate with a tolerance a few requests per look can clear (20 req/s for 200
    canaries is all 2 cores simulate; the library's policy needs ~2,000 per side): healthy canaries pass their
    looks and walk their 3 steps, with real queries to the real Prometheus and the real judge."""
    library = next(doc for doc in yaml.safe_load_all((REPO / "policies" / "http.yaml").read_text())
                   if doc and doc["metadata"]["name"] == "http-error-rate")
    spec = {**library["spec"], "allowedAbsoluteIncrease": 0.3, "confidence": 0.9, "minSamples": 20,
            "description": "bench/scale: http-error-rate, tolerant of little traffic"}
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "MetricPolicy",
            "metadata": {"name": POLICY, "namespace": namespace}, "spec": spec}


def web_release(name: str) -> dict[str, Any]:
    """A Release of the benchmark chart with 2 replicas: the target of one canary."""
    return release(name, replicas=2, tag="3.10")


def canary_release(name: str, target: str, copts: CanaryOptions) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "CanaryRelease", "metadata": {"name": name},
            "spec": {
                "release": target, "values": {"tag": "3.9"},
                "router": {"type": "replicas", "service": target},
                "steps": [{"weight": w, "duration": f"{copts.step_seconds:g}s"} for w in copts.weights],
                # The controller's --prometheus-url is the default endpoint.
                "analysis": {"interval": f"{copts.interval:g}s", "onInconclusive": "extend",
                             "metrics": [{"policy": POLICY}]},
                "progressDeadline": f"{int(copts.record_for) + 600}s",
            }}


@contextmanager
def prometheus(out_dir: Path, port: int) -> Any:
    """A real Prometheus on 127.0.0.1:`port`, scraping the targets written to `targets.json` (file discovery)."""
    directory = out_dir / f"prometheus-{port}"
    (directory / "data").mkdir(parents=True, exist_ok=True)
    targets = directory / "targets.json"
    targets.write_text("[]")
    # Every 2 s: a 10 s look's increase() spans ~5 samples; one scrape of all simulators takes ~0.1 s.
    config = {"global": {"scrape_interval": "2s", "scrape_timeout": "2s", "evaluation_interval": "2s"},
              "scrape_configs": [{"job_name": "simulators", "honor_labels": True,
                                  "file_sd_configs": [{"files": [str(targets)], "refresh_interval": "1s"}]}]}
    (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
    with (directory / "prometheus.log").open("wb") as log:
        proc = subprocess.Popen(["prometheus", f"--config.file={directory / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={directory / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: _get(f"http://127.0.0.1:{port}/-/ready") is not None or proc.poll() is not None,
                   timeout=60, what="Prometheus to be ready")
        if proc.poll() is not None:
            raise RuntimeError(f"prometheus exited with {proc.returncode}; log: {directory / 'prometheus.log'}")
        yield targets
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


def _get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return bytes(r.read())
    except OSError:
        return None


def _targets_up(port: int) -> int:
    body = _get(f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": "sum(up)"}))
    result = json.loads(body or b"{}").get("data", {}).get("result", [])
    return int(float(result[0]["value"][1])) if result else 0


class StatusWatch:
    """A watch on the namespace's CanaryReleases feeding a `LookLog` with each status and when it arrived."""

    def __init__(self, bench: Bench, namespace: str) -> None:
        self.bench, self.namespace = bench, namespace
        self.log = LookLog()
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="canary-status-watch", daemon=True)

    def __enter__(self) -> StatusWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=40)

    def _run(self) -> None:
        while not self._stop.is_set():
            stream = watch.Watch()
            try:
                for event in stream.stream(self.bench.custom.list_namespaced_custom_object, GROUP, VERSION,
                                           self.namespace, "canaryreleases", timeout_seconds=20):
                    obj = event["object"]
                    with self.lock:
                        self.log.observe(obj["metadata"]["name"], obj.get("status") or {}, time.time())
                    if self._stop.is_set():
                        stream.stop()
            except Exception:  # a broken stream is opened again; the statuses carry the looks anyway
                time.sleep(1)

    def phases(self) -> dict[str, str]:
        with self.lock:
            return dict(self.log.phases)


def _stop_all(sims: list[Simulator]) -> None:
    while sims:
        sims.pop().stop()


def _create_all(bench: Bench, namespace: str, plural: str, bodies: list[dict[str, Any]]) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda body: bench.custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, plural, body), bodies))


def _ready_count(bench: Bench, namespace: str) -> int:
    items = bench.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)["items"]
    return sum(1 for i in items if (i.get("status") or {}).get("phase") == "Ready")


def measure_canaries(bench: Bench, variant: Variant, copts: CanaryOptions, *, opts: Options, log: Any) -> CanaryResult:
    namespace = f"bench-{variant.name}-canary"
    tag = f"[{variant.name} canaries={copts.canaries} on N={copts.releases}]"
    kubeconfig = bench.variant_identity(variant.name, opts.out_dir)
    prom_port = free_port()
    bench.ensure_namespace(namespace)
    with ExitStack() as stack:
        # Whatever fails, the namespace goes (last: its finalizers are released if the controller is gone).
        stack.callback(lambda: bench.delete_namespace(namespace, timeout=CLEANUP_GRACE))
        targets = stack.enter_context(prometheus(opts.out_dir, prom_port))
        ctl = Controller.start(variant, kubeconfig=kubeconfig, namespace=namespace, cwd=REPO,
                               controllers="release,canary",
                               extra=("--prometheus-url", f"http://127.0.0.1:{prom_port}"),
                               log_path=opts.out_dir / f"controller-{variant.name}-canary.log")
        stack.callback(ctl.stop)
        # The namespace goes while the controller is still up (its objects hold the controller's finalizers).
        stack.callback(lambda: bench.delete_namespace(namespace, timeout=CLEANUP_GRACE))
        bench.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "metricpolicies",
                                                     bench_policy(namespace))
        webs = [f"web{i:03d}" for i in range(copts.canaries)]
        total = copts.releases + len(webs)
        log(f"{tag} creating {copts.releases} Releases and {len(webs)} web Releases")
        _create_all(bench, namespace, PLURAL, [release(f"r{i:05d}") for i in range(copts.releases)]
                    + [web_release(w) for w in webs])
        wait_until(lambda: _ready_count(bench, namespace) >= total, timeout=opts.ready_timeout, interval=2,
                   what=f"{total} Releases Ready")
        log(f"{tag} all {total} Releases Ready; starting {len(webs)} simulators at {copts.rps:g} req/s each")
        sims: list[Simulator] = []
        stack.callback(_stop_all, sims)
        shared = SharedReader(KubeReader(bench.api, namespace, timeout=30.0))
        for w in webs:
            sim = Simulator(namespace, w, rps=copts.rps, seed=len(sims) + 1, reader=shared,
                            profiles=ProfileSet(GOOD, {}), tick=0.5, refresh=5.0, serve=False)
            sims.append(sim.start())
        host = stack.enter_context(MetricsHost(sims))
        targets.write_text(json.dumps([{"targets": [host.target]}]))
        wait_until(lambda: _targets_up(prom_port) >= 1, timeout=120, what="Prometheus scraping the simulators")

        status = stack.enter_context(StatusWatch(bench, namespace))
        cpu_before = ctl.cpu_seconds()
        log(f"{tag} creating {len(webs)} CanaryReleases at once; recording looks for up to {copts.record_for:.0f}s")
        _create_all(bench, namespace, "canaryreleases", [canary_release(f"{w}-canary", w, copts) for w in webs])
        deadline = time.monotonic() + copts.record_for
        while time.monotonic() < deadline:
            phases = status.phases()
            if len(phases) >= len(webs) and all(p in FINAL for p in phases.values()):
                break
            time.sleep(2)  # a benchmark window, not a wait on one condition
        cpu = ctl.cpu_seconds() - cpu_before
        analysis_mean = histogram_mean(ctl.metrics_text(), "rudder_canary_analysis_seconds")
        status.__exit__()
        _stop_all(sims)  # the traffic stops before the uninstall is timed
        uninstall, leftovers = uninstall_namespace(bench, namespace, opts=opts, log=lambda m: log(f"{tag} {m}"))
        with status.lock:
            result = CanaryResult.of(variant.name, copts.releases, copts.canaries, copts.interval, status.log,
                                     analysis_mean=analysis_mean, peak_rss_mib=ctl.peak_rss_mib(), cpu_seconds=cpu,
                                     uninstall_seconds=uninstall, uninstall_leftovers=leftovers)
    log(f"{tag} done: {result}")
    return result
