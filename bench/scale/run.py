"""One measurement: N Releases against one controller variant, in a namespace of their own."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.scale.cluster import REPO, Bench, wait_until
from bench.scale.process import Controller, Variant
from bench.scale.reactions import measure_reactions
from bench.scale.report import Result, time_to_fraction

GROUP, VERSION, PLURAL = "rudder.dev", "v1alpha1", "releases"

# The benchmark chart: one ConfigMap, one 1-replica Deployment, one headless Service. (The canary scenario's
# web Releases set the values `replicas` and `tag`.)
TEMPLATES = {
    "configmap.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}
data:
  greeting: {{ values.greeting | quote }}
""",
    "deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ release.name }}
spec:
  replicas: {{ values.replicas | default(1) }}
  selector:
    matchLabels: {app: {{ release.name }}}
  template:
    metadata:
      labels: {app: {{ release.name }}}
    spec:
      containers:
        - name: app
          image: "registry.k8s.io/pause:{{ values.tag | default("3.10") }}"
""",
    "service.yaml": """\
apiVersion: v1
kind: Service
metadata:
  name: {{ release.name }}
spec:
  clusterIP: None
  selector: {app: {{ release.name }}}
  ports: [{port: 80}]
""",
}


def release(name: str, **values: Any) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Release", "metadata": {"name": name},
            "spec": {"chart": {"templates": TEMPLATES, "values": {"greeting": "hello", **values}}}}


CLEANUP_GRACE = 120.0


@dataclass(frozen=True)
class Options:
    idle_window: float = 60.0
    settle: float = 10.0
    ready_timeout: float = 1800.0
    uninstall_timeout: float = 1800.0
    poll: float = 1.0
    reaction_samples: int = 10
    out_dir: Path = REPO / "out" / "bench"


def _ready(item: dict[str, Any]) -> bool:
    return bool(item.get("status", {}).get("phase") == "Ready")


def measure(bench: Bench, variant: Variant, n: int, *, opts: Options, log: Any = print) -> Result:
    namespace = f"bench-{variant.name}-{n}"
    kubeconfig = bench.variant_identity(variant.name, opts.out_dir)
    bench.ensure_namespace(namespace)
    ctl: Controller | None = None
    try:
        ctl = Controller.start(variant, kubeconfig=kubeconfig, namespace=namespace, cwd=REPO, controllers="release",
                               log_path=opts.out_dir / f"controller-{variant.name}-{n}.log")
        return _measure(bench, ctl, namespace, n, opts=opts, log=log)
    finally:
        # The namespace goes while the controller is still up: its Releases hold the controller's finalizer.
        # (Normally it is gone already: uninstalling it is the last measurement; if it got stuck, or the run
        # failed, its finalizers are released after a grace time so that the next run starts clean.)
        try:
            bench.delete_namespace(namespace, timeout=CLEANUP_GRACE)
        finally:
            if ctl is not None:
                ctl.stop()


def uninstall_namespace(bench: Bench, namespace: str, *, opts: Options, log: Any) -> tuple[float | None, int]:
    """Delete the namespace holding the Releases and wait until it is gone: the time it took, or None with the
    number of objects still holding it when it did not go within `uninstall_timeout` (stuck on finalizers)."""
    log(f"uninstalling all: deleting namespace {namespace}")
    started = time.monotonic()
    bench.core.delete_namespace(namespace)
    try:
        wait_until(lambda: bench.namespace_gone(namespace), timeout=opts.uninstall_timeout, interval=opts.poll,
                   what=f"namespace {namespace} to go")
    except TimeoutError:
        stuck = bench.finalized_objects(namespace)
        log(f"namespace {namespace} still Terminating after {opts.uninstall_timeout:.0f}s; held by: {stuck[:10]}")
        return None, len(stuck)
    return time.monotonic() - started, 0


def _list(bench: Bench, namespace: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = bench.custom.list_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL)["items"]
    return items


def _measure(bench: Bench, ctl: Controller, namespace: str, n: int, *, opts: Options, log: Any) -> Result:
    name = ctl.variant.name
    log(f"[{name} N={n}] creating {n} Releases in {namespace}")
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: bench.custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, release(f"r{i:05d}")), range(n)))
    ready_at: dict[str, float] = {}
    deadline = start + opts.ready_timeout
    while len(ready_at) < n and time.monotonic() < deadline:
        now = time.monotonic() - start
        for item in _list(bench, namespace):
            if _ready(item):
                ready_at.setdefault(item["metadata"]["name"], now)
        time.sleep(opts.poll)
    times = list(ready_at.values())
    cpu_install = ctl.cpu_seconds()
    log(f"[{name} N={n}] {len(times)}/{n} Ready after {time.monotonic() - start:.0f}s; "
        f"settling {opts.settle:.0f}s, then idle for {opts.idle_window:.0f}s")
    time.sleep(opts.settle)  # a benchmark phase boundary, not a wait on a condition

    before_req, before_cpu, before_own = bench.dispatched(name), ctl.cpu_seconds(), ctl.own_writes()
    idle_start = time.monotonic()
    time.sleep(opts.idle_window)
    after_req, after_cpu, after_own = bench.dispatched(name), ctl.cpu_seconds(), ctl.own_writes()
    window = time.monotonic() - idle_start
    idle_reads = after_req["read"] - before_req["read"]
    idle_writes = after_req["write"] - before_req["write"]
    idle_dry_runs = after_req["dry_run"] - before_req["dry_run"]
    own = {k: v - before_own.get(k, 0.0) for k, v in after_own.items() if v - before_own.get(k, 0.0)}
    log(f"[{name} N={n}] idle: {idle_reads:.0f} reads, {idle_writes:.0f} writes ({idle_dry_runs:.0f} dry-run) "
        "seen by the API server; "
        f"the controller's own write count by verb and kind: {own or 'none'}")

    pods, edits = measure_reactions(bench, namespace, n, opts.reaction_samples,
                                    log=lambda m: log(f"[{name} N={n}] {m}"))
    uninstall, leftovers = uninstall_namespace(bench, namespace, opts=opts, log=lambda m: log(f"[{name} N={n}] {m}"))
    result = Result(
        variant=name, releases=n,
        ready_50=time_to_fraction(times, n, 0.5), ready_90=time_to_fraction(times, n, 0.9),
        ready_100=time_to_fraction(times, n, 1.0),
        peak_rss_mib=ctl.peak_rss_mib(), cpu_seconds_install=cpu_install,
        idle_window=window, idle_requests=idle_reads + idle_writes, idle_writes=idle_writes,
        idle_cpu_seconds=after_cpu - before_cpu, uninstall_seconds=uninstall, cpu_seconds_total=ctl.cpu_seconds(),
        idle_dry_runs=idle_dry_runs, uninstall_leftovers=leftovers, pod_reactions=pods, edit_reactions=edits,
    )
    log(f"[{name} N={n}] done: {result}")
    return result
