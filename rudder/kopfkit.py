"""What both controllers' kopf handlers share: one lock per object, and the level-triggered pair of
handlers (react to every watch event at once, resync on a timer) around a reconcile function."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import kopf

log = logging.getLogger("rudder.kopfkit")

GROUP, VERSION = "rudder.dev", "v1alpha1"


class ObjectLocks:
    """One lock per object uid: an object is never reconciled twice at once, many objects are."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def get(self, uid: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(uid, threading.Lock())

    def drop(self, uid: str) -> None:
        with self._guard:
            self._locks.pop(uid, None)


def register_level_triggered(
    registry: kopf.OperatorRegistry,
    plural: str,
    *,
    resync_seconds: float,
    run: Callable[[str, str, str, bool], object],
    forget: Callable[[str, str, str], None],
    labels: Mapping[str, Any] | None = None,
) -> None:
    """Call `run(namespace, name, uid, blocking)` on every watch event (skipping it when a reconcile of the
    object is already under way: that one sees the same state) and every `resync_seconds`; call
    `forget(namespace, name, uid)` when the object is gone. `labels` (a kopf label filter: the --shard) limits
    both to the objects it matches."""

    @kopf.on.event(GROUP, VERSION, plural, registry=registry, labels=labels)
    def on_event(event: kopf.RawEvent, namespace: str | None, name: str, uid: str, **_: Any) -> None:
        assert namespace is not None  # both kinds are namespaced
        if event.get("type") == "DELETED":
            forget(namespace, name, uid)
            return
        try:
            run(namespace, name, uid, False)
        except kopf.TemporaryError as err:
            log.info("%s/%s: will retry on the next resync: %s", namespace, name, err)

    @kopf.timer(GROUP, VERSION, plural, interval=resync_seconds, registry=registry, backoff=2, labels=labels,
                when=lambda meta, **_: not meta.get("deletionTimestamp"))
    def resync(namespace: str | None, name: str, uid: str, **_: Any) -> None:
        assert namespace is not None
        run(namespace, name, uid, True)
