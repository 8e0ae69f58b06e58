"""One view of the canary namespace for every simulator of the benchmark.

Each simulator re-reads its routing (pods, Services, router objects of the namespace) every few seconds. With
200 simulators in a namespace of 2,000 Releases that is 40 lists per second of thousands of pods: the harness
would load the API server (and its own CPU) more than the controller it measures. The simulators share one
snapshot instead, listed at most every `ttl` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable

from simulator.routing.reader import ClusterReader, KindRef, Obj


class SharedReader:
    """A `ClusterReader` that answers every caller from one snapshot per `ttl` seconds (thread-safe)."""

    def __init__(self, inner: ClusterReader, ttl: float = 2.0) -> None:
        self.namespace = inner.namespace
        self._inner = inner
        self._ttl = ttl
        self._lock = threading.Lock()
        self._snapshots: dict[Hashable, tuple[float, list[Obj]]] = {}

    def _read(self, key: Hashable, fetch: Callable[[], list[Obj]]) -> list[Obj]:
        with self._lock:  # one caller lists; the others wait for its answer instead of listing too
            seen = self._snapshots.get(key)
            if seen is not None and time.monotonic() - seen[0] < self._ttl:
                return seen[1]
            items = fetch()
            self._snapshots[key] = (time.monotonic(), items)
            return items

    def pods(self) -> list[Obj]:
        return self._read("pods", self._inner.pods)

    def services(self) -> list[Obj]:
        return self._read("services", self._inner.services)

    def objects(self, kind: KindRef) -> list[Obj]:
        return self._read(kind, lambda: self._inner.objects(kind))
