"""kopf handlers of the CanaryRelease controller: thin wrappers over `canary.kube.reconcile`.

A watch event reacts at once (rudder.kopfkit drives one daemon per CanaryRelease) and each one is
re-read every POLL_SECONDS (steps advance with time even when nothing changes). Deletion goes
through a finalizer: the state machine rolls traffic back and removes the copies before the object may go.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import kopf

from canary.kube.execute import forget_metrics
from canary.kube.reconcile import reconcile
from canary.providers.access import PrometheusAccess
from rudder.kopfkit import GROUP, VERSION, ObjectLocks, Runtime, Wakeups, register_level_triggered
from rudder.kube.client import Kube, KubeError
from rudder.kube.metrics import RECONCILE_ERRORS

if TYPE_CHECKING:
    from rudder.controller import ControllerConfig


PLURAL = "canaryreleases"
# Until CanaryReleases compute their own requeue-after, each one is re-read this often (steps advance with
# time even when nothing changes).
POLL_SECONDS = 5.0


def register(registry: kopf.OperatorRegistry, cfg: ControllerConfig, runtime: Runtime) -> None:
    """Register the CanaryRelease handlers into `registry`."""
    kube = Kube.from_environment(cfg.kubeconfig, cache=runtime.cache)
    locks = ObjectLocks()
    access = PrometheusAccess.from_flags(cfg.prometheus_url, cfg.prometheus_allow)

    def run(namespace: str, name: str, uid: str, blocking: bool) -> bool:
        """Reconcile once; True when the finalizer may be released."""
        lock = locks.get(uid)
        if not lock.acquire(blocking=blocking):
            return False
        try:
            return reconcile(kube, namespace, name, access=access).deletion_allowed
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
        forget_metrics(namespace, name)

    def drive(namespace: str, name: str, uid: str, blocking: bool) -> float | None:
        run(namespace, name, uid, blocking)
        return POLL_SECONDS

    register_level_triggered(registry, PLURAL, resync_seconds=cfg.resync_seconds, run=drive, forget=forget,
                             labels=cfg.shard_labels, wakeups=Wakeups(), pool=runtime.pool)

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry, backoff=1, labels=cfg.shard_labels)
    def on_delete(namespace: str | None, name: str, uid: str, **_: Any) -> None:
        assert namespace is not None
        if not run(namespace, name, uid, True):
            raise kopf.TemporaryError("rolling back before the CanaryRelease may go", delay=1)
