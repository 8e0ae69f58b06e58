"""Speed: judge 100 metrics of 10,000 samples per side, as a ratio to scipy in the same run.

The reference is a loop of ``scipy.stats.mannwhitneyu`` (two-sided, asymptotic,
as scipy picks for these sizes) over the same 100 pairs.  Our timed path is the
controller's: ``evaluate_metrics`` (NaN handling, one vectorised sort of all
samples, rank-sum test, Hodges-Lehmann estimate and 98% interval, effect sizes)
and ``judge_analysis`` (Holm, sequential alpha, verdicts, explanations), so it
does strictly more than the reference.  The rank-sum test alone is timed too.

Each timing is the median of ``--repeats`` runs, interleaved so that load on the
machine hits both sides alike.  Run: ``python -m bench.analysis.bench_judge``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from scipy import stats

from bench.analysis.simulate import latency_policy
from canary.analysis import (
    Look,
    Measurement,
    Observation,
    evaluate_metrics,
    judge_analysis,
    rank_sum_test,
    sort_samples,
)
from canary.analysis.policy import MetricPolicy


def make_data(metrics: int, samples: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    shifts = rng.choice([1.0, 1.0, 1.0, 1.02, 1.1], size=metrics)
    canary = [rng.lognormal(-2.0, 0.6, samples) * s for s in shifts]
    baseline = [rng.lognormal(-2.0, 0.6, samples) for _ in range(metrics)]
    return canary, baseline


def _median_time(run: Callable[[], object], repeats: int, timings: list[float]) -> None:
    start = time.perf_counter()
    run()
    timings.append(time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metrics", type=int, default=100)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    canary, baseline = make_data(args.metrics, args.samples, args.seed)
    policy: MetricPolicy = latency_policy()
    items = [
        (policy, Observation.of(samples=Measurement.of(c)), Observation.of(samples=Measurement.of(b)))
        for c, b in zip(canary, baseline, strict=True)
    ]

    def scipy_loop() -> object:
        return [stats.mannwhitneyu(c, b, alternative="two-sided") for c, b in zip(canary, baseline, strict=True)]

    def judge() -> object:
        return judge_analysis(evaluate_metrics(items), Look(3, 10))

    def rank_sum_only() -> object:
        ordered = sort_samples([*canary, *baseline])
        return [rank_sum_test(ordered[i], ordered[args.metrics + i]) for i in range(args.metrics)]

    # Same statistic as scipy before timing anything.
    reference = scipy_loop()
    ours = judge()
    for theirs, mine in zip(reference, ours.metrics, strict=True):  # type: ignore[attr-defined]
        assert abs(theirs.pvalue - mine.evidence.p_value) <= 1e-9 * max(theirs.pvalue, 1e-300)

    timings: dict[str, list[float]] = {"scipy": [], "judge": [], "rank_sum": []}
    for _ in range(args.repeats):
        _median_time(scipy_loop, args.repeats, timings["scipy"])
        _median_time(judge, args.repeats, timings["judge"])
        _median_time(rank_sum_only, args.repeats, timings["rank_sum"])
    scipy_time = statistics.median(timings["scipy"])
    judge_time = statistics.median(timings["judge"])
    rank_time = statistics.median(timings["rank_sum"])
    print(f"{args.metrics} metrics x {args.samples} samples per side, median of {args.repeats} runs")
    print(f"scipy.stats.mannwhitneyu loop : {scipy_time * 1000:8.1f} ms")
    print(f"judge (test + HL CI + verdict): {judge_time * 1000:8.1f} ms   ratio {judge_time / scipy_time:.2f}")
    print(f"rank-sum test alone           : {rank_time * 1000:8.1f} ms   ratio {rank_time / scipy_time:.2f}")


if __name__ == "__main__":
    main()
