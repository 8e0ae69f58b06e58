"""`rudder-controller`: one entry point that runs the Release and CanaryRelease controllers.

    rudder-controller [--controllers release,canary] [--namespace NS ... | --all-namespaces]
                      [--metrics-port 8080] [--health-port 8081]
                      [--peering NAME [--priority N|auto] [--peering-lifetime SECONDS] | --standalone]
                      [--allow-cluster-scoped Kind.group ...] [--resync SECONDS] [--max-concurrent-reconciles N]
                      [--kubeconfig PATH]
                      [--history-key-file PATH | --history-key-secret NS/NAME] [--accept-unsigned-history]
                      [--prometheus-url URL] [--prometheus-allow ENTRY ...] [--analysis-workers N]
                      [--render-timeout SECONDS] [--render-memory MIB] [--render-output MIB]
                      [--shard SELECTOR] [--kube-qps 100] [--kube-burst 200]

Health: `GET :health-port/healthz` is kopf's liveness probe (200 while the operator loop is
alive). Metrics: `GET :metrics-port/metrics` in Prometheus text format.

Peering: replicas started with the same `--peering NAME` share one kopf peering object; the live
replica with the highest priority acts and the others stand by. kopf pauses every replica when two
live ones share a priority, so `--priority auto` (the default) ranks replicas by start time: the
first started outranks later ones, a new replica never preempts the acting one, and two replicas
never tie. A replica that dies without saying goodbye is presumed dead `--peering-lifetime`
seconds after its last keep-alive; then a standby takes over (see docs/deploy.md for the figures).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import re
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import kopf
from prometheus_client import start_http_server

from rudder.domain.history_auth import HistoryKeyError
from rudder.kopfkit import Runtime
from rudder.kube.client import set_politeness
from rudder.kube.throttle import DEFAULT_BURST, DEFAULT_QPS
from rudder.render.isolation import start_workers
from rudder.render.limits import MIB, RenderLimits, limits_from_environment, set_default_limits
from rudder.sharding import SHARD_LABEL, ShardError, finalizer, parse_shard

log = logging.getLogger("rudder.controller")

CONTROLLERS = ("release", "canary")
# A namespace pattern without globs, negations or lists: one exact namespace name.
_EXACT_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
MIN_PEERING_LIFETIME = 5


@dataclass(frozen=True)
class ControllerConfig:
    """Options shared by the controllers, parsed once from the command line."""

    controllers: tuple[str, ...] = CONTROLLERS
    namespaces: tuple[str, ...] = ()
    metrics_port: int = 8080
    health_port: int = 8081
    peering: str | None = None
    priority: int = 0
    peering_lifetime: int = 15
    allow_cluster_scoped: frozenset[str] = field(default_factory=frozenset)
    resync_seconds: float = 300.0  # the safety net: every object is reconciled at least this often
    max_concurrent_reconciles: int = 8
    kubeconfig: str | None = None
    kube_qps: float = DEFAULT_QPS  # client-side rate limit of the controller's own API requests
    kube_burst: int = DEFAULT_BURST
    history_key_file: str | None = None
    history_key_secret: str | None = None
    accept_unsigned_history: bool = False
    prometheus_url: str | None = None  # the default endpoint of canary analyses
    prometheus_allow: tuple[str, ...] = ()  # further endpoints a CanaryRelease may name
    analysis_workers: int = 16  # canary analysis queries measured at once (canary.kube.looks)
    render_limits: RenderLimits = field(default_factory=RenderLimits)
    shard: str | None = None

    @property
    def shard_labels(self) -> Mapping[str, Any] | None:
        """kopf `labels=` filter of every handler: only this shard's objects (None: all of them)."""
        return parse_shard(self.shard) if self.shard else None


def auto_priority(started: float, tiebreak: int) -> int:
    """Peering priority from the start time: earlier starts rank higher (millisecond resolution,
    `tiebreak` in [0, 1000) separating replicas started in the same millisecond)."""
    return -(int(started * 1000) * 1000 + tiebreak)


def _priority(text: str) -> int:
    if text == "auto":
        return auto_priority(time.time(), random.randrange(1000))
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer nor 'auto': {text!r}") from None


