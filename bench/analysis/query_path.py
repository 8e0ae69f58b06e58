"""Whole canaries simulated along the controller's real query path, judged by the real judge.

What is simulated, and how it maps onto the controller:

* **Pods.** Each side (canary, baseline) has ``pods`` pods serving ``rps`` requests per second each. Latencies
  are log-normal; each pod's median is the service's median times exp(N(0, spread)) (pod-to-pod spread: nodes,
  caches, noisy neighbours), drawn afresh for every pod of both sides; a regression multiplies the canary's.
* **Scrapes.** Each pod's histogram (``http_request_duration_seconds_bucket``; the simulator's buckets, which are
  the Prometheus client libraries' defaults, unless ``Latency.buckets`` says otherwise) and
  request counters are scraped every second: requests of second i land in per-second bins (Poisson per bucket,
  which is exactly a Poisson number of requests split over the buckets).
* **Queries.** The policy's real template is rendered (``render_queries``); a distribution query is a range
  query over [step start, look] at the controller's grid (``canary.analysis.sampling.sample_grid``), each point
  ``histogram_quantile(q, sum by (le, pod) (rate(...[w])))`` as Prometheus computes it: the samples in (t - w, t]
  (so the increase covers w - 1 seconds of requests), the same factor on every bucket (so the quantile does not
  depend on the extrapolation), linear interpolation inside the bucket (the judge's own PromQL
  ``histogram_quantile``), NaN without requests.  A ratio policy is an instant ``increase(...[window])`` at the
  look: the samples in (start, look], extrapolated to the window's edges by Prometheus' rule (x e/(e-1) at 1 s
  scrapes), so the counts the judge sees are not integers, as in production.
* **Traffic split.** Error counters follow the router's split (``canary.domain.weights.traffic_split``): the
  canary and the baseline each get ``weight``% of the service's traffic.
* **Canary.** Weight steps of ``step_seconds`` analysed every ``interval`` seconds; looks numbered by the
  controller's alpha plan (``CanaryLooks``); a Fail at any look fails the canary (failureLimit 0, the strictest
  reading); Pass at or after the step's duration completes the step; Inconclusive / NoData after it extends the
  step (``onInconclusive: extend``) at most ``max_extensions`` times, after which the canary pauses (counted as
  not failed, reported as paused).

Nothing of the judge is re-implemented: evidence and verdicts come from ``canary.analysis.evaluate_metric`` and
``judge_analysis`` with the controller's ``Look``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum

import numpy as np
from numpy.typing import NDArray

from canary.analysis import (
    CanaryLooks,
    Look,
    Measurement,
    MeasurementStatus,
    MetricPolicy,
    MetricType,
    Observation,
    QueryContext,
    Track,
    Verdict,
    evaluate_metric,
    judge_analysis,
    render_queries,
)
from canary.analysis.histograms import _quantile_rows
from canary.analysis.sampling import longest_range, sample_grid
from canary.analysis.sequential import SpendingFunction
from canary.domain.weights import traffic_split
from simulator.metrics import DEFAULT_BUCKETS

FloatArray = NDArray[np.float64]
BOUNDS: FloatArray = np.array([*DEFAULT_BUCKETS, math.inf])


class Outcome(Enum):
    PROMOTED = "promoted"
    FAILED = "failed"
    PAUSED = "paused"  # extensions exhausted: a person decides


@dataclass(frozen=True)
class CanaryShape:
    """The CanaryRelease being simulated (defaults: three steps of 5 minutes, a look a minute)."""

    weights: tuple[int, ...] = (5, 10, 50)
    step_seconds: int = 300
    interval: int = 60
    max_extensions: int = 3
    spending: SpendingFunction = CanaryLooks.spending  # the controller's default
    legacy_grid: bool = False  # the query grid before issue 10 (a control: overlapping rate windows)

    def looks(self) -> CanaryLooks:
        return CanaryLooks.of([float(self.step_seconds)] * len(self.weights), float(self.interval), self.spending)

    @property
    def horizon(self) -> int:
        """Seconds of data one step can need: its duration and every extension."""
        return self.step_seconds + self.max_extensions * self.interval


@dataclass(frozen=True)
class Latency:
    """Per-pod request latency: log-normal with median ``median`` seconds and log-sd ``sigma``."""

    rps: float = 5.0  # per pod
    pods: int = 1  # per side
    spread: float = 0.0  # log-sd of the pods' medians
    median: float = 0.05
    sigma: float = 0.5
    ratio: float = 1.0  # canary latency / baseline latency (every request scaled)
    buckets: tuple[float, ...] = DEFAULT_BUCKETS  # the histogram's finite upper bounds (seconds)

    @property
    def bounds(self) -> FloatArray:
        return np.array([*self.buckets, math.inf])


@dataclass(frozen=True)
class Errors:
    """The service's traffic and error rates for a ratio policy."""

    service_rps: float = 100.0  # requests per second reaching the service (all tracks)
    rate: float = 0.01  # baseline error rate
    ratio: float = 1.0  # canary error rate / baseline error rate


