"""kopf handlers of the CanaryRelease controller: thin wrappers over `canary.kube.reconcile`.

Event-driven (rudder.kopfkit drives one daemon per CanaryRelease): a canary is reconciled when it changes,
when its copies, router objects, Release or the Release's workloads change (`canary.kube.wakes` maps the
watch events of the cache to it), when its next step, analysis look or deadline is due (the requeue-after
of its decision, canary.domain.timing), when its analysis look has a result (`canary.kube.looks` runs the
looks' queries in their own bounded pool), and on the safety-net resync. Deletion goes through a finalizer:
the state machine rolls traffic back and removes the copies before the object may go.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import kopf

from canary.domain.observed import HistoryTrust
from canary.kube.execute import forget_metrics
from canary.kube.looks import LookPool
from canary.kube.reconcile import Result, reconcile
from canary.kube.wakes import WATCHED_KINDS, CanaryWakes
from canary.providers.access import PrometheusAccess
from rudder.kopfkit import GROUP, VERSION, ObjectLocks, Runtime, Wakeups, register_level_triggered
from rudder.kube.client import Kube, KubeError
from rudder.kube.history_key import load_history_key
from rudder.kube.metrics import RECONCILE_ERRORS

if TYPE_CHECKING:
    from rudder.controller import ControllerConfig


PLURAL = "canaryreleases"


def register(registry: kopf.OperatorRegistry, cfg: ControllerConfig, runtime: Runtime) -> None:
    """Register the CanaryRelease handlers into `registry`."""
    kube = Kube.from_environment(cfg.kubeconfig, cache=runtime.cache)
    locks = ObjectLocks()
    access = PrometheusAccess.from_flags(cfg.prometheus_url, cfg.prometheus_allow)
    # The Release controller's key, from the same flags: only histories it signed name a promotion source.
    trust = HistoryTrust(load_history_key(kube, cfg.history_key_file, cfg.history_key_secret),
                         cfg.accept_unsigned_history)
    wakeups = Wakeups()
    wakes = CanaryWakes(wakeups.wake)
    looks = LookPool(cfg.analysis_workers, on_ready=wakeups.wake)
    if runtime.cache is not None:
        runtime.cache.subscribe_all(wakes.on_event)
        for api_version, kind in WATCHED_KINDS:
            runtime.cache.ensure(api_version, kind)

    def run(namespace: str, name: str, uid: str, blocking: bool) -> Result | None:
        """Reconcile once; None when another pass holds the object."""
        lock = locks.get(uid)
        if not lock.acquire(blocking=blocking):
            return None
        try:
            result = reconcile(kube, namespace, name, trust, access=access, looks=looks)
            wakes.note(namespace, name, result.reads)
            return result
        except KubeError as err:
            RECONCILE_ERRORS.labels(controller="canary").inc()
            raise kopf.TemporaryError(f"{err.status} {err.reason}: {err.message}", delay=1) from err
        except Exception:
            RECONCILE_ERRORS.labels(controller="canary").inc()
            raise
        finally:
            lock.release()

    def forget(namespace: str, name: str, uid: str) -> None:
        locks.drop(uid)
        looks.forget(uid)
        wakes.forget(namespace, name)
        forget_metrics(namespace, name)

    def drive(namespace: str, name: str, uid: str, blocking: bool) -> float | None:
        result = run(namespace, name, uid, blocking)
        return None if result is None else result.requeue_after

    register_level_triggered(registry, PLURAL, resync_seconds=cfg.resync_seconds, run=drive, forget=forget,
                             labels=cfg.shard_labels, wakeups=wakeups, pool=runtime.pool)

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry, backoff=1, labels=cfg.shard_labels)
    def on_delete(namespace: str | None, name: str, uid: str, **_: Any) -> None:
        assert namespace is not None
        result = run(namespace, name, uid, True)
        if result is None or not result.deletion_allowed:
            raise kopf.TemporaryError("rolling back before the CanaryRelease may go", delay=1)