def _number(kind: type[float] | type[int], least: float) -> Any:
    """An argparse type: a finite number of `kind`, at least `least`."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not least <= value < float("inf"):
            raise argparse.ArgumentTypeError(f"must be at least {least}: {text!r}")
        return value

    return parse


def _add_load_flags(p: argparse.ArgumentParser) -> None:
    """The flags that size the controller's load: safety-net resync, reconcile pool, API rate limit."""
    p.add_argument("--resync", type=float, default=float(os.environ.get("RUDDER_RESYNC_SECONDS", "300")),
                   help="safety net: seconds after which an object nothing woke is reconciled anyway "
                        "(changes wake it at once; env RUDDER_RESYNC_SECONDS)")
    p.add_argument("--max-concurrent-reconciles", type=int, metavar="N",
                   default=int(os.environ.get("RUDDER_MAX_CONCURRENT_RECONCILES", "8")),
                   help="reconciles running at once, over all objects (env RUDDER_MAX_CONCURRENT_RECONCILES)")
    p.add_argument("--kube-qps", type=_number(float, 0), metavar="N",
                   default=os.environ.get("RUDDER_KUBE_QPS", str(DEFAULT_QPS)),
                   help=f"API requests per second the controller's client may send (0: unlimited; default "
                        f"{DEFAULT_QPS:g}, env RUDDER_KUBE_QPS); kopf's own watches and patches are not counted")
    p.add_argument("--kube-burst", type=_number(int, 1), metavar="N",
                   default=os.environ.get("RUDDER_KUBE_BURST", str(DEFAULT_BURST)),
                   help=f"the most requests it may send in one burst (default {DEFAULT_BURST}, env RUDDER_KUBE_BURST)")


