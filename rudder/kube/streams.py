"""One list+watch stream of one kind in one namespace (or cluster-wide), in a daemon thread.

List (paginated), then watch from the list's resourceVersion with bookmarks, resuming from the last
version seen whenever the server ends the watch. A 410 Gone (the version was compacted away) re-lists;
the store then tells its listeners what changed meanwhile. Other errors retry after a bounded backoff.
A 403 or 404 (the controller may not list or watch the kind, or it was removed) stops the stream and
marks the kind unavailable: reads go to the API server directly, where RBAC answers each one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rudder.kube.client import Kube, KubeError
from rudder.kube.metrics import WATCH_RESTARTS

if TYPE_CHECKING:
    from rudder.kube.informer import KindStore

log = logging.getLogger("rudder.informer")

PAGE_SIZE = 500
WATCH_SECONDS = 300  # the server ends each watch after about this long; the stream resumes at once
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 30.0
GONE = 410


class _Expired(Exception):
    """The resourceVersion to resume from is gone (410): list again."""


class Stream:
    """Feeds one `KindStore` from one list+watch scope (see the module docstring)."""

    def __init__(self, kube: Kube, store: KindStore, namespace: str | None, *,
                 wanted: Callable[[str], bool] | None, stopped: threading.Event) -> None:
        self.kube = kube
        self.store = store
        self.namespace = namespace
        self.wanted = wanted  # keep only objects of namespaces it accepts (cluster-wide streams of patterns)
        self.stopped = stopped
        self.synced = False
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"watch-{store.kind}-{namespace or 'all'}")

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        version: str | None = None
        failures = 0
        while not self.stopped.is_set():
            try:
                if version is None:
                    version = self._list()
                    self.synced = True
                version = self._watch(version)
                failures = 0
            except _Expired:
                WATCH_RESTARTS.labels(kind=self.store.kind, cause="expired").inc()
                log.info("watch of %s expired (410: its version is gone, e.g. after a CRD update); listing again",
                         self.store.kind)
                version = None
            except KubeError as err:
                if err.status in {403, 404}:
                    log.warning("not caching %s (%s %s): reads go to the API server", self.store.kind,
                                err.status, err.message)
                    self.store.unavailable = True
                    return
                failures += 1
                self._pause(failures, err)
            except Exception as exc:  # connection reset, timeout, bad chunk: resume after a pause
                failures += 1
                self._pause(failures, exc)

    def _pause(self, failures: int, exc: Exception) -> None:
        WATCH_RESTARTS.labels(kind=self.store.kind, cause="error").inc()
        delay = min(BACKOFF_FIRST * 2 ** (failures - 1), BACKOFF_MAX)
        log.info("watch of %s failed (%s); again in %.1f s", self.store.kind, exc, delay)
        self.stopped.wait(delay)

    def _list(self) -> str:
        items: list[dict[str, Any]] = []
        token: str | None = None
        api_version, kind = self.store.api_version, self.store.kind
        while True:
            try:
                page = self.kube.list_page(api_version, kind, self.namespace, limit=PAGE_SIZE, token=token)
            except KubeError as err:
                if err.status == GONE and token:  # the continue token expired: start the list over
                    items, token = [], None
                    continue
                raise
            for item in page.get("items") or ():
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind)
                if self._keep(item):
                    items.append(item)
            meta = page.get("metadata") or {}
            token = meta.get("continue")
            if not token:
                self.store.replace(self.namespace, items, notify=self.synced)
                return str(meta.get("resourceVersion") or "")

    def _keep(self, obj: dict[str, Any]) -> bool:
        return self.wanted is None or self.wanted(str((obj.get("metadata") or {}).get("namespace") or ""))

    def _watch(self, version: str) -> str:
        try:
            events = self.kube.watch_events(self.store.api_version, self.store.kind, self.namespace, version,
                                            timeout=WATCH_SECONDS)
            for event in events:
                if self.stopped.is_set():
                    break
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    if obj.get("code") == GONE:
                        raise _Expired()
                    raise KubeError(int(obj.get("code") or 0), str(obj.get("reason")), str(obj.get("message")))
                version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                if kind in {"ADDED", "MODIFIED", "DELETED"} and self._keep(obj):
                    self.store.apply(str(kind), obj)
        except KubeError as err:
            if err.status == GONE:
                raise _Expired() from err
            raise
        return version
