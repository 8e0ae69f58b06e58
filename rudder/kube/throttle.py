"""Client-side API politeness: a token bucket in front of every request, and how long to wait when the
API server answers 429 Too Many Requests (or 503 with `Retry-After`) before sending the request again.

The bucket is client-go's: `qps` tokens a second, at most `burst` saved up; a request takes one token and
waits when there is none. Tokens are reserved under a lock and slept for outside it, so concurrent callers
queue in arrival order instead of all waking at once. Pure: the clock and the sleep are injected.
"""

from __future__ import annotations

import email.utils
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# The defaults of `--kube-qps`/`--kube-burst`: room for an install burst of hundreds of Releases, while one
# runaway controller still cannot flood the API server (APF then protects the others on the server side).
# At 50/100 the limiter alone set the install time of 1,000 Releases (4 min 28 s, docs/performance.md).
DEFAULT_QPS = 100.0
DEFAULT_BURST = 200

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class TokenBucket:
    """`qps` requests a second with bursts of up to `burst`; `qps <= 0` means no limit."""

    def __init__(self, qps: float, burst: int, *, clock: Clock = time.monotonic) -> None:
        if not math.isfinite(qps):
            raise ValueError(f"qps must be a finite number, got {qps!r}")
        if qps > 0 and burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst!r}")
        self.qps = qps
        self.burst = burst
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._last = clock()

    def reserve(self) -> float:
        """Take one token; the seconds the caller must wait before sending its request (0: send now)."""
        if self.qps <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
            self._last = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.qps


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """`Retry-After` as seconds: a delay (`"1"`) or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """Which answers mean "not now" and how long to wait: 429 always (Retry-After, else exponential backoff),
    503 only with Retry-After (a 503 without it is an outage, not a request to slow down). Bounded: at most
    `max_retries` retries and `max_wait` seconds each, so a reconcile never hangs on an overloaded server."""

    max_retries: int = 5
    backoff: float = 0.5
    max_wait: float = 10.0

    def delay(self, attempt: int, status: int, retry_after: str | None) -> float | None:
        """Seconds to wait before retry number `attempt + 1`, or None: give up (raise the error)."""
        if attempt >= self.max_retries:
            return None
        asked = retry_after_seconds(retry_after)
        if status == 429:
            wait = asked if asked is not None else self.backoff * 2**attempt
        elif status == 503 and asked is not None:
            wait = asked
        else:
            return None
        return min(wait, self.max_wait)


class Politeness:
    """One client's request budget and patience, shared by every `Kube` cloned from it (impersonation)."""

    def __init__(self, qps: float = DEFAULT_QPS, burst: int = DEFAULT_BURST, *, retry: RetryPolicy | None = None,
                 clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> None:
        self.bucket = TokenBucket(qps, burst, clock=clock)
        self.retry = retry or RetryPolicy()
        self._sleep = sleep

    def before_request(self) -> float:
        """Wait for a token; the seconds waited."""
        wait = self.bucket.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait

    def before_retry(self, attempt: int, status: int, retry_after: str | None) -> float | None:
        """Wait as the failed answer asks and return the seconds waited, or None: do not retry."""
        wait = self.retry.delay(attempt, status, retry_after)
        if wait is not None and wait > 0:
            self._sleep(wait)
        return wait
