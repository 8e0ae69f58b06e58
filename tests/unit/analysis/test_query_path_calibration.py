"""The query-path calibration, small and seeded (the full tables: ``python -m bench.analysis.calibrate_query_path``).

Pins down: points of ``histogram_quantile(rate(...[w]))`` taken at the controller's grid share no requests (lag-1
autocorrelation near 0, against about 0.9 at the old step of window / 60), and healthy canaries queried on the
old grid fail far more often than alpha while on the current one they do not; whole healthy canaries (three steps,
extensions on, the real judge and alpha plan) fail about alpha of the time or less for a latency and an
error-rate policy of the library; a 2x error rate and a 1.3x latency are caught at the traffic docs/analysis.md
states; doubled Poisson counts (0.2 -> 0.4, n = 300, the discrete case of issue 10) are detected at one look;
the p95 policy holds healthy 3-pod canaries with 5% pod spread within alpha and catches a 1.3x p95 from 5 pods per
side (the traffic docs/analysis.md states); the simulator's coarse 100-250 ms bucket amplifies pod spread in an
interpolated p95 and finer buckets do not; the bench of ``test: quantile`` on pooled buckets judges real histograms
(a 1.3x p95 without pod spread fails, a healthy one does not); the calibration command prints its tables.
Bounds are wide: these are small samples.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bench.analysis.calibrate_query_path import FINE_BUCKETS, _detected, main
from bench.analysis.quantile_pooled import failed
from bench.analysis.query_path import BOUNDS, CanaryShape, Errors, Latency, pod_bins, quantile_points, simulate
from canary.analysis import MetricPolicy, load_policies

SHAPE = CanaryShape()


@pytest.fixture(scope="module")
def library() -> dict[str, MetricPolicy]:
    return {p.name: p for p in load_policies("policies/")}


def _lag1(values: np.ndarray) -> float:
    x = values[~np.isnan(values)]
    return float(np.corrcoef(x[:-1], x[1:])[0, 1])


def test_points_at_the_controllers_grid_do_not_share_requests() -> None:
    rng = np.random.default_rng(7)
    bins = pod_bins(Latency(rps=5.0), 0.05, 6000, rng)
    disjoint = quantile_points(bins, np.arange(60, 6001, 60), 60, 0.95)
    overlapping = quantile_points(bins, np.arange(60, 6001, 5), 60, 0.95)
    assert abs(_lag1(disjoint)) < 0.25
    assert _lag1(overlapping) > 0.6
    assert BOUNDS[-1] == np.inf


def test_the_old_overlapping_grid_fails_healthy_canaries_and_the_current_one_does_not(
        library: dict[str, MetricPolicy]) -> None:
    policy, latency = library["http-latency-p95"], Latency(rps=1.0, pods=1)
    old = simulate(policy, replace(SHAPE, legacy_grid=True), 40, seed=8, latency=latency)
    new = simulate(policy, SHAPE, 40, seed=8, latency=latency)
    assert old.rate >= 5 * policy.alpha  # 73% in the quick calibration
    assert new.rate <= 3 * policy.alpha


def test_healthy_canaries_rarely_fail_on_latency(library: dict[str, MetricPolicy]) -> None:
    rate = simulate(library["http-latency-p95"], SHAPE, 120, seed=3, latency=Latency(rps=5.0, pods=3))
    assert rate.rate <= 3 * library["http-latency-p95"].alpha


def test_healthy_canaries_rarely_fail_on_errors(library: dict[str, MetricPolicy]) -> None:
    rate = simulate(library["http-error-rate"], SHAPE, 150, seed=4, errors=Errors(service_rps=100.0))
    assert rate.rate <= 3 * library["http-error-rate"].alpha


def test_a_doubled_error_rate_is_caught(library: dict[str, MetricPolicy]) -> None:
    rate = simulate(library["http-error-rate"], SHAPE, 30, seed=5, errors=Errors(service_rps=500.0, ratio=2.0))
    assert rate.rate >= 0.8


def test_a_slower_canary_is_caught(library: dict[str, MetricPolicy]) -> None:
    rate = simulate(library["http-latency-p95"], SHAPE, 30, seed=6, latency=Latency(rps=5.0, pods=3, ratio=1.3))
    assert rate.rate >= 0.8


def test_healthy_canaries_with_pod_spread_rarely_fail_on_p95(library: dict[str, MetricPolicy]) -> None:
    policy = library["http-latency-p95"]
    rate = simulate(policy, SHAPE, 150, seed=11, latency=Latency(rps=5.0, pods=3, spread=0.05))
    assert rate.rate <= 3 * policy.alpha  # about 1% in the calibration (docs/analysis.md)


def test_a_slower_p95_is_caught_from_five_pods_per_side(library: dict[str, MetricPolicy]) -> None:
    rate = simulate(library["http-latency-p95"], SHAPE, 40, seed=12,
                    latency=Latency(rps=5.0, pods=5, spread=0.05, ratio=1.3))
    assert rate.rate >= 0.85  # 96-100% in the calibration at 1-20 req/s per pod


def _pod_mean_ratio(latency: Latency, shift: float) -> float:
    """Mean p95 of a pod whose median is ``shift`` times another's, over the other's (many 30 s windows)."""
    rng = np.random.default_rng(13)
    times = np.arange(30, 30 * 400 + 1, 30)
    slow, fast = (np.nanmean(quantile_points(pod_bins(latency, 0.05 * f, 30 * 400, rng), times, 30, 0.95,
                                             latency.bounds)) for f in (shift, 1.0))
    return float(slow / fast)


def test_coarse_buckets_amplify_pod_spread_in_an_interpolated_p95() -> None:
    coarse = _pod_mean_ratio(Latency(rps=20.0), 1.05)
    fine = _pod_mean_ratio(Latency(rps=20.0, buckets=FINE_BUCKETS), 1.05)
    assert coarse > 1.075  # a 5% slower pod reads about 9% slower in the 100-250 ms bucket
    assert 1.02 < fine < 1.075


def test_the_pooled_quantile_bench_judges_the_simulated_histograms() -> None:
    assert failed(Latency(rps=5.0, pods=3, ratio=1.3), 20, seed=2).rate >= 0.9  # 99.5% at 300 runs
    assert failed(Latency(rps=5.0, pods=3), 20, seed=1).failed == 0


def test_doubled_poisson_counts_are_detected() -> None:
    rng = np.random.default_rng(90)
    samples = [(rng.poisson(0.4, 300).astype(float), rng.poisson(0.2, 300).astype(float)) for _ in range(60)]
    assert _detected(samples).rate >= 0.85  # 97-100% in the calibration (docs/analysis.md)


def test_the_calibration_prints_markdown_tables(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--quick", "--only", "discrete", "--policies", "policies/http.yaml"])
    out = capsys.readouterr().out
    assert "| counts: Poisson 0.2 -> 0.4, n = 300 per side |" in out
    assert "quick mode" in out


def test_the_traffic_and_tolerance_tables_list_what_they_vary(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--quick", "--only", "traffic", "--only", "tolerance", "--canaries", "2", "--policies", "policies/http.yaml"])
    out = capsys.readouterr().out
    assert "| policy | allowedIncrease | pods per side | buckets | false fails | paused | 1.3x detected |" in out
    assert "| `http-latency-p95` | 1.25 | 5 | default |" in out
    assert "| `http-latency-p95` | 1.2 | 3 | fine |" in out
    assert "| 2000 | 5 min |" in out
    assert "| 1.2 | " in out and "| 1.3 | " in out and "1.3x detected, 5 pods |" in out
