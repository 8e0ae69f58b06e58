"""Which CanaryReleases a change in the watch-fed cache wakes (the pure rules are in canary.domain.interest).

Subscribed to every cached kind: an object naming its CanaryRelease (copies, router objects it created)
wakes that one; any other object wakes the CanaryReleases whose last observation read it (their Release,
the Release's workloads, their router's objects), indexed after every reconcile (`note`). A CanaryRelease's
own change in the cache wakes it too: kopf's watch event may come before the cache has the change, and the
pass it starts then reads the old object (a `rudder.dev/action` would wait for the safety net). Runs on watch
threads: dictionary look-ups only.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from canary.domain.interest import Interest, interests, named_canary
from canary.domain.labels import CANARY_KIND
from canary.kube.observe import Gathered
from rudder.models import API_VERSION

Wake = Callable[[str, str], object]
# What a canary reads on every pass and is always served by the cache (discovery answers for them).
WATCHED_KINDS = ((API_VERSION, "CanaryRelease"), (API_VERSION, "Release"), ("apps/v1", "Deployment"),
                 ("apps/v1", "StatefulSet"), ("v1", "Service"))


def interests_of(gathered: Gathered) -> frozenset[Interest]:
    """What the canary just observed depends on (its router's reads included)."""
    reads: Iterable[Interest] = ()
    if gathered.router is not None and gathered.router_ctx is not None:
        reads = [(ref.kind, ref.name) for ref in gathered.router.reads(gathered.router_ctx)]
    return interests(gathered.observed, reads)


class CanaryWakes:
    """Maps cache events to `wake(namespace, canary)` (see the module docstring). Thread-safe."""

    def __init__(self, wake: Wake) -> None:
        self._wake = wake
        self._lock = threading.Lock()
        self._noted: dict[tuple[str, str], frozenset[Interest]] = {}
        self._readers: dict[tuple[str, str, str], set[str]] = defaultdict(set)  # (ns, kind, name) -> canaries

    def note(self, namespace: str, canary: str, read: frozenset[Interest]) -> None:
        """What `canary` read on its last pass (replacing what it read before)."""
        with self._lock:
            before = self._noted.get((namespace, canary), frozenset())
            if before == read:
                return
            for kind, name in before - read:
                self._drop((namespace, kind, name), canary)
            for kind, name in read - before:
                self._readers[(namespace, kind, name)].add(canary)
            self._noted[(namespace, canary)] = read

    def forget(self, namespace: str, canary: str) -> None:
        self.note(namespace, canary, frozenset())
        with self._lock:
            self._noted.pop((namespace, canary), None)

    def concerned(self, obj: Mapping[str, Any]) -> set[tuple[str, str]]:
        """(namespace, name) of every CanaryRelease a change to `obj` concerns."""
        meta = obj.get("metadata") or {}
        kind, namespace, name = obj.get("kind"), meta.get("namespace"), meta.get("name")
        if not namespace:
            return set()  # canaries read nothing cluster-scoped
        if kind == CANARY_KIND:
            return {(str(namespace), str(name))}
        found = set()
        named = named_canary(obj)
        if named is not None:
            found.add(named)
        with self._lock:
            readers = list(self._readers.get((str(namespace), str(kind), str(name)), ()))
        found.update((str(namespace), reader) for reader in readers)
        return found

    def on_event(self, _event_type: str, obj: Mapping[str, Any]) -> None:
        for namespace, canary in self.concerned(obj):
            self._wake(namespace, canary)

    def _drop(self, key: tuple[str, str, str], canary: str) -> None:
        names = self._readers.get(key)
        if names is not None:
            names.discard(canary)
            if not names:
                del self._readers[key]