def _context(policy: MetricPolicy, track: Track) -> QueryContext:
    return QueryContext(namespace="shop", workload="web", track=track, pod_regex=f"web-{track.value}-.*",
                        interval="300s", args={}, quantile=policy.quantile)


def rendered(policy: MetricPolicy) -> dict[str, str]:
    """The policy's queries as the controller renders them (the canary's)."""
    key = (policy.name, tuple(sorted(policy.queries.items())), policy.quantile)
    if key not in _RENDERED:
        _RENDERED[key] = render_queries(policy.queries, _context(policy, Track.CANARY))
    return _RENDERED[key]


_RENDERED: dict[tuple[object, ...], dict[str, str]] = {}


def pod_bins(latency: Latency, median: float, seconds: int, rng: np.random.Generator) -> FloatArray:
    """Per-second, per-bucket request counts of one pod (non-cumulative buckets, last = +Inf)."""
    edges = np.log(latency.bounds[:-1] / median) / latency.sigma
    cdf = 0.5 * np.array([math.erfc(-z / math.sqrt(2.0)) for z in edges])
    p = np.diff(np.concatenate([[0.0], cdf, [1.0]]))
    return rng.poisson(latency.rps * p, size=(seconds, len(p))).astype(np.float64)


def quantile_points(bins: FloatArray, times: NDArray[np.int64], window: int, q: float,
                    bounds: FloatArray = BOUNDS) -> FloatArray:
    """histogram_quantile(q, rate(bucket[window])) of one pod at each time (seconds since the step started).

    A counter scraped at second t holds the requests of bins 1..t; rate over (t - w, t] sees the scrapes at
    t - w + 1 .. t, i.e. the requests of bins t - w + 2 .. t."""
    cumulative = np.vstack([np.zeros((1, bins.shape[1])), np.cumsum(bins, axis=0)])  # row t: scrape at t
    first = np.clip(times - window + 1, 0, None)
    increase = cumulative[times] - cumulative[first]
    return _quantile_rows(q, bounds, np.cumsum(increase, axis=1))


