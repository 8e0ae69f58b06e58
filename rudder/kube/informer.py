"""Watch-fed caches: the controllers read objects from memory instead of polling the API server.

`ObjectCache.ensure(api_version, kind)` starts, once per kind, a list+watch in daemon threads (rudder.kube.streams):
one stream per namespace when the controller serves exact namespaces, else one cluster-wide stream that keeps
only the namespaces its patterns match. Until every stream of a kind has listed once (`synced`), reads of that
kind return `MISS` and the caller (`Kube.get`/`Kube.list_objects`) asks the API server directly; so does a
kind the controller may not list or watch (`unavailable`, e.g. a chart kind outside its RBAC).

Objects are stored without the managedFields entries nothing reads (rudder.kube.slim). Objects handed out are
the cache's own dicts, shared and never changed in place: a watch event or a write
replaces the whole object. Callers must not mutate what they get (the reconcile code builds new dicts; a
deep copy of every read would double the CPU of a pass for nothing).

Read-your-writes: `Kube` feeds the answers of its own writes in (`observe`, `observe_deleted`), so the next
pass sees what it wrote even before the watch event arrives; an event older than what is stored is ignored.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from rudder.kube.client import MISS, CacheMiss, Kube, Ref
from rudder.kube.metrics import CACHE_OBJECTS
from rudder.kube.namespaces import NamespaceScope
from rudder.kube.slim import slim
from rudder.kube.streams import Stream
from rudder.sharding import ShardError, equalities, matches, parse_shard

log = logging.getLogger("rudder.informer")

Listener = Callable[[str, Mapping[str, Any]], None]
KindKey = tuple[str, str]  # (apiVersion, kind)
ObjectKey = tuple[str, str]  # (namespace or "", name)
# Never listed nor watched: the controller reads Secrets by name only (its RBAC grants no list/watch of
# Secrets, so it cannot read every Secret of the cluster); Events are only ever written.
UNCACHED: frozenset[KindKey] = frozenset({("v1", "Secret"), ("v1", "Event"), ("events.k8s.io/v1", "Event")})


@functools.lru_cache(maxsize=4096)
def _parsed(label_selector: str) -> tuple[Mapping[str, Any], tuple[tuple[str, str], ...]] | None:
    """A selector's tests and its equality pairs (for the label index); None for one the matcher does not take.
    Cached: the same few selectors are asked on every pass."""
    if not label_selector.strip():
        return {}, ()
    try:
        return parse_shard(label_selector), equalities(label_selector)
    except ShardError:
        return None


def _labels(obj: Mapping[str, Any]) -> Mapping[str, str]:
    labels = (obj.get("metadata") or {}).get("labels")
    return labels if isinstance(labels, Mapping) else {}


def _discard(index: dict[Any, set[ObjectKey]], at: Any, key: ObjectKey) -> None:
    keys = index.get(at)
    if keys is not None:
        keys.discard(key)
        if not keys:
            del index[at]


def resource_version(obj: Mapping[str, Any]) -> int | None:
    """The object's resourceVersion as a number (etcd's revision), None when it is not one."""
    text = str((obj.get("metadata") or {}).get("resourceVersion") or "")
    return int(text) if text.isdigit() else None


def is_older(candidate: Mapping[str, Any], stored: Mapping[str, Any]) -> bool:
    """True when `candidate` is known to predate `stored` (same uid, smaller resourceVersion)."""
    new, old = resource_version(candidate), resource_version(stored)
    if new is None or old is None:
        return False
    same = (candidate.get("metadata") or {}).get("uid") == (stored.get("metadata") or {}).get("uid")
    return same and new < old


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    version = resource_version(a)
    return version is not None and version == resource_version(b) and \
        (a.get("metadata") or {}).get("uid") == (b.get("metadata") or {}).get("uid")


@dataclass
class KindStore:
    """The cached objects of one kind, and who listens to their changes. Guarded by `lock`."""

    api_version: str
    kind: str
    namespaced: bool = True
    objects: dict[ObjectKey, dict[str, Any]] = field(default_factory=dict)
    # Indexes of `objects`, so that a list by namespace and labels costs what it returns, not the whole kind
    # (a pass lists its histories and pods: scanning every object made an idle pass O(N) at N Releases).
    by_namespace: dict[str, set[ObjectKey]] = field(default_factory=dict)
    by_label: dict[tuple[str, str], set[ObjectKey]] = field(default_factory=dict)
    # resourceVersion of objects this controller deleted itself: a late event for them must not revive them.
    tombstones: dict[ObjectKey, int] = field(default_factory=dict)
    listeners: list[Listener] = field(default_factory=list)
    streams: list[Stream] = field(default_factory=list)
    unavailable: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock)

    def key_of(self, ref: Ref) -> ObjectKey:
        """Where an object is stored: callers may name a namespace for a cluster-scoped object (the API ignores it)."""
        return ((ref.namespace or "") if self.namespaced else "", ref.name)

    @property
    def synced(self) -> bool:
        return bool(self.streams) and not self.unavailable and all(s.synced for s in self.streams)

    def _put(self, key: ObjectKey, obj: dict[str, Any]) -> None:
        self._drop(key)
        self.objects[key] = obj
        self.by_namespace.setdefault(key[0], set()).add(key)
        for pair in _labels(obj).items():
            self.by_label.setdefault(pair, set()).add(key)

    def _drop(self, key: ObjectKey) -> None:
        old = self.objects.pop(key, None)
        if old is None:
            return
        _discard(self.by_namespace, key[0], key)
        for pair in _labels(old).items():
            _discard(self.by_label, pair, key)

    def select(self, namespace: str | None, label_selector: str) -> list[dict[str, Any]] | CacheMiss:
        """The stored objects of `namespace` (None: all) matching a label selector, in the API server's order
        (namespace, then name); MISS for a selector the matcher does not take."""
        parsed = _parsed(label_selector)
        if parsed is None:
            return MISS
        tests, pairs = parsed
        with self.lock:
            narrowing = [self.by_label.get(pair, set()) for pair in pairs]
            if namespace is not None:
                narrowing.append(self.by_namespace.get(namespace, set()))
            if narrowing:
                smallest = min(narrowing, key=len)
                keys = [k for k in smallest if all(k in s for s in narrowing)]
            else:
                keys = list(self.objects)
            found = [(k, self.objects[k]) for k in keys]
        return [obj for _, obj in sorted(found, key=lambda item: item[0]) if matches(tests, _labels(obj))]

    def apply(self, event_type: str, obj: dict[str, Any]) -> bool:
        """Record one event (from a watch or our own write); False when it was stale and ignored."""
        obj = slim(obj)
        meta = obj.get("metadata") or {}
        key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        with self.lock:
            stored = self.objects.get(key)
            if stored is not None and (is_older(obj, stored) or (event_type != "DELETED" and _same(obj, stored))):
                return False  # a late event, or the watch echoing a write already recorded
            if event_type == "DELETED":
                self._drop(key)
                self.tombstones.pop(key, None)
            else:
                gone = self.tombstones.get(key)
                version = resource_version(obj)
                if gone is not None and version is not None and version <= gone:
                    return False
                self.tombstones.pop(key, None)
                self._put(key, obj)
            CACHE_OBJECTS.labels(kind=self.kind).set(len(self.objects))
            listeners = list(self.listeners)
        for fn in listeners:
            try:
                fn(event_type, obj)
            except Exception:  # a listener's bug must not stop the stream
                log.exception("%s listener failed", self.kind)
        return True

    def replace(self, namespace: str | None, items: list[dict[str, Any]], *, notify: bool = True) -> None:
        """A (re-)list of one stream's scope: what changed or vanished meanwhile is told to the listeners
        (not on the first list: nobody has read the kind from the cache yet)."""
        fresh = {(str(o["metadata"].get("namespace") or ""), str(o["metadata"]["name"])): slim(o) for o in items}
        with self.lock:
            scope = [k for k in self.objects if namespace is None or k[0] == namespace]
            vanished = [self.objects[k] for k in scope if k not in fresh]
            if not notify:
                for k in scope:
                    self._drop(k)
                for k, obj in fresh.items():
                    self._put(k, obj)
                CACHE_OBJECTS.labels(kind=self.kind).set(len(self.objects))
                return
        for obj in vanished:
            self.apply("DELETED", obj)
        for key, obj in fresh.items():
            with self.lock:
                known = key in self.objects
            self.apply("MODIFIED" if known else "ADDED", obj)  # the same version again is ignored


class ObjectCache:
    """Watch-fed caches of the kinds the controllers read (see the module docstring)."""

    def __init__(self, kube: Kube, namespaces: tuple[str, ...] = (), *,
                 uncached: frozenset[KindKey] = UNCACHED) -> None:
        self._kube = kube  # discovery and the API client the streams use; uncached itself
        self.scope = NamespaceScope.of(namespaces)
        self._guard = threading.Lock()
        self._kinds: dict[KindKey, KindStore] = {}
        self._stopped = threading.Event()
        self._uncached = uncached
        self._everywhere: list[Listener] = []  # listeners of every kind, including kinds started later

    @classmethod
    def from_environment(cls, kubeconfig: str | None, namespaces: tuple[str, ...]) -> ObjectCache:
        """A cache with its own API client (its watch connections do not take the reconciles' pool slots)."""
        return cls(Kube.from_environment(kubeconfig), namespaces)

    # -- streams ---------------------------------------------------------------------------

    def ensure(self, api_version: str, kind: str) -> KindStore | None:
        """The store of a kind, its streams started on first use; None for a kind the server does not serve."""
        key = (api_version, kind)
        if key in self._uncached:
            return None
        with self._guard:
            store = self._kinds.get(key)
            if store is not None:
                return store
            store = KindStore(api_version, kind, listeners=list(self._everywhere))
            self._kinds[key] = store
        try:
            res = self._kube.resource(api_version, kind)
        except Exception as exc:  # discovery failed: try again on the next use
            log.warning("cannot start the cache of %s %s: %s", api_version, kind, exc)
            with self._guard:
                self._kinds.pop(key, None)
            return None
        if res is None:
            with self._guard:
                self._kinds.pop(key, None)
            return None
        store.namespaced = bool(res.namespaced)
        scopes: list[str | None] = list(self.scope.exact) if res.namespaced and self.scope.exact else [None]
        wanted = self.scope.matches if res.namespaced and not self.scope.exact else None
        for namespace in scopes:
            stream = Stream(self._kube, store, namespace, wanted=wanted, stopped=self._stopped)
            store.streams.append(stream)
            stream.start()
        return store

    def subscribe(self, api_version: str, kind: str, fn: Listener) -> None:
        """Call `fn(event_type, obj)` on every change of that kind (from a watch thread: keep it cheap)."""
        store = self.ensure(api_version, kind)
        if store is None:
            raise ValueError(f"the server does not serve {kind} in {api_version}")
        with store.lock:
            store.listeners.append(fn)

    def subscribe_all(self, fn: Listener) -> None:
        """Call `fn(event_type, obj)` on every change of every cached kind, now and started later."""
        with self._guard:
            self._everywhere.append(fn)
            stores = list(self._kinds.values())
        for store in stores:
            with store.lock:
                store.listeners.append(fn)

    def synced(self, api_version: str, kind: str) -> bool:
        with self._guard:
            store = self._kinds.get((api_version, kind))
        return store is not None and store.synced

    def stop(self) -> None:
        self._stopped.set()

    # -- reads -----------------------------------------------------------------------------

    def _ready(self, api_version: str, kind: str) -> KindStore | None:
        store = self.ensure(api_version, kind)
        return store if store is not None and store.synced else None

    def get(self, ref: Ref) -> dict[str, Any] | CacheMiss | None:
        store = self._ready(ref.api_version, ref.kind)
        if store is None:
            return MISS
        if store.namespaced and ref.namespace and not self.scope.matches(ref.namespace):
            return MISS  # outside what the streams watch
        with store.lock:
            return store.objects.get(store.key_of(ref))

    def peek(self, ref: Ref) -> dict[str, Any] | None:
        """The cached object, without starting a stream (for listeners: they run on watch threads)."""
        store = self._known(ref.api_version, ref.kind)
        if store is None or not store.synced:
            return None
        with store.lock:
            return store.objects.get(store.key_of(ref))

    def list(
        self, api_version: str, kind: str, namespace: str | None, label_selector: str = ""
    ) -> list[dict[str, Any]] | CacheMiss:
        store = self._ready(api_version, kind)
        if store is None:
            return MISS
        if not store.namespaced:
            namespace = None  # the API ignores a namespace for a cluster-scoped kind
        elif namespace is None and not self.scope.everything:
            return MISS  # a cluster-wide list of a namespaced kind: the cache holds only the served namespaces
        elif namespace and not self.scope.matches(namespace):
            return MISS  # outside what the streams watch
        return store.select(namespace, label_selector)

    def items(self, api_version: str, kind: str) -> Iterator[dict[str, Any]]:
        """Every cached object of a synced kind (nothing when it is not synced)."""
        store = self._ready(api_version, kind)
        if store is None:
            return iter(())
        with store.lock:
            return iter(list(store.objects.values()))

    # -- our own writes --------------------------------------------------------------------

    def _known(self, api_version: str, kind: str) -> KindStore | None:
        with self._guard:
            return self._kinds.get((api_version, kind))

    def observe(self, obj: Mapping[str, Any]) -> None:
        """An object as the API server answered a write of it."""
        store = self._known(str(obj.get("apiVersion")), str(obj.get("kind")))
        if store is not None and store.synced and (obj.get("metadata") or {}).get("name"):
            store.apply("MODIFIED", dict(obj))

    def observe_deleted(self, ref: Ref) -> None:
        """An object this controller deleted: gone for the next read; events up to its last version ignored."""
        store = self._known(ref.api_version, ref.kind)
        if store is None:
            return
        key = store.key_of(ref)
        with store.lock:
            obj = store.objects.get(key)
            version = resource_version(obj) if obj is not None else None
            if version is not None:
                store.tombstones[key] = version
        if obj is not None:
            store.apply("DELETED", obj)
            if version is not None:
                with store.lock:
                    store.tombstones[key] = version
