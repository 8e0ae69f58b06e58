"""kopf handlers of the Release controller: thin wrappers over `rudder.kube.reconcile`.

A watch event reacts at once; a timer resyncs every Release so status follows the cluster
(a pod crashing later shows up without any change to the Release) and referenced ConfigMaps
and Secrets are re-read. Both paths take the same per-Release lock, so one Release is never
reconciled twice at the same time while many Releases reconcile concurrently.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import kopf

from rudder.kopfkit import GROUP, VERSION, ObjectLocks, register_level_triggered
from rudder.kube import finalize
from rudder.kube.applier import FieldsetCache
from rudder.kube.client import Kube, KubeError
from rudder.kube.metrics import RECONCILE_ERRORS, RECONCILE_SECONDS, RECONCILES
from rudder.kube.reconcile import Settings, reconcile

if TYPE_CHECKING:
    from rudder.controller import ControllerConfig


PLURAL = "releases"


def register(registry: kopf.OperatorRegistry, cfg: ControllerConfig) -> None:
    """Register the Release handlers into `registry`."""
    kube = Kube.from_environment(cfg.kubeconfig)
    cache = FieldsetCache()
    locks = ObjectLocks()
    settings = Settings(allow_cluster_scoped=cfg.allow_cluster_scoped)

    def run(namespace: str, name: str, uid: str, blocking: bool) -> None:
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

    def forget(namespace: str, name: str, uid: str) -> None:
        locks.drop(uid)
        cache.forget(uid)

    register_level_triggered(registry, PLURAL, resync_seconds=cfg.resync_seconds, run=run, forget=forget,
                             labels=cfg.shard_labels)

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry, backoff=2, labels=cfg.shard_labels)
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
