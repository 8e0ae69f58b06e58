"""Why the library does not judge latency with ``test: quantile``: the bootstrap of pooled buckets, measured.

``test: quantile`` compares ``histogram_quantile(q, sum by (le) (increase(...)))`` of the two tracks with a
bootstrap that resamples requests: the request is its unit, so pod-to-pod spread is invisible to it.  This runs it
on the query path's data (``bench.analysis.query_path``: per-pod histograms, the simulator's buckets, 5 req/s per
pod, pod spread as given) at a single look at the end of a 5-minute step, alpha 0.02, ``allowedIncrease`` 1.25
(the library's p95 tolerance), healthy and 1.3x slower canaries.  A whole canary looks about 15 times; one look
is the most favourable case for the bootstrap.

Run: ``python -m bench.analysis.quantile_pooled [--runs 300]``.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence

import numpy as np

from bench.analysis.query_path import FloatArray, Latency, Rate, pod_bins, pod_medians
from canary.analysis import (
    Look,
    Measurement,
    MeasurementStatus,
    Observation,
    Verdict,
    evaluate_metric,
    judge_metric,
    parse_policy,
)

POLICY = parse_policy({
    "apiVersion": "rudder.dev/v1alpha1", "kind": "ClusterMetricPolicy", "metadata": {"name": "p95-quantile"},
    "spec": {"type": "distribution", "test": "quantile", "quantile": 0.95,
             "queries": {"buckets": "sum by (le) (increase(b[5m]))", "quantile": "unused"},
             "allowedIncrease": 1.25, "confidence": 0.98, "minSamples": 10}})


def pooled(bins: Sequence[FloatArray], bounds: FloatArray) -> Observation:
    """``sum by (le)`` of the track's pods over the step, cumulative, labelled with ``le`` as Prometheus gives it."""
    counts = np.cumsum(np.sum([b.sum(axis=0) for b in bins], axis=0))
    labels = tuple({"le": "+Inf" if math.isinf(u) else repr(float(u))} for u in bounds)
    buckets = Measurement(MeasurementStatus.OK, counts.astype(np.float64), "", "", 1, labels)
    return Observation.of(buckets=buckets, quantile=Measurement.of([0.0]))


def failed(latency: Latency, runs: int, seed: int) -> Rate:
    rng = np.random.default_rng(seed)
    fails = 0
    for _ in range(runs):
        canary, baseline = ([pod_bins(latency, float(m), 300, rng) for m in medians]
                            for medians in pod_medians(latency, rng))
        evidence = evaluate_metric(POLICY, pooled(canary, latency.bounds), pooled(baseline, latency.bounds))
        fails += judge_metric(evidence, Look()).verdict is Verdict.FAIL
    return Rate(runs, fails, 0)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=300, help="repetitions per cell")
    args = parser.parse_args(argv)
    print(f"test: quantile (p95, allowedIncrease 1.25), one look at alpha 0.02, 5 req/s per pod; {args.runs} runs "
          "per cell; % failed [Wilson 95%]", "", "| pods per side | pod spread | healthy: failed | 1.3x: failed |",
          "|---|---|---|---|", sep="\n")
    for pods in (3, 5):
        for spread in (0.0, 0.05):
            latency = Latency(rps=5.0, pods=pods, spread=spread)
            healthy = failed(latency, args.runs, seed=1)
            slower = failed(Latency(rps=5.0, pods=pods, spread=spread, ratio=1.3), args.runs, seed=2)
            print(f"| {pods} | {100 * spread:.0f}% | {healthy.cell()} | {slower.cell()} |", flush=True)


if __name__ == "__main__":
    main()
