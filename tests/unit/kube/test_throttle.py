"""The client-side rate limiter and retry policy, with an injected clock: a token bucket lets `burst`
requests through at once and then one every 1/qps seconds, queueing concurrent callers in arrival order;
`qps` 0 means no limit; `Retry-After` is read as seconds or an HTTP date; 429 is always retried (after
Retry-After, else an exponential backoff), 503 only with Retry-After, anything else never, and at most
`max_retries` times with each wait capped."""

from __future__ import annotations

import email.utils

import pytest

from rudder.kube.throttle import Politeness, RetryPolicy, TokenBucket, retry_after_seconds


class FakeClock:
    """Time moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_a_burst_passes_at_once_then_requests_are_spaced_by_one_over_qps() -> None:
    clock = FakeClock()
    bucket = TokenBucket(qps=2, burst=3, clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    # No time passes: each further caller queues behind the previous one.
    assert [bucket.reserve() for _ in range(3)] == [0.5, 1.0, 1.5]


def test_tokens_refill_with_time_up_to_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(qps=4, burst=5, clock=clock)
    for _ in range(5):
        bucket.reserve()
    clock.now += 0.75  # three tokens back
    assert [bucket.reserve() for _ in range(4)] == [0.0, 0.0, 0.0, 0.25]
    clock.now += 3600  # a long idle time saves up no more than the burst
    assert sum(bucket.reserve() == 0.0 for _ in range(10)) == 5


def test_politeness_sleeps_only_when_the_bucket_is_empty() -> None:
    clock = FakeClock()
    polite = Politeness(qps=1, burst=2, clock=clock, sleep=clock.sleep)
    waits = [polite.before_request() for _ in range(5)]
    assert waits == [0.0, 0.0, 1.0, 1.0, 1.0]
    assert clock.sleeps == [1.0, 1.0, 1.0]


def test_zero_qps_means_no_limit() -> None:
    clock = FakeClock()
    polite = Politeness(qps=0, burst=1, clock=clock, sleep=clock.sleep)
    assert {polite.before_request() for _ in range(1000)} == {0.0}
    assert clock.sleeps == []


@pytest.mark.parametrize(("qps", "burst"), [(float("nan"), 10), (float("inf"), 10), (5, 0)])
def test_a_nonsensical_limit_is_refused(qps: float, burst: int) -> None:
    with pytest.raises(ValueError, match=r"qps|burst"):
        TokenBucket(qps, burst)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_seconds("1") == 1.0
    assert retry_after_seconds(" 2.5 ") == 2.5
    assert retry_after_seconds("-3") == 0.0
    date = email.utils.formatdate(1_700_000_030, usegmt=True)
    assert retry_after_seconds(date, now=1_700_000_000) == 30.0
    assert retry_after_seconds(date, now=1_700_000_100) == 0.0
    for unreadable in (None, "", "soon", "nan", "inf"):
        assert retry_after_seconds(unreadable) is None


def test_429_is_retried_after_retry_after_else_with_exponential_backoff() -> None:
    policy = RetryPolicy(max_retries=5, backoff=0.5, max_wait=10.0)
    assert policy.delay(0, 429, "3") == 3.0
    assert [policy.delay(n, 429, None) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 8.0]


def test_503_is_retried_only_when_the_server_says_when() -> None:
    policy = RetryPolicy()
    assert policy.delay(0, 503, "1") == 1.0
    assert policy.delay(0, 503, None) is None


@pytest.mark.parametrize("status", [400, 404, 409, 422, 500, 504])
def test_other_errors_are_not_retried(status: int) -> None:
    assert RetryPolicy().delay(0, status, "1") is None


def test_retries_are_bounded_in_number_and_length() -> None:
    policy = RetryPolicy(max_retries=2, max_wait=10.0)
    assert policy.delay(1, 429, "600") == 10.0
    assert policy.delay(2, 429, "1") is None
