"""Quantiles from Prometheus histogram buckets, compared by a seeded bootstrap.

``histogram_quantile`` reproduces PromQL's function of the same name: buckets are
cumulative counts keyed by their upper bound ``le``; the quantile is interpolated
linearly inside its bucket, the first bucket starts at 0 (when its bound is
positive), and a quantile falling in the +Inf bucket is the highest finite bound.

The comparison resamples each side's bucket counts from a multinomial with the
observed bucket frequencies (the bootstrap of the underlying observations, which
histograms no longer hold), recomputes both quantiles, and reports percentile
intervals of the difference.  A fixed seed makes every verdict reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 20240607


@dataclass(frozen=True)
class Histogram:
    """Cumulative bucket counts sorted by upper bound; the last bound is +Inf."""

    bounds: tuple[float, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def from_buckets(cls, buckets: Mapping[str, float] | Mapping[float, float]) -> Histogram:
        """Build from ``{le: cumulative count}``, ``le`` as a number or Prometheus string."""
        pairs = sorted((float(le), float(count)) for le, count in buckets.items())
        if not pairs or not math.isinf(pairs[-1][0]):
            raise ValueError("a histogram needs a +Inf bucket")
        bounds = tuple(le for le, _ in pairs)
        # Counters from rate()/increase() can dip by rounding; PromQL enforces monotonicity too.
        cumulative = tuple(np.maximum.accumulate([c for _, c in pairs]).tolist())
        return cls(bounds, cumulative)

    @property
    def total(self) -> float:
        return self.cumulative[-1]

    def bucket_counts(self) -> FloatArray:
        return np.diff(np.asarray(self.cumulative), prepend=0.0)


def _quantile_rows(q: float, bounds: FloatArray, cumulative: FloatArray) -> FloatArray:
    """histogram_quantile for each row of cumulative counts (rows: resamples)."""
    totals = cumulative[:, -1]
    rank = q * totals
    index = np.array([np.searchsorted(row, r, side="left") for row, r in zip(cumulative, rank, strict=True)])
    index = np.minimum(index, len(bounds) - 1)
    finite_top = bounds[-2] if len(bounds) > 1 else math.nan
    upper = bounds[index]
    lower = np.where(index > 0, bounds[np.maximum(index - 1, 0)], np.where(bounds[0] > 0, 0.0, bounds[0]))
    below = np.where(index > 0, cumulative[np.arange(len(index)), np.maximum(index - 1, 0)], 0.0)
    in_bucket = cumulative[np.arange(len(index)), index] - below
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(in_bucket > 0, (rank - below) / in_bucket, 0.0)
    result = lower + (upper - lower) * fraction
    result = np.where(index == len(bounds) - 1, finite_top, result)
    result = np.where(index == 0, np.where(bounds[0] > 0, bounds[0] * fraction, bounds[0]), result)
    return np.where(totals > 0, result, math.nan)


def histogram_quantile(q: float, histogram: Histogram) -> float:
    """PromQL's histogram_quantile(q, buckets) for one histogram."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} outside [0, 1]")
    bounds = np.asarray(histogram.bounds)
    cumulative = np.asarray(histogram.cumulative)[None, :]
    return float(_quantile_rows(q, bounds, cumulative)[0])


@dataclass(frozen=True)
class QuantileComparison:
    quantile: float
    canary: float
    baseline: float
    difference: float  # canary - baseline
    ci_low: float
    ci_high: float
    p_value: float  # bootstrap two-sided: how often the resampled difference crosses zero
    ratio: float  # canary / baseline
    resamples: int
    # The resampled quantiles, kept so the judge can read one-sided bounds at a look's alpha.
    canary_resampled: FloatArray = field(default_factory=lambda: np.zeros(0), repr=False, compare=False)
    baseline_resampled: FloatArray = field(default_factory=lambda: np.zeros(0), repr=False, compare=False)


def _resample(histogram: Histogram, resamples: int, rng: np.random.Generator) -> FloatArray:
    counts = histogram.bucket_counts()
    trials = round(float(counts.sum()))
    probabilities = counts / counts.sum()
    draws = rng.multinomial(trials, probabilities, size=resamples).astype(np.float64)
    return np.cumsum(draws, axis=1)


def _zero_baseline_ratio(canary: float, baseline: float) -> float:
    return 1.0 if canary == baseline else math.inf


def compare_quantiles(
    q: float,
    canary: Histogram,
    baseline: Histogram,
    confidence: float,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> QuantileComparison:
    """Quantile ``q`` of canary against baseline with a percentile bootstrap interval."""
    if canary.total <= 0 or baseline.total <= 0:
        raise ValueError("both histograms need observations (an empty one is NoData)")
    if canary.bounds != baseline.bounds:
        raise ValueError("canary and baseline histograms have different bucket bounds")
    rng = np.random.default_rng(seed)
    bounds = np.asarray(canary.bounds)
    canary_q = _quantile_rows(q, bounds, _resample(canary, resamples, rng))
    baseline_q = _quantile_rows(q, bounds, _resample(baseline, resamples, rng))
    differences = canary_q - baseline_q
    alpha = 1.0 - confidence
    ci_low, ci_high = np.quantile(differences, [alpha / 2.0, 1.0 - alpha / 2.0])
    # Ties at zero count half on each side, so identical histograms give p = 1.
    below = np.mean(differences < 0) + 0.5 * np.mean(differences == 0)
    p_value = float(min(1.0, 2.0 * min(below, 1.0 - below)))
    canary_value = histogram_quantile(q, canary)
    baseline_value = histogram_quantile(q, baseline)
    ratio = canary_value / baseline_value if baseline_value > 0 else _zero_baseline_ratio(canary_value, baseline_value)
    return QuantileComparison(
        q,
        canary_value,
        baseline_value,
        canary_value - baseline_value,
        float(ci_low),
        float(ci_high),
        p_value,
        ratio,
        resamples,
        canary_q,
        baseline_q,
    )