def parse_args(argv: Sequence[str]) -> ControllerConfig:
    p = argparse.ArgumentParser(prog="rudder-controller", description=__doc__.split("\n\n")[0])
    p.add_argument("--controllers", default=",".join(CONTROLLERS),
                   help="comma-separated subset of: release, canary")
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--namespace", "-n", action="append", default=[],
                       help="watch only this namespace (repeatable)")
    scope.add_argument("--all-namespaces", "-A", action="store_true", help="watch every namespace (default)")
    p.add_argument("--metrics-port", type=int, default=8080, help="0 disables the metrics endpoint")
    p.add_argument("--health-port", type=int, default=8081, help="0 disables the liveness endpoint")
    election = p.add_mutually_exclusive_group()
    election.add_argument("--peering", metavar="NAME",
                          help="kopf peering object used for leader election between replicas")
    election.add_argument("--standalone", action="store_true", help="no peering (a single replica)")
    p.add_argument("--priority", type=_priority, default=os.environ.get("RUDDER_PRIORITY", "auto"),
                   help="peering priority; the highest live priority acts, the others stand by. "
                        "'auto' (default): replicas rank by start time, the first started acts")
    p.add_argument("--peering-lifetime", type=int, metavar="SECONDS",
                   default=int(os.environ.get("RUDDER_PEERING_LIFETIME", "15")),
                   help="how long a replica's peering keep-alive stays valid; a killed replica is replaced "
                        f"by a standby within about this time (at least {MIN_PEERING_LIFETIME})")
    p.add_argument("--allow-cluster-scoped", action="append", default=[], metavar="KIND.GROUP",
                   help="cluster-scoped kind a Release may create (e.g. ClusterRole.rbac.authorization.k8s.io)")
    _add_load_flags(p)
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"))
    key = p.add_mutually_exclusive_group()
    key.add_argument("--history-key-file", metavar="PATH", default=os.environ.get("RUDDER_HISTORY_KEY_FILE"),
                     help="file holding the key that signs ReleaseHistories (created when missing); "
                          "default outside a cluster: $XDG_STATE_HOME/rudder/history.key")
    key.add_argument("--history-key-secret", metavar="NAMESPACE/NAME",
                     help="Secret holding that key (created when missing); default in a cluster: "
                          "<controller namespace>/rudder-history-key")
    p.add_argument("--accept-unsigned-history", action="store_true",
                   help="migration only: use owned ReleaseHistories written before history signing "
                        "(their objects are still validated and confined to the Release's namespace)")
    p.add_argument("--prometheus-url", metavar="URL", default=os.environ.get("RUDDER_PROMETHEUS_URL") or None,
                   help="Prometheus queried by canaries whose spec.analysis.prometheus.url is empty (always allowed)")
    p.add_argument("--prometheus-allow", action="append", default=[], metavar="ENTRY",
                   help="a Prometheus a CanaryRelease may name: scheme://host[:port|:*][/path] or host:port "
                        "(repeatable; without any, canaries may only use --prometheus-url)")
    p.add_argument("--analysis-workers", type=int, metavar="N",
                   default=int(os.environ.get("RUDDER_ANALYSIS_WORKERS", "16")),
                   help="canary analysis queries measured at once, over all canaries; one canary uses at most "
                        "a quarter of them (env RUDDER_ANALYSIS_WORKERS)")
    try:
        render_defaults = limits_from_environment(os.environ)
    except ValueError as err:
        p.error(str(err))
    p.add_argument("--render-timeout", type=float, metavar="SECONDS", default=render_defaults.cpu_seconds,
                   help="CPU seconds one render may use (env RUDDER_RENDER_TIMEOUT; wall clock: 6x + 30 s)")
    p.add_argument("--render-memory", type=int, metavar="MIB", default=render_defaults.memory_bytes // MIB,
                   help="memory one render may allocate, in MiB (env RUDDER_RENDER_MEMORY_MIB)")
    p.add_argument("--render-output", type=int, metavar="MIB", default=render_defaults.output_bytes // MIB,
                   help="rendered text one chart may produce, in MiB (env RUDDER_RENDER_OUTPUT_MIB)")
    p.add_argument("--shard", metavar="SELECTOR", default=os.environ.get("RUDDER_SHARD") or None,
                   help="label selector of the Releases and CanaryReleases this controller handles, e.g. "
                        f"'{SHARD_LABEL}=a' or '!{SHARD_LABEL}' (see docs/deploy.md, Sharding)")
    args = p.parse_args(list(argv))
    _check_numbers(p, args)
    from canary.providers.access import PrometheusAccess  # the canary package loads only when needed

    try:
        PrometheusAccess.from_flags(args.prometheus_url, args.prometheus_allow)
    except ValueError as err:
        p.error(f"--prometheus-allow/--prometheus-url: {err}")
    chosen = tuple(c.strip() for c in args.controllers.split(",") if c.strip())
    unknown = sorted(set(chosen) - set(CONTROLLERS))
    if unknown or not chosen:
        p.error(f"--controllers: unknown {', '.join(unknown) or 'empty list'}; choose from {', '.join(CONTROLLERS)}")
    if args.peering_lifetime < MIN_PEERING_LIFETIME:
        p.error(f"--peering-lifetime: at least {MIN_PEERING_LIFETIME} seconds (keep-alives are sent 5-10 s early)")
    if args.shard is not None:
        try:
            parse_shard(args.shard)
        except ShardError as err:
            p.error(str(err))
    return ControllerConfig(
        controllers=chosen,
        namespaces=tuple(args.namespace),
        metrics_port=args.metrics_port,
        health_port=args.health_port,
        peering=None if args.standalone else args.peering,
        priority=args.priority,
        peering_lifetime=args.peering_lifetime,
        allow_cluster_scoped=frozenset(args.allow_cluster_scoped),
        resync_seconds=args.resync,
        max_concurrent_reconciles=args.max_concurrent_reconciles,
        kubeconfig=args.kubeconfig,
        kube_qps=args.kube_qps,
        kube_burst=args.kube_burst,
        history_key_file=args.history_key_file,
        history_key_secret=args.history_key_secret,
        accept_unsigned_history=args.accept_unsigned_history,
        prometheus_url=args.prometheus_url,
        prometheus_allow=tuple(args.prometheus_allow),
        analysis_workers=args.analysis_workers,
        render_limits=RenderLimits(cpu_seconds=args.render_timeout, memory_bytes=args.render_memory * MIB,
                                   output_bytes=args.render_output * MIB),
        shard=args.shard,
    )


