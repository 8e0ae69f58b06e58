"""Quantiles from Prometheus histogram buckets, and their seeded bootstrap comparison.

Pins down PromQL's histogram_quantile rules (linear interpolation within the
bucket, the first bucket starting at zero, the +Inf bucket answering with the
highest finite bound, a non-positive first bound answered as is), that an
identical pair of histograms is not significant and a slower canary is, and that
the same seed gives the same result.
"""

from __future__ import annotations

import math

import pytest

from canary.analysis.histograms import Histogram, compare_quantiles, histogram_quantile

BOUNDS = ("0.1", "0.25", "0.5", "1", "+Inf")


def _hist(*cumulative: float) -> Histogram:
    return Histogram.from_buckets(dict(zip(BOUNDS, cumulative, strict=True)))


def test_interpolates_linearly_inside_the_bucket() -> None:
    histogram = _hist(10, 30, 80, 100, 100)
    assert histogram_quantile(0.5, histogram) == pytest.approx(0.25 + 0.25 * (50 - 30) / 50)
    assert histogram_quantile(0.05, histogram) == pytest.approx(0.1 * 5 / 10)  # first bucket starts at 0


def test_plus_inf_bucket_answers_with_the_highest_finite_bound() -> None:
    assert histogram_quantile(0.99, _hist(10, 30, 80, 90, 100)) == 1.0


def test_non_positive_first_bound_is_returned_as_is() -> None:
    histogram = Histogram.from_buckets({"-1": 5, "0": 5, "1": 10, "+Inf": 10})
    assert histogram_quantile(0.2, histogram) == -1.0


def test_empty_histogram_has_no_quantile_and_missing_inf_is_refused() -> None:
    assert math.isnan(histogram_quantile(0.5, _hist(0, 0, 0, 0, 0)))
    with pytest.raises(ValueError, match=r"\+Inf"):
        Histogram.from_buckets({"0.1": 1, "1": 2})


def test_non_monotonic_counters_are_made_monotonic_like_promql() -> None:
    assert _hist(10, 9, 20, 20, 20).cumulative == (10, 10, 20, 20, 20)


def test_identical_histograms_are_not_significant() -> None:
    histogram = _hist(100, 300, 800, 950, 1000)
    result = compare_quantiles(0.9, histogram, histogram, 0.98)
    assert result.difference == 0
    assert result.p_value > 0.5
    assert result.ci_low <= 0 <= result.ci_high


def test_slower_canary_is_significant_and_seeded() -> None:
    baseline = _hist(500, 800, 950, 990, 1000)
    canary = _hist(200, 500, 800, 950, 1000)
    first = compare_quantiles(0.9, canary, baseline, 0.98)
    again = compare_quantiles(0.9, canary, baseline, 0.98)
    assert first == again
    assert first.canary > first.baseline
    assert first.ci_low > 0
    assert first.p_value < 0.02
    assert first.ratio == pytest.approx(first.canary / first.baseline)
    other_seed = compare_quantiles(0.9, canary, baseline, 0.98, seed=7)
    assert other_seed.ci_low == pytest.approx(first.ci_low, rel=0.2)


def test_different_buckets_cannot_be_compared() -> None:
    other = Histogram.from_buckets({"0.2": 1, "+Inf": 2})
    with pytest.raises(ValueError, match="bucket bounds"):
        compare_quantiles(0.5, _hist(1, 2, 3, 4, 5), other, 0.95)
