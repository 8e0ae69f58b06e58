"""Which Releases a change in the watch-fed cache wakes (the pure rules are in rudder.domain.wakes).

Subscribed to every cached kind: a managed object or ReleaseHistory wakes the Release its label names
(deletions too: drift repair); a Pod, ReplicaSet or ControllerRevision wakes the Release of the workload
its controller ownerReferences lead to; a ConfigMap wakes every Release that reads it (chart source,
valuesFrom); a Release wakes itself and the Releases that depend on it; a CanaryRelease wakes its Release
(drift repair waits while a canary runs). The reverse indexes are rebuilt from Release events.
Runs on watch threads: dictionary look-ups only, no API request.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from rudder.domain.wakes import Reads, controller_owner, reads_of, release_of
from rudder.kube.client import Ref
from rudder.kube.informer import ObjectCache
from rudder.models import API_VERSION

OWNER_DEPTH = 3  # Pod -> ReplicaSet -> Deployment (the deepest chain of the workloads Rudder assesses)

Wake = Callable[[str, str], object]


class ReleaseWakes:
    """Maps cache events to `wake(namespace, release)` (see the module docstring)."""

    def __init__(self, cache: ObjectCache, wake: Wake) -> None:
        self._cache = cache
        self._wake = wake
        self._lock = threading.Lock()
        self._reads: dict[tuple[str, str], Reads] = {}
        self._readers: dict[tuple[str, str], set[str]] = defaultdict(set)  # (ns, ConfigMap) -> Releases
        self._dependents: dict[tuple[str, str], set[str]] = defaultdict(set)  # (ns, Release) -> Releases

    def start(self) -> None:
        self._cache.subscribe_all(self.on_event)
        for api_version, kind in ((API_VERSION, "Release"), (API_VERSION, "ReleaseHistory"), ("v1", "ConfigMap"),
                                  (API_VERSION, "CanaryRelease")):
            self._cache.ensure(api_version, kind)  # None (skipped) where the kind is not served

    def on_event(self, event_type: str, obj: Mapping[str, Any]) -> None:
        kind = obj.get("kind")
        namespace = str((obj.get("metadata") or {}).get("namespace") or "")
        name = str((obj.get("metadata") or {}).get("name") or "")
        ours = str(obj.get("apiVersion") or "") == API_VERSION
        if ours and kind == "Release":
            for release_name in self._release_changed(event_type, namespace, name, obj):
                self._wake(namespace, release_name)
            return
        if ours and kind == "CanaryRelease":
            release = (obj.get("spec") or {}).get("release")
            if isinstance(release, str):
                self._wake(namespace, release)
            return
        if kind == "ConfigMap" and obj.get("apiVersion") == "v1":
            with self._lock:
                readers = list(self._readers.get((namespace, name), ()))
            for reader in readers:
                self._wake(namespace, reader)
        target = self._release_of(obj, namespace)
        if target is not None:
            self._wake(*target)

    def _release_of(self, obj: Mapping[str, Any], namespace: str) -> tuple[str, str] | None:
        current: Mapping[str, Any] | None = obj
        for _ in range(OWNER_DEPTH):
            if current is None:
                return None
            found = release_of(current)
            if found is not None:
                return found
            owner = controller_owner(current)
            if owner is None or not namespace:
                return None
            current = self._cache.peek(Ref(owner.api_version, owner.kind, owner.name, namespace))
        return release_of(current) if current is not None else None

    def _release_changed(self, event_type: str, namespace: str, name: str, obj: Mapping[str, Any]) -> list[str]:
        """Update the indexes; the Releases to wake: this one and those depending on it."""
        key = (namespace, name)
        reads = Reads() if event_type == "DELETED" else reads_of(obj)
        with self._lock:
            before = self._reads.pop(key, Reads())
            for cm in before.config_maps:
                self._drop(self._readers, (namespace, cm), name)
            for dep in before.depends_on:
                self._drop(self._dependents, (namespace, dep), name)
            if event_type != "DELETED":
                self._reads[key] = reads
                for cm in reads.config_maps:
                    self._readers[(namespace, cm)].add(name)
                for dep in reads.depends_on:
                    self._dependents[(namespace, dep)].add(name)
            dependents = sorted(self._dependents.get(key, ()))
        return [name, *dependents]

    @staticmethod
    def _drop(index: dict[tuple[str, str], set[str]], key: tuple[str, str], name: str) -> None:
        names = index.get(key)
        if names is not None:
            names.discard(name)
            if not names:
                del index[key]

    def readers_of(self, namespace: str, config_map: str) -> frozenset[str]:
        with self._lock:
            return frozenset(self._readers.get((namespace, config_map), ()))

    def dependents_of(self, namespace: str, release: str) -> frozenset[str]:
        with self._lock:
            return frozenset(self._dependents.get((namespace, release), ()))
