"""kopf handlers of the Release controller: thin wrappers over `rudder.kube.reconcile`.

A watch event reacts at once; a timer resyncs every Release so status follows the cluster
(a pod crashing later shows up without any change to the Release) and referenced ConfigMaps
and Secrets are re-read. Both paths take the same per-Release lock, so one Release is never
reconciled twice at the same time while many Releases reconcile concurrently.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

import kopf

from rudder.kube import finalize
from rudder.kube.applier import FieldsetCache
from rudder.kube.client import Kube, KubeError
from rudder.kube.metrics import RECONCILE_ERRORS, RECONCILE_SECONDS, RECONCILES
from rudder.kube.reconcile import Settings, reconcile

if TYPE_CHECKING:
    from rudder.controller import ControllerConfig

log = logging.getLogger("rudder.handlers")

GROUP, VERSION, PLURAL = "rudder.dev", "v1alpha1", "releases"


class _Locks:
    """One lock per Release uid."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def get(self, uid: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(uid, threading.Lock())

    def drop(self, uid: str) -> None:
        with self._guard:
            self._locks.pop(uid, None)


def register(registry: kopf.OperatorRegistry, cfg: ControllerConfig) -> None:
    """Register the Release handlers into `registry`."""
    kube = Kube.from_environment(cfg.kubeconfig)
    cache = FieldsetCache()
    locks = _Locks()
    settings = Settings(allow_cluster_scoped=cfg.allow_cluster_scoped)

    def run(namespace: str, name: str, uid: str, *, blocking: bool) -> None:
        lock = locks.get(uid)
        if not lock.acquire(blocking=blocking):
            return  # another path is reconciling this Release right now; it sees the same state
        started = time.monotonic()
        try:
            reconcile(kube, namespace, name, cache, settings)
            RECONCILES.labels(outcome="ok").inc()
        except KubeError as err:
            RECONCILES.labels(outcome="error").inc()
            RECONCILE_ERRORS.labels(controller="release").inc()
            # 409s and transient API errors are retried; kopf backs off.
            raise kopf.TemporaryError(f"{err.status} {err.reason}: {err.message}", delay=1) from err
        finally:
            RECONCILE_SECONDS.observe(time.monotonic() - started)
            lock.release()

    @kopf.on.event(GROUP, VERSION, PLURAL, registry=registry)
    def on_event(event: kopf.RawEvent, namespace: str | None, name: str, uid: str, **_: Any) -> None:
        assert namespace is not None  # Releases are namespaced
        if event.get("type") == "DELETED":
            locks.drop(uid)
            cache.forget(uid)
            return
        try:
            run(namespace, name, uid, blocking=False)
        except kopf.TemporaryError as err:
            log.info("%s/%s: will retry on the next resync: %s", namespace, name, err)

    @kopf.timer(GROUP, VERSION, PLURAL, interval=cfg.resync_seconds, registry=registry, backoff=2,
                when=lambda meta, **_: not meta.get("deletionTimestamp"))
    def resync(namespace: str | None, name: str, uid: str, **_: Any) -> None:
        assert namespace is not None
        run(namespace, name, uid, blocking=True)

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry, backoff=2)
    def on_delete(body: kopf.Body, uid: str, **_: Any) -> None:
        lock = locks.get(uid)
        with lock:
            try:
                remaining = finalize.uninstall(kube, dict(body))
            except KubeError as err:
                raise kopf.TemporaryError(f"uninstall: {err.message}", delay=2) from err
            if remaining:
                raise kopf.TemporaryError(f"waiting for {len(remaining)} object(s) to be deleted", delay=1)
        cache.forget(uid)
        locks.drop(uid)