def _check_numbers(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not (0 < args.render_timeout < 1e6 and args.render_memory > 0 and args.render_output > 0):
        p.error("--render-timeout, --render-memory and --render-output must be positive")
    if not args.resync > 0 or args.max_concurrent_reconciles < 1:
        p.error("--resync must be positive and --max-concurrent-reconciles at least 1")
    if args.analysis_workers < 1:
        p.error("--analysis-workers: at least 1")


def build_runtime(cfg: ControllerConfig) -> Runtime:
    """The reconcile pool and the watch-fed object cache both controllers share (rudder.kopfkit)."""
    from rudder.kube.informer import ObjectCache

    pool = ThreadPoolExecutor(max_workers=cfg.max_concurrent_reconciles, thread_name_prefix="reconcile")
    return Runtime(pool=pool, cache=ObjectCache.from_environment(cfg.kubeconfig, cfg.namespaces))


def build_registry(cfg: ControllerConfig, runtime: Runtime | None = None) -> kopf.OperatorRegistry:
    """Register only the chosen controllers' handlers."""
    registry = kopf.OperatorRegistry()
    runtime = runtime or build_runtime(cfg)

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        # In-cluster ServiceAccount or the kubeconfig, as the Kubernetes client resolves them.
        return kopf.login_via_client(**kwargs)

    if "release" in cfg.controllers:
        from rudder import handlers as release_handlers

        release_handlers.register(registry, cfg, runtime)
    if "canary" in cfg.controllers:
        from canary import handlers as canary_handlers

        canary_handlers.register(registry, cfg, runtime)
    return registry


def configure(settings: kopf.OperatorSettings, cfg: ControllerConfig) -> None:
    # Progress lives in annotations under our own prefix; status stays ours and structural.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="rudder.dev")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix="rudder.dev")
    settings.persistence.finalizer = finalizer(cfg.shard)
    settings.posting.level = logging.WARNING  # our own Events are explicit; kopf's are noise
    settings.watching.server_timeout = 60
    settings.peering.name = cfg.peering or "rudder"
    settings.peering.standalone = cfg.peering is None
    settings.peering.priority = cfg.priority
    settings.peering.mandatory = cfg.peering is not None
    settings.peering.lifetime = cfg.peering_lifetime
    # Restricted to named namespaces: no cluster-wide observation of namespaces and CRDs, so a
    # namespaced install needs no cluster-scoped permission (kopf would try, and warn when refused).
    settings.scanning.disabled = bool(cfg.namespaces) and all(
        _EXACT_NAMESPACE.fullmatch(ns) for ns in cfg.namespaces)
    # kopf's own requests (watches, finalizer and progress patches): it already retries 429s after at least
    # their Retry-After (networking.error_backoffs); a hung request must not hold a handler for its default 5 min.
    settings.networking.request_timeout = 60
    settings.networking.connect_timeout = 5
    # kopf's own executor runs only the sync deletion handlers now; reconciles run in Runtime.pool.
    settings.execution.max_workers = cfg.max_concurrent_reconciles
    # A stopping per-object daemon (rudder.kopfkit) exits within a few loop cycles when idle: give it that
    # time, or kopf postpones a deletion's finalizer removal by the daemon's cancellation backoff.
    settings.background.instant_exit_timeout = 1.0


def serve_terminating_namespaces() -> None:
    """Keep serving a namespace matched by a --namespace pattern until it is really gone.

    kopf drops such a namespace as soon as it is marked for deletion (with status conditions), stopping its
    watch streams: the deletion of its Releases and CanaryReleases is then never seen, their finalizers never
    run, and the namespace hangs in Terminating for ever. Only the DELETED event of the namespace ends it."""
    from kopf._core.reactor import observation

    observation.is_deleted = lambda raw_event: raw_event["type"] == "DELETED"


def main(argv: Sequence[str] | None = None) -> int:
    cfg = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=os.environ.get("RUDDER_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if cfg.kubeconfig:
        os.environ["KUBECONFIG"] = cfg.kubeconfig
    set_default_limits(cfg.render_limits)
    set_politeness(cfg.kube_qps, cfg.kube_burst)
    start_workers()  # the render worker hosts start before any thread does
    if cfg.metrics_port:
        start_http_server(cfg.metrics_port)
    try:
        registry = build_registry(cfg)
    except HistoryKeyError as err:
        print(f"rudder-controller: error: {err}", file=sys.stderr)
        return 2
    serve_terminating_namespaces()
    settings = kopf.OperatorSettings()
    configure(settings, cfg)
    liveness = f"http://0.0.0.0:{cfg.health_port}/healthz" if cfg.health_port else None
    asyncio.run(kopf.operator(
        registry=registry,
        settings=settings,
        clusterwide=not cfg.namespaces,
        namespaces=cfg.namespaces,
        standalone=cfg.peering is None,
        peering_name=cfg.peering,
        priority=cfg.priority,
        liveness_endpoint=liveness,
    ))
    return 0


if __name__ == "__main__":
    sys.exit(main())
