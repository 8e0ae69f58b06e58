"""`Simulator`: the routing refresher, the traffic loop and the HTTP endpoint, run in the background.

One thread refreshes the routing state, reloads the profile file and sends the requests that
are due; another serves HTTP. Both stop and are joined in `stop()`, which returns within a few
seconds (every API call carries a timeout).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from prometheus_client.core import Metric

from simulator.metrics import DEFAULT_BUCKETS, MetricStore, exposition
from simulator.model import RoutingState
from simulator.profiles import ProfileFile, ProfileSet
from simulator.routing import ClusterReader, KubeReader, RoutingError, read_routing, router_for
from simulator.server import Endpoint
from simulator.traffic import RequestClock, TrafficEngine

log = logging.getLogger(__name__)


class Simulator:
    """Simulated clients plus simulated instrumented application for one Service's routing.

    `profiles` is a profile file (re-read when it changes) or a `ProfileSet`. `reader` replaces
    the Kubernetes API (tests use `StaticReader`); otherwise `kubeconfig` (default: the usual
    kubeconfig lookup) says which cluster to read.
    """

    def __init__(
        self,
        namespace: str,
        service: str,
        *,
        kubeconfig: str | None = None,
        router: str = "replicas",
        router_object: str | None = None,
        rps: float = 50.0,
        profiles: str | Path | ProfileSet | None = None,
        port: int = 0,
        seed: int = 1,
        tick: float = 0.1,
        refresh: float = 1.0,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        reader: ClusterReader | None = None,
        api_timeout: float = 5.0,
        serve: bool = True,
    ) -> None:
        router_for(router)  # reject an unknown router type before anything starts
        if tick <= 0 or refresh <= 0:
            raise ValueError("tick and refresh must be positive")
        self.namespace, self.service = namespace, service
        self.router, self.router_object = router, router_object
        self.tick, self.refresh = tick, refresh
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._store = MetricStore(namespace, buckets)
        self._clock = RequestClock(rps, time.monotonic())
        self._engine = TrafficEngine(seed)
        self._profile_file: ProfileFile | None = None
        if isinstance(profiles, ProfileSet):
            self._profiles = profiles
        elif profiles is not None:
            self._profile_file = ProfileFile(Path(profiles))
            self._profiles = self._profile_file.load()
        else:
            self._profiles = ProfileSet()
        self._api: client.ApiClient | None = None
        if reader is None:
            self._api = config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
            reader = KubeReader(self._api, namespace, timeout=api_timeout)
        self._reader = reader
        # Without its own endpoint, a host process serves `metric_families()` of many simulators at once.
        self._serve = serve
        self._requested_port = port
        self._endpoint: Endpoint | None = None
        self._thread: threading.Thread | None = None
        self._routing: RoutingState | None = None
        self.last_error: str | None = None
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Simulator:
        if self._thread is not None:
            raise RuntimeError("simulator already started")
        if self._serve:
            self._endpoint = Endpoint(self, self._requested_port)
            self.port = self._endpoint.port
            self._endpoint.start()
        self._refresh()  # routing known before the first request and the first scrape
        with self._lock:
            self._clock.reset(self._clock.rps, time.monotonic())
        self._thread = threading.Thread(target=self._loop, name="simulator-traffic")
        self._thread.start()
        log.info("simulator serving http://127.0.0.1:%d/metrics", self.port)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._endpoint is not None:
            self._endpoint.stop()
        if self._api is not None:
            self._api.close()  # type: ignore[no-untyped-call]

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def target(self) -> str:
        """host:port, as a Prometheus static target."""
        return f"127.0.0.1:{self.port}"

    # -- controls (also reachable over HTTP) --------------------------------------------------

    @property
    def rps(self) -> float:
        return self._clock.rps

    def set_rps(self, rps: float) -> None:
        with self._lock:
            self._clock.reset(rps, time.monotonic())
        self._store.set_rps(rps)

    @property
    def profiles(self) -> ProfileSet:
        return self._profiles

    def set_profiles(self, profiles: ProfileSet) -> None:
        with self._lock:
            self._profiles = profiles

    def set_version(self, tag: str, doc: dict[str, Any]) -> None:
        """Give image tag `tag` the default profile overlaid with `doc` (profile file syntax)."""
        with self._lock:
            self._profiles = self._profiles.with_version(tag, doc)

    @property
    def routing(self) -> RoutingState | None:
        return self._routing

    def request_counts(self) -> dict[str, dict[int, int]]:
        return self._store.request_counts()

    def metrics_text(self) -> bytes:
        return exposition(self._store)

    def metric_families(self) -> list[Metric]:
        """This simulator's metric families, for a host that exposes several simulators as one target."""
        return list(self._store.collect())

    def routing_view(self) -> dict[str, Any]:
        routing = self._routing
        return {
            "router": self.router,
            "service": self.service,
            "rps": self.rps,
            "lastError": self.last_error,
            "routing": routing.to_dict() if routing else None,
            "requests": self.request_counts(),
        }

    # -- the loop ------------------------------------------------------------------------------

    def _loop(self) -> None:
        next_refresh = time.monotonic() + self.refresh
        while not self._stop.wait(self.tick):
            if time.monotonic() >= next_refresh:
                self._refresh()
                next_refresh = time.monotonic() + self.refresh
            if self._profile_file is not None:
                reloaded = self._profile_file.poll()
                if reloaded is not None:
                    self.set_profiles(reloaded)
            self._send_due()

    def _send_due(self) -> None:
        routing = self._routing
        with self._lock:
            due = self._clock.due(time.monotonic())
            profiles = self._profiles
            if routing is None or due == 0:
                return
            # Still under the lock, so a profile switched over HTTP applies from one batch on,
            # never half-way through one.
            routed = self._engine.run(routing, profiles, due, self._store.record)
        self._store.record_unrouted(due - routed)

    def _refresh(self) -> None:
        previous = self._routing
        try:
            routing = read_routing(self._reader, self.router, self.service, self.router_object)
            error = None
        except RoutingError as exc:
            # The routing objects say there is nowhere to send traffic: send none, keep pod series.
            existing = previous.existing_pods if previous else frozenset()
            routing, error = RoutingState(self.namespace, (), existing), str(exc)
        except Exception as exc:  # API unreachable or timing out: keep routing as last seen
            routing = previous if previous is not None else RoutingState(self.namespace, ())
            error = f"reading routing state: {_describe(exc)}"
        if error != self.last_error:
            if error:
                log.warning("%s", error)
            else:
                log.info("routing state readable again")
        self.last_error = error
        self._routing = routing
        self._store.update_routing(routing, self.rps)


def _describe(exc: Exception) -> str:
    # ApiException's str() carries every response header and the body: one line is enough for a log.
    if isinstance(exc, ApiException):
        return f"API server answered {exc.status} {exc.reason}"
    return f"{type(exc).__name__}: {exc}"
