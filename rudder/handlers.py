"""kopf handlers of the Release controller: thin wrappers over `rudder.kube.reconcile`.

Event-driven (rudder.kopfkit): a Release is reconciled when it changes, when something it owns or
reads changes (`rudder.kube.wakes` maps watch events of the cache to the Releases they concern: a pod
crashing later shows up without any change to the Release), when its progress deadline is due, and on
the safety-net resync. The daemon and the deletion handler take the same per-Release lock, so one Release
is never reconciled twice at the same time while many Releases reconcile concurrently.
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import TYPE_CHECKING, Any

import kopf

from rudder.kopfkit import GROUP, VERSION, ObjectLocks, Runtime, Wakeups, register_level_triggered
from rudder.kube import finalize, secrecy
from rudder.kube.applier import FieldsetCache
from rudder.kube.client import Kube, KubeError
from rudder.kube.history_key import load_history_key
from rudder.kube.metrics import RECONCILE_ERRORS, RECONCILE_SECONDS, RECONCILES
from rudder.kube.reconcile import Settings, reconcile
from rudder.kube.wakes import ReleaseWakes

if TYPE_CHECKING:
    from rudder.controller import ControllerConfig


PLURAL = "releases"
log = logging.getLogger("rudder.release")


class ReconcileCrashed(Exception):
    """An unexpected error of one reconcile, its message redacted; kopf retries it with backoff."""


def reconcile_redacted(
    kube: Kube, namespace: str, name: str, cache: FieldsetCache, settings: Settings
) -> float | None:
    """One reconcile in its own secrets scope: whatever error leaves it (kopf logs it and posts it as an
    Event) is redacted like status is. Returns the requeue-after (seconds) or None."""
    with secrecy.scope():
        try:
            requeue = reconcile(kube, namespace, name, cache, settings)
            RECONCILES.labels(outcome="ok").inc()
            return requeue
        except KubeError as err:
            RECONCILES.labels(outcome="error").inc()
            RECONCILE_ERRORS.labels(controller="release").inc()
            # 409s and transient API errors are retried; kopf backs off. `from None`: the chained original
            # would be logged with its unredacted message.
            raise kopf.TemporaryError(secrecy.redact(f"{err.status} {err.reason}: {err.message}"), delay=1) from None
        except Exception as exc:
            RECONCILES.labels(outcome="error").inc()
            RECONCILE_ERRORS.labels(controller="release").inc()
            raise crashed(namespace, name, exc) from None


def crashed(namespace: str, name: str, exc: Exception) -> ReconcileCrashed:
    """The redacted error to raise instead of `exc`; the frames (code locations, no values) are logged."""
    message = secrecy.redact(f"{type(exc).__name__}: {exc}")
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("%s/%s: reconcile failed: %s\n%s", namespace, name, message, frames)
    return ReconcileCrashed(message)


def register(registry: kopf.OperatorRegistry, cfg: ControllerConfig, runtime: Runtime) -> None:
    """Register the Release handlers into `registry`."""
    kube = Kube.from_environment(cfg.kubeconfig, cache=runtime.cache)
    cache = FieldsetCache()
    locks = ObjectLocks()
    settings = Settings(
        allow_cluster_scoped=cfg.allow_cluster_scoped,
        history_key=load_history_key(kube, cfg.history_key_file, cfg.history_key_secret),
        accept_unsigned_history=cfg.accept_unsigned_history,
    )

    def run(namespace: str, name: str, uid: str, blocking: bool) -> float | None:
        lock = locks.get(uid)
        if not lock.acquire(blocking=blocking):
            return None  # another path is reconciling this Release right now; it sees the same state
        started = time.monotonic()
        try:
            return reconcile_redacted(kube, namespace, name, cache, settings)
        finally:
            RECONCILE_SECONDS.observe(time.monotonic() - started)
            lock.release()

    def forget(namespace: str, name: str, uid: str) -> None:
        locks.drop(uid)
        cache.forget(uid)

    wakeups = Wakeups()
    if runtime.cache is not None:
        ReleaseWakes(runtime.cache, wakeups.wake).start()
    register_level_triggered(registry, PLURAL, resync_seconds=cfg.resync_seconds, run=run, forget=forget,
                             labels=cfg.shard_labels, wakeups=wakeups, pool=runtime.pool)

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry, backoff=2, labels=cfg.shard_labels)
    def on_delete(body: kopf.Body, uid: str, **_: Any) -> None:
        lock = locks.get(uid)
        with lock:
            try:
                assert settings.history_key is not None
                remaining = finalize.uninstall(kube, dict(body), settings.history_key,
                                               accept_unsigned=settings.accept_unsigned_history)
            except KubeError as err:
                raise kopf.TemporaryError(f"uninstall: {err.message}", delay=2) from err
            if remaining:
                raise kopf.TemporaryError(f"waiting for {len(remaining)} object(s) to be deleted", delay=1)
        cache.forget(uid)
        locks.drop(uid)
