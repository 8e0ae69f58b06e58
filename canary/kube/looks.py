"""Analysis looks off the reconcile path: a bounded pool measures the queries of each look concurrently.

A reconcile that decides `RunAnalysis` asks `claim(uid, identity)`: the result when that look is done, else
whether it is still running, else nothing (then it plans the look and calls `start`, and returns at once).
When the last query of a look is measured, the look is judged in that worker thread and `on_ready(namespace,
name)` wakes the canary; its next reconcile claims the result and feeds it to `decide()`.

Each canary holds at most one look, keyed by its uid and the look's `LookId`: a result is only ever handed
to a claim of the same look, and a claim of another look drops the one held (stale: the step, its clock or
its history moved on). Nothing survives a restart: the look runs again (progress is in status).

One look has at most `per_look` queries in the pool at a time, so a canary whose Prometheus is slow holds
only that many workers and every other canary's queries still find free ones.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum

from canary.analysis import Measurement
from canary.domain.actions import LookId
from canary.domain.observed import AnalysisOutcome
from canary.kube.analysis import LookPlan, Query, error_outcome, finish_look, measure_query

log = logging.getLogger("rudder.canary.looks")

DEFAULT_WORKERS = 16


class Running(Enum):
    """`claim`'s answer while the claimed look is still being measured."""

    RUNNING = "running"


RUNNING = Running.RUNNING


@dataclass
class _Look:
    identity: LookId
    namespace: str
    name: str
    plan: LookPlan
    pending: deque[Query]
    measured: dict[Query, Measurement] = field(default_factory=dict)
    in_flight: int = 0
    outcome: AnalysisOutcome | None = None
    dropped: bool = False


class LookPool:
    """See the module docstring. Thread-safe."""

    def __init__(self, workers: int = DEFAULT_WORKERS, *, on_ready: Callable[[str, str], object],
                 per_look: int | None = None) -> None:
        if workers < 1:
            raise ValueError("analysis workers: at least 1")
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="analysis")
        self._per_look = max(1, per_look if per_look is not None else workers // 4)
        self._on_ready = on_ready
        self._guard = threading.Lock()
        self._looks: dict[str, _Look] = {}

    def claim(self, uid: str, identity: LookId) -> AnalysisOutcome | Running | None:
        """The outcome of look `identity` of canary `uid` when done, RUNNING while measured, else None
        (another look held for the canary is dropped: it is stale)."""
        with self._guard:
            look = self._looks.get(uid)
            if look is None:
                return None
            if look.identity != identity:
                self._drop(uid, look)
                return None
            return RUNNING if look.outcome is None else look.outcome

    def start(self, uid: str, namespace: str, name: str, plan: LookPlan) -> None:
        """Measure and judge `plan` (look `plan.action.identity`), replacing whatever the canary held."""
        look = _Look(plan.action.identity, namespace, name, plan, deque(plan.queries()))
        with self._guard:
            old = self._looks.get(uid)
            if old is not None:
                self._drop(uid, old)
            self._looks[uid] = look
            ready = plan.provider is None or not look.pending  # nothing to query: judged from the plan alone
            batch = [] if ready else self._take(look)
        if ready:
            self._finish(look)
        self._submit(look, batch)

    def forget(self, uid: str) -> None:
        """The canary is gone: drop its look (queries already running finish and are thrown away)."""
        with self._guard:
            look = self._looks.get(uid)
            if look is not None:
                self._drop(uid, look)

    def held(self) -> int:
        with self._guard:
            return len(self._looks)

    def shutdown(self, *, wait: bool = False) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=not wait)

    def _drop(self, uid: str, look: _Look) -> None:
        look.dropped = True
        look.pending.clear()  # queries not yet submitted never run
        del self._looks[uid]

    def _take(self, look: _Look) -> list[Query]:
        """The queries the look has room for now (called with the guard held; submitted without it, since a
        future that is already done runs its callback in the submitting thread)."""
        batch = []
        while look.pending and look.in_flight < self._per_look:
            batch.append(look.pending.popleft())
            look.in_flight += 1
        return batch

    def _submit(self, look: _Look, batch: list[Query]) -> None:
        provider = look.plan.provider
        for query in batch:
            assert provider is not None
            future = self._executor.submit(measure_query, provider, query, look.plan.timeout)
            future.add_done_callback(functools.partial(self._measured, look, query))

    def _measured(self, look: _Look, query: Query, future: Future[Measurement]) -> None:
        try:
            measurement = future.result()
        except Exception as err:  # measure() never raises for the provider; this is a bug or a cancellation
            measurement = Measurement.error(f"measuring failed: {type(err).__name__}", query.text)
        with self._guard:
            look.in_flight -= 1
            look.measured[query] = measurement
            if look.dropped:
                return
            batch = self._take(look)
            done = not look.pending and look.in_flight == 0
        if done:
            self._finish(look)
        self._submit(look, batch)

    def _finish(self, look: _Look) -> None:
        try:
            outcome = finish_look(look.plan, look.measured)
        except Exception as err:  # the judge must never take the pool down; the canary retries the look
            log.exception("%s/%s: judging look failed", look.namespace, look.name)
            outcome = error_outcome(look.plan.action, f"judging failed: {type(err).__name__}")
        with self._guard:
            look.outcome = outcome
            if look.dropped:
                return
        self._on_ready(look.namespace, look.name)
