"""kopf handlers of the CanaryRelease controller: thin wrappers over `canary.kube.reconcile`.

A watch event reacts at once and a timer resyncs every CanaryRelease (steps advance with time even
when nothing changes). Deletion goes through a finalizer: the state machine rolls traffic back and
removes the copies before the object may go.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

import kopf

from canary.kube.execute import forget_metrics
from canary.kube.reconcile import reconcile
from rudder.kube.client import Kube, KubeError
from rudder.kube.metrics import RECONCILE_ERRORS

if TYPE_CHECKING:
    from rudder.controller import ControllerConfig

log = logging.getLogger("rudder.canary.handlers")

GROUP, VERSION, PLURAL = "rudder.dev", "v1alpha1", "canaryreleases"


def register(registry: kopf.OperatorRegistry, cfg: ControllerConfig) -> None:
    """Register the CanaryRelease handlers into `registry`."""
    kube = Kube.from_environment(cfg.kubeconfig)
    guard = threading.Lock()
    locks: dict[str, threading.Lock] = {}

    def lock_for(uid: str) -> threading.Lock:
        with guard:
            return locks.setdefault(uid, threading.Lock())

    def run(namespace: str, name: str, uid: str, *, blocking: bool) -> bool:
        """Reconcile once; True when the finalizer may be released."""
        lock = lock_for(uid)
        if not lock.acquire(blocking=blocking):
            return False
        try:
            return reconcile(kube, namespace, name).deletion_allowed
        except KubeError as err:
            RECONCILE_ERRORS.labels(controller="canary").inc()
            raise kopf.TemporaryError(f"{err.status} {err.reason}: {err.message}", delay=1) from err
        except Exception:
            RECONCILE_ERRORS.labels(controller="canary").inc()
            raise
        finally:
            lock.release()

    @kopf.on.event(GROUP, VERSION, PLURAL, registry=registry)
    def on_event(event: kopf.RawEvent, namespace: str | None, name: str, uid: str, **_: Any) -> None:
        assert namespace is not None
        if event.get("type") == "DELETED":
            with guard:
                locks.pop(uid, None)
            forget_metrics(namespace, name)
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

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry, backoff=1)
    def on_delete(namespace: str | None, name: str, uid: str, **_: Any) -> None:
        assert namespace is not None
        if not run(namespace, name, uid, blocking=True):
            raise kopf.TemporaryError("rolling back before the CanaryRelease may go", delay=1)
