"""Issue 10, pod-to-pod spread: for a distribution metric the pod (the query's series) is the unit.

Pins down:

* points that carry their series' labels (one series per pod, as the controller's range query returns) are
  judged by the clustered rank-sum test: pods that differ among themselves as much as canary from baseline do
  not fail the canary, though the same points judged as independent (no labels: ``kubectl canary judge`` on a
  file, and the controller before this change) do;
* a consistent slowdown of every canary pod, beyond the pods' spread, still fails;
* with one pod a side, pod spread cannot be estimated: a Fail needs the change to reach ``allowedIncrease``
  squared, and the message says so and asks for more pods; a large regression still fails;
* points without labels, or one point per series, are decided exactly as before (the classical test);
* minSamples counts points per pod when the pod is the unit;
* the clustered statistic's pieces: Student's t tail (integer degrees of freedom) equals scipy's, and with one
  point per cluster the variance is DeLong's;
* a whole healthy canary with 3 pods a side and 5% pod spread fails at most about alpha along the query path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from bench.analysis.query_path import CanaryShape, Latency, labelled, simulate
from canary.analysis import (
    Measurement,
    MetricPolicy,
    Observation,
    Verdict,
    evaluate_metric,
    judge_metric,
    load_policies,
    parse_policy,
)
from canary.analysis.clustered import cluster_ids, clustered_rank_sum, t_isf, t_sf


def _policy(**spec: Any) -> MetricPolicy:
    base = {"type": "distribution", "test": "mann-whitney", "queries": {"samples": "s"}, "allowedIncrease": 1.2,
            "confidence": 0.98, "minSamples": 10}
    return parse_policy({"apiVersion": "rudder.dev/v1alpha1", "kind": "ClusterMetricPolicy",
                         "metadata": {"name": "latency"}, "spec": {**base, **spec}})


def _pods(medians: Sequence[float], points: int, seed: int, noise: float = 0.03) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [m * np.exp(rng.normal(0.0, noise, points)) for m in medians]


def _judge(canary: list[np.ndarray], baseline: list[np.ndarray], *, labels: bool, policy: MetricPolicy | None = None):
    def side(series: list[np.ndarray]) -> Observation:
        measurement = labelled(series) if labels else Measurement.of(np.concatenate(series))
        return Observation.of(samples=measurement)

    return judge_metric(evaluate_metric(policy or _policy(), side(canary), side(baseline)))


def test_pods_spread_as_much_as_the_sides_differ_do_not_fail() -> None:
    canary = _pods([0.9, 1.65, 1.35], 12, seed=1)
    baseline = _pods([0.8, 1.3, 1.05], 12, seed=2)
    as_points = _judge(canary, baseline, labels=False)
    as_pods = _judge(canary, baseline, labels=True)
    assert as_points.verdict is Verdict.FAIL  # the points taken as independent: what the judge did before
    assert as_pods.verdict is not Verdict.FAIL
    assert as_pods.evidence.effect is not None and as_pods.evidence.effect >= 1.2  # relevant, but not shown
    assert "3 canary and 3 baseline series (pods)" in as_pods.reason


def test_every_pod_slower_beyond_the_spread_fails() -> None:
    result = _judge(_pods([1.45, 1.5, 1.55], 12, seed=3), _pods([0.95, 1.0, 1.05], 12, seed=4), labels=True)
    assert result.verdict is Verdict.FAIL
    assert "the pod is the unit" in result.reason


def test_one_pod_a_side_needs_the_tolerance_squared() -> None:
    slower = _judge(_pods([1.3], 12, seed=5), _pods([1.0], 12, seed=6), labels=True)
    assert slower.verdict is not Verdict.FAIL  # 1.3x < 1.2^2: could be two pods' spread
    assert "at least 2 pods per side" in slower.reason and "1.44x" in slower.reason
    assert _judge(_pods([1.3], 12, seed=5), _pods([1.0], 12, seed=6), labels=False).verdict is Verdict.FAIL
    assert _judge(_pods([2.0], 12, seed=7), _pods([1.0], 12, seed=8), labels=True).verdict is Verdict.FAIL


def test_unlabelled_points_and_one_point_per_series_are_decided_as_before() -> None:
    canary, baseline = _pods([1.3] * 5, 3, seed=9), _pods([1.0] * 5, 3, seed=10)
    flat_c, flat_b = np.concatenate(canary), np.concatenate(baseline)
    before = _judge([flat_c], [flat_b], labels=False)
    singletons = _judge([np.array([v]) for v in flat_c], [np.array([v]) for v in flat_b], labels=True)
    assert singletons.evidence.pods is None
    assert (singletons.verdict, singletons.decision_p_value) == (before.verdict, before.decision_p_value)


def test_min_samples_counts_points_per_pod() -> None:
    result = _judge(_pods([1.5, 1.5, 1.5], 6, seed=11), _pods([1.0, 1.0, 1.0], 6, seed=12), labels=True)
    assert result.verdict is Verdict.INCONCLUSIVE  # 18 points a side, but 6 per pod < minSamples 10
    assert "6 samples on the smaller side" in result.reason


def test_students_t_tail_and_quantile_equal_scipys() -> None:
    # scipy.stats.t.sf(2.5, 4), t.sf(1.0, 7), t.sf(-0.7, 2), t.isf(0.01, 5)
    assert t_sf(2.5, 4) == pytest.approx(0.03338327240599407, rel=1e-10)
    assert t_sf(1.0, 7) == pytest.approx(0.1753083314101037, rel=1e-10)
    assert t_sf(-0.7, 2) == pytest.approx(0.7218034876835673, rel=1e-10)
    assert t_isf(0.01, 5) == pytest.approx(3.364929998907218, rel=1e-9)


def test_one_point_per_cluster_is_delongs_variance() -> None:
    rng = np.random.default_rng(13)
    x, y = rng.normal(0.3, 1.0, 40), rng.normal(0.0, 1.0, 50)
    test = clustered_rank_sum(x, np.arange(40), y, np.arange(50))
    v = np.array([np.mean(y < xi) for xi in x])
    w = np.array([np.mean(x > yj) for yj in y])
    delong = np.var(v, ddof=1) / 40 + np.var(w, ddof=1) / 50
    assert test.theta == pytest.approx(np.mean(v))
    assert test.variance == pytest.approx(max(delong, 91 / (12 * 40 * 50)))


def test_series_are_told_apart_by_all_their_labels() -> None:
    ids = cluster_ids(({"pod": "a"}, {"pod": "b"}, {"pod": "a"}, {"pod": "a", "x": "1"}), 4)
    assert ids is not None and list(ids) == [0, 1, 0, 2]
    assert cluster_ids((), 3) is None


def test_healthy_canaries_with_pod_spread_rarely_fail() -> None:
    policy = {p.name: p for p in load_policies("policies/http.yaml")}["http-latency-p50"]
    rate = simulate(policy, CanaryShape(), 100, seed=21, latency=Latency(rps=20.0, pods=3, spread=0.05))
    assert rate.rate <= 3 * policy.alpha
