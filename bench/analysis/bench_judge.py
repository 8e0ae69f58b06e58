"""Speed: judge 100 metrics of 10,000 samples per side, as a ratio to scipy in the same run.

The reference is a loop of ``scipy.stats.mannwhitneyu`` (two-sided, asymptotic,
as scipy picks for these sizes) over the same 100 pairs.  Our timed path is the
controller's: ``evaluate_metrics`` (NaN handling, one vectorised sort of all
samples, rank-sum test, effect sizes) and ``judge_analysis`` (Holm, sequential
alpha, the Hodges-Lehmann estimate and interval at the look's level, the
non-inferiority bounds, verdicts, samples needed, explanations), so it
does strictly more than the reference.  The rank-sum test alone is timed too.

Each timing is the median of ``--repeats`` runs, interleaved so that load on the
machine hits both sides alike.  Wall-clock time and the process's CPU time are
both reported: on a shared machine the wall clock also counts the time other
processes held the CPU, which the CPU time leaves out (all paths here are
single-threaded).  Run: ``python -m bench.analysis.bench_judge``.
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


def _time(run: Callable[[], object], wall: list[float], cpu: list[float]) -> None:
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    run()
    cpu.append(time.process_time() - start_cpu)
    wall.append(time.perf_counter() - start_wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metrics", type=int, default=100)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
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

    paths = {"scipy": scipy_loop, "judge": judge, "rank_sum": rank_sum_only}
    wall: dict[str, list[float]] = {name: [] for name in paths}
    cpu: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(args.repeats):
        for name, run in paths.items():
            _time(run, wall[name], cpu[name])
    median_wall = {name: statistics.median(times) for name, times in wall.items()}
    median_cpu = {name: statistics.median(times) for name, times in cpu.items()}
    print(f"{args.metrics} metrics x {args.samples} samples per side, median of {args.repeats} interleaved runs")
    print(f"{'':32s}{'wall':>9s}{'ratio':>7s}{'cpu':>11s}{'ratio':>7s}")
    for name, label in (
        ("scipy", "scipy.stats.mannwhitneyu loop"),
        ("judge", "judge (test + HL CI + verdict)"),
        ("rank_sum", "rank-sum test alone"),
    ):
        print(
            f"{label:32s}{median_wall[name] * 1000:6.1f} ms{median_wall[name] / median_wall['scipy']:7.2f}"
            f"{median_cpu[name] * 1000:8.1f} ms{median_cpu[name] / median_cpu['scipy']:7.2f}"
        )


if __name__ == "__main__":
    main()
