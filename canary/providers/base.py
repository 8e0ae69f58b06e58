"""The metric provider Protocol and the one place where provider errors become data.

A provider answers a PromQL-like query with a numpy array (one value per series
for an instant query, every point of every series for a range query) and says
whether it is reachable.  It raises ``ProviderError`` on failure.

``measure`` is what the controller calls: it retries transient failures with
exponential backoff, bounded by a number of attempts, and turns the outcome into a
``Measurement`` (values, NoData for an empty result, Error after the last failed
attempt).  The judge then reports Error, which the controller retries on a later
interval; an error is never a metric failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from canary.analysis.measurements import Measurement

FloatArray = NDArray[np.float64]
Labels = Mapping[str, str]


class ProviderError(Exception):
    """A query failed.  ``transient`` errors (timeouts, 5xx, refused connections) are retried."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class QueryWindow:
    """A range query's window: every ``step`` from ``start`` to ``end``."""

    start: datetime
    end: datetime
    step: timedelta

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a query window must not end before it starts")
        if self.step <= timedelta(0):
            raise ValueError("a query window's step must be positive")


@runtime_checkable
class MetricProvider(Protocol):
    def query(self, query: str, window: QueryWindow | None = None) -> FloatArray:
        """Values of ``query``: instant without a window, every point of the range with one."""
        ...

    def is_online(self) -> bool:
        """Whether the backend answers at all (for readiness and status messages)."""
        ...


@runtime_checkable
class LabelledMetricProvider(MetricProvider, Protocol):
    def query_labelled(self, query: str, window: QueryWindow | None = None) -> tuple[FloatArray, tuple[Labels, ...]]:
        """Values with each value's series labels (histogram buckets need ``le``)."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff: ``attempts`` tries, waits growing by ``multiplier``."""

    attempts: int = 3
    initial_backoff: float = 0.5
    multiplier: float = 2.0
    max_backoff: float = 5.0

    def backoffs(self) -> list[float]:
        waits, wait = [], self.initial_backoff
        for _ in range(max(self.attempts - 1, 0)):
            waits.append(min(wait, self.max_backoff))
            wait *= self.multiplier
        return waits


def measure(
    provider: MetricProvider,
    query: str,
    window: QueryWindow | None = None,
    *,
    retry: RetryPolicy | None = None,
    labelled: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    budget: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Measurement:
    """Run one query and return a Measurement; never raises for what a provider or its backend does.
    With a `budget` (seconds), no retry starts once it would be spent: an attempt that hangs for the
    provider's whole timeout is the last one."""
    policy = retry or RetryPolicy()
    waits = policy.backoffs()
    attempt = 0
    deadline = None if budget is None else clock() + budget
    while True:
        attempt += 1
        try:
            if labelled and isinstance(provider, LabelledMetricProvider):
                values, labels = provider.query_labelled(query, window)
                measured = Measurement.of(values, query, attempt)
                return Measurement(measured.status, measured.values, query, measured.message, attempt, labels)
            return Measurement.of(provider.query(query, window), query, attempt)
        except ProviderError as error:
            if not error.transient or attempt > len(waits) or (
                    deadline is not None and clock() + waits[attempt - 1] >= deadline):
                return Measurement.error(f"{error} (after {attempt} attempt(s))", query, attempt)
            # A deliberate pause between attempts (backoff), not a wait for a condition.
            sleep(waits[attempt - 1])
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, RecursionError) as error:
            # A provider (a plugin, or a backend answering nonsense) broke its contract: an Error measurement
            # naming the exception type only, since its text may quote the backend's answer.
            return Measurement.error(f"provider failed: {type(error).__name__} (after {attempt} attempt(s))",
                                     query, attempt)
