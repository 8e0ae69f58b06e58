"""Turn one metric's measurements into evidence: the statistics behind a verdict.

Evidence holds numbers only (p-values, effect, sample counts, queries, and what
an interval needs); deciding what they mean for the canary, with Holm's
correction and the look's share of alpha, is ``canary.analysis.judge``'s job.
Keeping the two apart lets the judge correct p-values across all metrics of an
analysis first.  Intervals are computed by the judge (``canary.analysis.decision``)
at the level the look decides at, so the interval a verdict shows is the one
that decided it; the Hodges-Lehmann interval of a distribution is therefore left
out of the evidence (``estimate``/``ci_*`` are None) and computed once, there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from canary.analysis.clustered import ClusteredRankSum, IntArray, cluster_ids, clustered, clustered_rank_sum
from canary.analysis.effects import mean_ratio
from canary.analysis.histograms import Histogram, compare_quantiles
from canary.analysis.kayenta import NaNStrategy, clean, outlier_mask, remove_outliers
from canary.analysis.measurements import Measurement, MeasurementStatus, Observation
from canary.analysis.policy import MetricPolicy, MetricType, TestKind
from canary.analysis.proportions import two_proportion_test
from canary.analysis.ranksum import RankSumTest, rank_sum_test, sort_samples

FloatArray = NDArray[np.float64]
OUTLIER_FACTOR = 3.0  # Kayenta's judge uses Tukey fences at 3 IQR


@dataclass(frozen=True)
class MetricEvidence:
    """Statistics of canary against baseline for one metric (None where not applicable)."""

    name: str
    policy: MetricPolicy
    status: MeasurementStatus
    message: str = ""
    canary: float | None = None  # mean, error rate, quantile or value
    baseline: float | None = None
    estimate: float | None = None  # HL shift, rate difference or quantile difference
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    effect: float | None = None  # mean ratio, rate ratio or quantile ratio
    cles: float | None = None
    canary_samples: int = 0
    baseline_samples: int = 0
    baseline_sorted: FloatArray | None = None  # kept for the sample-size estimate
    # One-sided p-values of the test (canary above / below baseline): the decision's.
    p_greater: float | None = None
    p_less: float | None = None
    # What the judge needs for intervals at the look's level:
    canary_sorted: FloatArray | None = None  # distributions (Hodges-Lehmann)
    rank_test: RankSumTest | None = field(default=None, repr=False, compare=False)
    canary_variance: float | None = None  # distributions: sample variances (mean-ratio bounds)
    baseline_variance: float | None = None
    counts: tuple[int, int, int, int] | None = None  # ratios: canary errors, total, baseline errors, total
    resampled: tuple[FloatArray, FloatArray] | None = field(default=None, repr=False, compare=False)  # quantiles
    queries: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Distributions whose points come in series (one per pod): the test and variances with the pod as the unit.
    pods: ClusteredRankSum | None = None

    @property
    def single_pod(self) -> bool:
        """Points in series, but a side with one series: pod-to-pod spread cannot be estimated."""
        return self.pods is not None and self.pods.single_pod

    @property
    def samples(self) -> int:
        """The smaller side's sample count: what limits the test.  With the pod as the unit, the points per pod
        (a side's points over its pods): more pods add units, not points to each, so minSamples counts a pod's."""
        if self.pods is not None:
            return min(self.canary_samples // self.pods.clusters_canary,
                       self.baseline_samples // self.pods.clusters_baseline)
        return min(self.canary_samples, self.baseline_samples)

    @property
    def query(self) -> str:
        """The canary's query as one string (errors / total for ratios)."""
        if "errors" in self.queries and "total" in self.queries:
            return f"({self.queries['errors']}) / ({self.queries['total']})"
        return " ; ".join(self.queries.values())


def _canary_queries(canary: Observation) -> Mapping[str, str]:
    return MappingProxyType({name: m.query for name, m in canary.measurements.items() if m.query})


def _missing(policy: MetricPolicy, canary: Observation, baseline: Observation) -> MetricEvidence | None:
    """Error or NoData evidence when a needed measurement is missing, errored or empty."""
    sides = (
        (("canary", canary),) if policy.type is MetricType.THRESHOLD else (("canary", canary), ("baseline", baseline))
    )
    queries = _canary_queries(canary)
    for status in (MeasurementStatus.ERROR, MeasurementStatus.NO_DATA):
        for side, observation in sides:
            for name, measurement in observation.measurements.items():
                if measurement.status is status:
                    message = f"{side} {name}: {measurement.message}"
                    return MetricEvidence(policy.name, policy, status, message, queries=queries)
    return None


def prepare_samples(values: FloatArray, policy: MetricPolicy) -> FloatArray:
    """NaN strategy and optional IQR outlier removal, as configured by the policy (always a new array)."""
    prepared = clean(values, policy.nan_strategy)
    if policy.remove_outliers:
        prepared = remove_outliers(prepared, OUTLIER_FACTOR)
    return prepared


def prepare_clustered(values: FloatArray, ids: IntArray, policy: MetricPolicy) -> tuple[FloatArray, IntArray]:
    """``prepare_samples`` keeping each value's cluster id alongside."""
    array = np.asarray(values, dtype=np.float64)
    nan = np.isnan(array)
    if policy.nan_strategy is NaNStrategy.REMOVE:
        array, ids = array[~nan], ids[~nan]
    else:
        array = np.where(nan, 0.0, array)
    if policy.remove_outliers:
        keep = outlier_mask(array, OUTLIER_FACTOR)
        array, ids = array[keep], ids[keep]
    return array, ids


def _series(measurement: Measurement) -> IntArray | None:
    return cluster_ids(measurement.labels, len(measurement.values))


def _pods(
    policy: MetricPolicy, canary: Observation, baseline: Observation
) -> tuple[FloatArray, FloatArray, ClusteredRankSum] | None:
    """Sorted samples and the clustered test when a side's points come in series of more than one point."""
    c_ids, b_ids = _series(canary["samples"]), _series(baseline["samples"])
    if not (clustered(c_ids) or clustered(b_ids)):
        return None
    c_values, b_values = canary["samples"].values, baseline["samples"].values
    c_ids = c_ids if c_ids is not None else np.arange(len(c_values), dtype=np.int64)
    b_ids = b_ids if b_ids is not None else np.arange(len(b_values), dtype=np.int64)
    c, c_ids = prepare_clustered(c_values, c_ids, policy)
    b, b_ids = prepare_clustered(b_values, b_ids, policy)
    if len(c) == 0 or len(b) == 0:
        return None
    return np.sort(c), np.sort(b), clustered_rank_sum(c, c_ids, b, b_ids)


def _distribution(
    policy: MetricPolicy, canary_sorted: FloatArray, baseline_sorted: FloatArray, queries: Mapping[str, str],
    pods: ClusteredRankSum | None = None,
) -> MetricEvidence:
    n, m = len(canary_sorted), len(baseline_sorted)
    if n == 0 or m == 0:
        side = "canary" if n == 0 else "baseline"
        return MetricEvidence(
            policy.name, policy, MeasurementStatus.NO_DATA, f"{side}: no samples left", queries=queries
        )
    test = rank_sum_test(canary_sorted, baseline_sorted)
    greater, less, p_value = test.p_greater, test.p_less, test.p_value
    var_c = float(np.var(canary_sorted, ddof=1)) if n > 1 else 0.0
    var_b = float(np.var(baseline_sorted, ddof=1)) if m > 1 else 0.0
    if pods is not None and not pods.single_pod:
        # The pod is the unit: its test decides, and its variances bound the mean ratio.
        greater, less = pods.p_greater, pods.p_less
        p_value = min(1.0, 2.0 * min(greater, less))
        var_c, var_b = max(var_c, pods.canary_variance), max(var_b, pods.baseline_variance)
    return MetricEvidence(
        policy.name,
        policy,
        MeasurementStatus.OK,
        canary=float(np.mean(canary_sorted)),
        baseline=float(np.mean(baseline_sorted)),
        p_value=p_value,
        effect=mean_ratio(canary_sorted, baseline_sorted),
        cles=test.cles,
        canary_samples=n,
        baseline_samples=m,
        baseline_sorted=baseline_sorted,
        queries=queries,
        p_greater=greater,
        p_less=less,
        canary_sorted=canary_sorted,
        rank_test=test,
        canary_variance=var_c,
        baseline_variance=var_b,
        pods=pods,
    )


def _ratio(
    policy: MetricPolicy, canary: Observation, baseline: Observation, queries: Mapping[str, str]
) -> MetricEvidence:
    errors_c, total_c = canary["errors"].total(), canary["total"].total()
    errors_b, total_b = baseline["errors"].total(), baseline["total"].total()
    for side, errors, total in (("canary", errors_c, total_c), ("baseline", errors_b, total_b)):
        if not total > 0:
            return MetricEvidence(
                policy.name, policy, MeasurementStatus.NO_DATA, f"{side}: no requests", queries=queries
            )
        if not 0 <= errors <= total:
            message = f"{side}: {errors:g} errors out of {total:g} requests is not a proportion"
            return MetricEvidence(policy.name, policy, MeasurementStatus.ERROR, message, queries=queries)
    # Counters from increase() are extrapolated floats; the test wants counts.
    counts = (round(errors_c), max(round(total_c), 1), round(errors_b), max(round(total_b), 1))
    counts = (min(counts[0], counts[1]), counts[1], min(counts[2], counts[3]), counts[3])
    test = two_proportion_test(*counts, policy.confidence)
    return MetricEvidence(
        policy.name,
        policy,
        MeasurementStatus.OK,
        canary=errors_c / total_c,
        baseline=errors_b / total_b,
        estimate=test.difference,
        ci_low=test.ci_low,
        ci_high=test.ci_high,
        p_value=test.p_value,
        effect=test.rate_ratio,
        canary_samples=round(total_c),
        baseline_samples=round(total_b),
        queries=queries,
        p_greater=test.p_greater,
        p_less=test.p_less,
        counts=counts,
    )


def _histogram(measurement: Measurement) -> Histogram:
    buckets: dict[float, float] = {}
    for labels, value in zip(measurement.labels, measurement.values, strict=False):
        le = labels.get("le")
        if le is None:
            raise ValueError("bucket series without an 'le' label")
        buckets[float(le)] = buckets.get(float(le), 0.0) + float(value)
    return Histogram.from_buckets(buckets)


def _quantile(
    policy: MetricPolicy, canary: Observation, baseline: Observation, queries: Mapping[str, str]
) -> MetricEvidence:
    assert policy.quantile is not None
    try:
        canary_hist, baseline_hist = _histogram(canary["buckets"]), _histogram(baseline["buckets"])
    except ValueError as error:
        return MetricEvidence(policy.name, policy, MeasurementStatus.ERROR, str(error), queries=queries)
    if canary_hist.total <= 0 or baseline_hist.total <= 0:
        return MetricEvidence(policy.name, policy, MeasurementStatus.NO_DATA, "no observations", queries=queries)
    result = compare_quantiles(policy.quantile, canary_hist, baseline_hist, policy.confidence)
    differences = result.canary_resampled - result.baseline_resampled
    return MetricEvidence(
        policy.name,
        policy,
        MeasurementStatus.OK,
        canary=result.canary,
        baseline=result.baseline,
        estimate=result.difference,
        ci_low=result.ci_low,
        ci_high=result.ci_high,
        p_value=result.p_value,
        effect=result.ratio,
        canary_samples=round(canary_hist.total),
        baseline_samples=round(baseline_hist.total),
        queries=queries,
        # Bootstrap one-sided p-values; ties at zero count half, as in the two-sided one.
        p_greater=float(np.mean(differences <= 0) - 0.5 * np.mean(differences == 0)),
        p_less=float(np.mean(differences >= 0) - 0.5 * np.mean(differences == 0)),
        resampled=(result.canary_resampled, result.baseline_resampled),
    )


def _threshold(policy: MetricPolicy, canary: Observation, queries: Mapping[str, str]) -> MetricEvidence:
    values = clean(canary["value"].values, policy.nan_strategy)
    if values.size == 0:
        return MetricEvidence(policy.name, policy, MeasurementStatus.NO_DATA, "canary: value is NaN", queries=queries)
    # Several series (one per pod): the worst one decides, in the direction that is bad.
    value = float(np.min(values) if policy.threshold.max is None else np.max(values))
    return MetricEvidence(
        policy.name,
        policy,
        MeasurementStatus.OK,
        canary=value,
        canary_samples=int(values.size),
        queries=queries,
    )


def evaluate_metric(
    policy: MetricPolicy,
    canary: Observation,
    baseline: Observation,
    presorted: tuple[FloatArray, FloatArray] | None = None,
) -> MetricEvidence:
    """Statistics for one metric; ``presorted`` skips preparing and sorting distribution samples."""
    missing = _missing(policy, canary, baseline)
    if missing is not None:
        return missing
    queries = _canary_queries(canary)
    if policy.type is MetricType.THRESHOLD:
        return _threshold(policy, canary, queries)
    if policy.type is MetricType.RATIO:
        return _ratio(policy, canary, baseline, queries)
    if policy.test is TestKind.QUANTILE:
        return _quantile(policy, canary, baseline, queries)
    pods = _pods(policy, canary, baseline) if presorted is None else None
    if pods is not None:
        return _distribution(policy, pods[0], pods[1], queries, pods[2])
    if presorted is None:
        canary_sorted, baseline_sorted = sort_samples(
            [
                prepare_samples(canary["samples"].values, policy),
                prepare_samples(baseline["samples"].values, policy),
            ]
        )
    else:
        canary_sorted, baseline_sorted = presorted
    return _distribution(policy, canary_sorted, baseline_sorted, queries)


def evaluate_metrics(
    items: list[tuple[MetricPolicy, Observation, Observation]],
) -> list[MetricEvidence]:
    """Evaluate many metrics; distribution samples of equal length are sorted in one numpy call."""
    distribution = [
        i
        for i, (policy, canary, baseline) in enumerate(items)
        if policy.type is MetricType.DISTRIBUTION
        and policy.test is TestKind.MANN_WHITNEY
        and _missing(policy, canary, baseline) is None
        and not (clustered(_series(canary["samples"])) or clustered(_series(baseline["samples"])))
    ]
    prepared: list[FloatArray] = []
    for i in distribution:
        policy, canary, baseline = items[i]
        prepared += [
            prepare_samples(canary["samples"].values, policy),
            prepare_samples(baseline["samples"].values, policy),
        ]
    for array in prepared:
        array.sort()  # prepare_samples returned fresh copies: sorting in place spares a stacked copy
    ordered = prepared
    presorted = {index: (ordered[2 * k], ordered[2 * k + 1]) for k, index in enumerate(distribution)}
    return [evaluate_metric(p, c, b, presorted.get(i)) for i, (p, c, b) in enumerate(items)]


def finite_or_none(value: float | None) -> float | None:
    """JSON and the CRD schema have no infinities or NaN."""
    if value is None or not math.isfinite(value):
        return None
    return value