def pod_medians(latency: Latency, rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
    """Each pod's median latency, canary then baseline: drawn once per canary (the pods live through all its
    steps, so a slow pod stays slow)."""
    spread = rng.normal(0.0, latency.spread, size=(2, latency.pods))
    medians = latency.median * np.exp(spread)
    return medians[0] * latency.ratio, medians[1]


Sides = Callable[[int], tuple[Measurement, Measurement]]


def _latency_step(query: str, latency: Latency, medians: tuple[FloatArray, FloatArray], shape: CanaryShape,
                  rng: np.random.Generator) -> Sides:
    """One step's latency data; returns what the range query gives each side at a look ``elapsed`` s in."""
    w = longest_range(query)
    assert w is not None, "a histogram_quantile(rate()) query has a range"
    window, q = int(w), _quantile_of(query)
    pre = window if shape.legacy_grid else 0  # the old grid's first points reach back into the previous step
    sides = []
    for side in medians:
        bins = [pod_bins(latency, float(m), shape.horizon + pre, rng) for m in side]
        if not per_pod(query):  # sum by (le): one series per track, the pods' buckets added up
            bins = [np.sum(bins, axis=0)]
        sides.append(bins)
    if shape.legacy_grid:
        def legacy(elapsed: int) -> tuple[Measurement, Measurement]:
            # Before issue 10: [step start, look] every max(1 s, window / 60), whatever the rate window.
            times = pre + np.unique(np.round(np.arange(0.0, elapsed + 1e-9, max(1.0, elapsed / 60))).astype(np.int64))
            c, b = ([quantile_points(pod, times, window, q, latency.bounds) for pod in side] for side in sides)
            # Unlabelled, as the controller measured before issue 10: every point judged as independent.
            return Measurement.of(np.concatenate(c)), Measurement.of(np.concatenate(b))
        return legacy
    grid = sample_grid(query, float(shape.horizon))
    # Looks see a grid starting one range into the step, every max(range, look/60) seconds: every look of a
    # simulated step shares this grid while step/60 stays under the range (asserted, not assumed).
    assert shape.interval >= window and grid.offset == grid.step == window, "simulated shape outside the grid"
    times = np.arange(window, shape.horizon + 1, window, dtype=np.int64)
    points = [[quantile_points(pod, times, window, q, latency.bounds) for pod in side] for side in sides]

    def current(elapsed: int) -> tuple[Measurement, Measurement]:
        return _at(points[0], window, elapsed), _at(points[1], window, elapsed)
    return current


def per_pod(query: str) -> bool:
    """Whether the query keeps one series per pod (``sum by (le, pod)``) or adds the track's pods up."""
    grouping = re.search(r"by\s*\(([^)]*)\)", query)
    return grouping is not None and "pod" in {g.strip() for g in grouping.group(1).split(",")}


def _quantile_of(query: str) -> float:
    head = query.split("histogram_quantile(", 1)[1]
    return float(head.split(",", 1)[0])


def _at(points: list[FloatArray], step: int, elapsed: int) -> Measurement:
    """The range query at a look ``elapsed`` seconds into the step: the points up to then, every pod."""
    count = elapsed // step
    return labelled([p[:count] for p in points])


def labelled(series: list[FloatArray]) -> Measurement:
    """A range query's answer as the provider gives it: every point with its series' labels (one series per
    pod, or one per track when the query sums the pods)."""
    values = np.concatenate(series)
    if values.size == 0:
        return Measurement.of(values)
    names = [{"pod": f"web-{i}"} if len(series) > 1 else {} for i in range(len(series))]
    labels = tuple(names[i] for i, s in enumerate(series) for _ in range(len(s)))
    return Measurement(MeasurementStatus.OK, values, "", "", 1, labels)


def _error_step(errors: Errors, weight: int, shape: CanaryShape,
                rng: np.random.Generator) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Cumulative per-second (errors, requests) counters of the canary and the baseline over one step."""
    split = traffic_split(weight, True)
    out = []
    for share, rate in ((split.canary, errors.rate * errors.ratio), (split.baseline, errors.rate)):
        requests = rng.poisson(errors.service_rps * share / 100.0, shape.horizon)
        failed = rng.binomial(requests, min(rate, 1.0))
        out += [np.concatenate([[0.0], np.cumsum(failed)]), np.concatenate([[0.0], np.cumsum(requests)])]
    return out[0], out[1], out[2], out[3]


def _increase(counter: FloatArray, elapsed: int) -> float:
    """increase(counter[elapsed s]) at the look, as Prometheus extrapolates it (1 s scrapes)."""
    if elapsed < 2:
        return 0.0
    return float(counter[elapsed] - counter[1]) * elapsed / (elapsed - 1)


def run_canary(policy: MetricPolicy, shape: CanaryShape, rng: np.random.Generator, *,
               latency: Latency | None = None, errors: Errors | None = None) -> tuple[Outcome, int]:
    """One whole canary judged on one policy: its outcome and how many looks it took."""
    plan = shape.looks()
    looks = 0
    query = rendered(policy).get("samples", "")
    medians = pod_medians(latency, rng) if latency is not None else None
    for step, weight in enumerate(shape.weights):
        if policy.type is MetricType.DISTRIBUTION:
            assert latency is not None and medians is not None
            measured = _latency_step(query, latency, medians, shape, rng)
        else:
            assert errors is not None
            counters = _error_step(errors, weight, shape, rng)
        elapsed, extensions = 0, 0
        while True:
            elapsed += shape.interval
            looks += 1
            if policy.type is MetricType.DISTRIBUTION:
                on_canary, on_baseline = measured(elapsed)
                canary, baseline = Observation.of(samples=on_canary), Observation.of(samples=on_baseline)
            else:
                e_c, t_c, e_b, t_b = counters
                canary = Observation.of(errors=Measurement.of([_increase(e_c, elapsed)]),
                                        total=Measurement.of([_increase(t_c, elapsed)]))
                baseline = Observation.of(errors=Measurement.of([_increase(e_b, elapsed)]),
                                          total=Measurement.of([_increase(t_b, elapsed)]))
            look: Look = plan.look_at(step, float(elapsed), float(shape.interval))
            verdict = judge_analysis([evaluate_metric(policy, canary, baseline)], look).verdict
            if verdict is Verdict.FAIL:
                return Outcome.FAILED, looks
            if elapsed < shape.step_seconds:
                continue
            if verdict is Verdict.PASS:
                break
            if verdict is Verdict.ERROR:
                raise AssertionError("the simulated provider never errors")
            extensions += 1
            if extensions > shape.max_extensions:
                return Outcome.PAUSED, looks
    return Outcome.PROMOTED, looks


@dataclass(frozen=True)
class Rate:
    """Outcomes of many canaries: the failure rate with a Wilson 95% interval."""

    canaries: int
    failed: int
    paused: int

    @property
    def rate(self) -> float:
        return self.failed / self.canaries

    def interval(self, z: float = 1.959964) -> tuple[float, float]:
        n, p = self.canaries, self.rate
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return max(0.0, centre - half), min(1.0, centre + half)

    def cell(self) -> str:
        low, high = self.interval()
        return f"{100 * self.rate:.2f}% [{100 * low:.2f}, {100 * high:.2f}]"


def simulate(policy: MetricPolicy, shape: CanaryShape, canaries: int, seed: int, *,
             latency: Latency | None = None, errors: Errors | None = None) -> Rate:
    rng = np.random.default_rng(seed)
    outcomes = [run_canary(policy, shape, rng, latency=latency, errors=errors)[0] for _ in range(canaries)]
    return Rate(canaries, outcomes.count(Outcome.FAILED), outcomes.count(Outcome.PAUSED))


def with_policy(policy: MetricPolicy, **changes: object) -> MetricPolicy:
    return replace(policy, **changes)  # type: ignore[arg-type]
