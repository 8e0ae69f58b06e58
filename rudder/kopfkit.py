"""What both controllers' kopf handlers share: event-driven, level-triggered reconciles.

Public shape (the Release and CanaryRelease controllers both use it):

* `Runtime` - process-wide parts built once by `rudder.controller.build_registry` and handed to each
  controller's `register(registry, cfg, runtime)`: `pool`, the bounded thread pool every reconcile runs in
  (`--max-concurrent-reconciles` threads), and `cache`, the watch-fed `ObjectCache`
  (`rudder.kube.informer`; None when disabled) that answers the controllers' `Kube` reads and whose
  `subscribe(api_version, kind, fn(event_type, obj))` tells a controller that something changed.
* `Wakeups` - one per controller: `wake(namespace, name)` asks for one more reconcile of that object.
  Thread-safe (call it from informer callbacks) and coalescing: many wakes before the reconcile starts
  cost one pass; a wake during a reconcile costs exactly one more pass after it (never lost).
* `register_level_triggered(registry, plural, resync_seconds=, run=, forget=, labels=, wakeups=, pool=)` -
  one kopf daemon per object drives `run(namespace, name, uid, blocking) -> float | None` in `pool`:
  at start, on every kopf watch event of the object, on every `wakeups.wake`, when the requeue-after
  that `run` returned is due (seconds; None: no timed requeue), and at the latest every `resync_seconds`
  (the safety net). One object is never reconciled twice at once (one daemon, one pass at a time); many
  objects are, up to the pool's size. A `kopf.TemporaryError` from `run` retries after its delay, other
  errors after an exponential backoff (1 s doubling to 60 s). `forget(namespace, name, uid)` runs when the
  object is gone. `labels` (the --shard kopf label filter) limits all of it to the objects it matches.

kopf semantics relied on (kopf/_core/engines/daemons.py): the daemon is stopped when the object is marked
for deletion (its finalizer stays until the daemon has exited, so `on.delete` handlers and the daemon
do not overlap for long: the daemon finishes its current pass and exits), when the operator pauses for
peering (respawned by the re-listing after resuming, never two at once), and when the object leaves the
label filter. A daemon writes nothing to its object (no progress annotations: it never returns a result),
so an idle object costs no PATCH.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import kopf

if TYPE_CHECKING:
    from rudder.kube.informer import ObjectCache

log = logging.getLogger("rudder.kopfkit")

GROUP, VERSION = "rudder.dev", "v1alpha1"
# Retry of a pass that failed unexpectedly: doubling from the first to the last.
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 60.0
# How long kopf lets a stopping daemon finish its current pass before it stops waiting for it (pausing)
# or how often it checks again (deletion: the finalizer stays until the daemon has exited).
STOP_GRACE = 10.0
STOP_POLL = 1.0

Run = Callable[[str, str, str, bool], "float | None"]


@dataclass(frozen=True)
class Runtime:
    """Process-wide parts the controllers share (see the module docstring)."""

    pool: ThreadPoolExecutor
    cache: ObjectCache | None = None


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


class _Signal:
    """The wake-up flag of one object's daemon: set from any thread, awaited on the daemon's loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()
        self._pending = False
        self._guard = threading.Lock()

    def set(self) -> None:
        with self._guard:
            if self._pending:
                return  # coalesced: a wake is already on its way
            self._pending = True
        with contextlib.suppress(RuntimeError):  # the loop is closed: the operator is exiting
            self._loop.call_soon_threadsafe(self._event.set)

    def consume(self) -> None:
        """Called right before a pass: wakes from now on ask for the next one."""
        with self._guard:
            self._pending = False
        self._event.clear()

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout=max(timeout, 0.0))


class Wakeups:
    """Wake-up requests of one controller's objects, keyed by (namespace, name); see the module docstring."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._signals: dict[tuple[str, str], _Signal] = {}

    def wake(self, namespace: str, name: str) -> bool:
        """Ask for one more reconcile of the object; False when no daemon drives it (yet/any more)."""
        with self._guard:
            signal = self._signals.get((namespace, name))
        if signal is None:
            return False
        signal.set()
        return True

    def driven(self) -> int:
        with self._guard:
            return len(self._signals)

    def _attach(self, namespace: str, name: str, loop: asyncio.AbstractEventLoop) -> _Signal:
        signal = _Signal(loop)
        with self._guard:
            self._signals[(namespace, name)] = signal
        return signal

    def _detach(self, namespace: str, name: str, signal: _Signal) -> None:
        with self._guard:
            if self._signals.get((namespace, name)) is signal:
                del self._signals[(namespace, name)]


def next_delay(requeue: float | None, resync_seconds: float) -> float:
    """Seconds until the next pass when nothing wakes the object: the requeue-after, capped by the safety net."""
    return resync_seconds if requeue is None else min(max(requeue, 0.0), resync_seconds)


def register_level_triggered(
    registry: kopf.OperatorRegistry,
    plural: str,
    *,
    resync_seconds: float,
    run: Run,
    forget: Callable[[str, str, str], None],
    labels: Mapping[str, Any] | None = None,
    wakeups: Wakeups,
    pool: ThreadPoolExecutor,
) -> None:
    """Drive `run` for every object of `plural` (see the module docstring)."""

    @kopf.on.event(GROUP, VERSION, plural, registry=registry, labels=labels)
    async def on_event(event: kopf.RawEvent, namespace: str | None, name: str, uid: str, **_: Any) -> None:
        assert namespace is not None  # both kinds are namespaced
        if event.get("type") == "DELETED":
            forget(namespace, name, uid)
            return
        wakeups.wake(namespace, name)

    @kopf.daemon(GROUP, VERSION, plural, registry=registry, labels=labels, cancellation_backoff=STOP_GRACE,
                 cancellation_polling=STOP_POLL)
    async def drive(namespace: str | None, name: str, uid: str, stopped: kopf.DaemonStopped, **_: Any) -> None:
        assert namespace is not None
        loop = asyncio.get_running_loop()
        signal = wakeups._attach(namespace, name, loop)
        log.info("%s %s/%s: driven by events (safety net every %g s)", plural, namespace, name, resync_seconds)
        watcher = asyncio.ensure_future(_wake_when_stopped(stopped, signal))
        failures = 0
        try:
            delay = 0.0
            while True:
                if delay > 0:
                    await signal.wait(delay)
                if stopped:
                    return
                signal.consume()
                try:
                    requeue = await loop.run_in_executor(pool, run, namespace, name, uid, True)
                    failures = 0
                except kopf.TemporaryError as err:
                    failures += 1
                    requeue = max(float(err.delay or BACKOFF_FIRST), _backoff(failures))
                    log.info("%s/%s: retrying in %.0f s: %s", namespace, name, requeue, err)
                except Exception as exc:  # the daemon must outlive any one pass
                    failures += 1
                    requeue = _backoff(failures)
                    log.warning("%s/%s: reconcile failed, retrying in %.0f s: %s", namespace, name, requeue, exc)
                delay = next_delay(requeue, resync_seconds)
        finally:
            watcher.cancel()
            wakeups._detach(namespace, name, signal)


def _backoff(failures: int) -> float:
    return float(min(BACKOFF_FIRST * 2 ** max(failures - 1, 0), BACKOFF_MAX))


async def _wake_when_stopped(stopped: kopf.DaemonStopped, signal: _Signal) -> None:
    await stopped.wait()
    signal.set()
