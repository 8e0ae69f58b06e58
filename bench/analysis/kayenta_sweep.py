"""Agreement of ``canary.analysis.kayenta.classify`` with a root-finding reference of Kayenta's classifier.

Kayenta's MannWhitneyClassifier takes its interval and estimate from R's
asymptotic ``wilcox.test(conf.int = TRUE)`` method: the roots, found by Brent's
method to an absolute tolerance of 1e-4, of the standardised rank-sum statistic
of (canary - mu) against baseline (mid-ranks, pooled tie correction, continuity
correction).  The reference below computes exactly that with scipy (``rankdata``,
``brentq`` with the same tolerance), then applies Kayenta's documented rules
(bounds at +/- tolerance * |estimate|, effect gates with a NaN mean ratio
ignored, critical thresholds, no-data and identical-data cases).  It is an
independent implementation of the published method, not Kayenta's code.

The sweep draws ``--cases`` seeded configurations: shapes (normal, lognormal,
integer counts, zero-heavy, two constant sides), sizes 5-400 per side, no shift,
small and large multiplicative shifts, directions, tolerance 0.1/0.25,
confidence 0.95/0.98, mean-ratio or CLES effects with default or configured
thresholds, outlier removal on or off, and scales from 1e-4 to 1e3 (the solver's
absolute tolerance matters on small scales).  It prints the agreement overall and
per shape and scale, and the disagreeing cases.

Run: ``python -m bench.analysis.kayenta_sweep --cases 600 --seed 20261202``.
"""

from __future__ import annotations

import argparse
import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, stats

from canary.analysis.kayenta import EffectMeasure, KayentaSettings, NaNStrategy, classify
from canary.analysis.verdicts import Classification, Direction

FloatArray = NDArray[np.float64]
SOLVER_TOLERANCE = 1e-4  # Kayenta's (and R's uniroot's) absolute tolerance


def _fences(values: FloatArray, factor: float) -> FloatArray:
    if values.size == 0:
        return values
    p01, q1, q3, p99 = np.percentile(values, [1, 25, 75, 99])
    low = min(q1 - factor * (q3 - q1), p01)
    high = max(q3 + factor * (q3 - q1), p99)
    kept: FloatArray = values[(values >= low) & (values <= high)]
    return kept


def _statistic(mu: float, quantile: float, x: FloatArray, y: FloatArray) -> float:
    n, m = len(x), len(y)
    ranks = stats.rankdata(np.concatenate((x - mu, y)))
    dz = float(ranks[:n].sum()) - n * (n + 1) / 2 - n * m / 2
    _, counts = np.unique(ranks, return_counts=True)
    ties = float(np.sum(counts.astype(float) ** 3 - counts))
    sigma = math.sqrt(n * m / 12 * ((n + m + 1) - ties / ((n + m) * (n + m - 1))))
    return (dz - math.copysign(0.5, dz) * (dz != 0)) / sigma - quantile


def _root(quantile: float, x: FloatArray, y: FloatArray, tolerance: float) -> float:
    low, high = float(x.min() - y.max()), float(x.max() - y.min())
    at_low, at_high = _statistic(low, quantile, x, y), _statistic(high, quantile, x, y)
    if at_low <= 0:
        return low
    if at_high >= 0:
        return high
    root: float = optimize.brentq(
        _statistic, low, high, args=(quantile, x, y), xtol=tolerance, rtol=4 * np.finfo(float).eps
    )
    return root


def reference(
    canary: FloatArray,
    baseline: FloatArray,
    s: KayentaSettings,
    rng: np.random.Generator,
    tolerance: float = SOLVER_TOLERANCE,
) -> str:
    """Kayenta's classification label from the root-finding interval (absolute solver ``tolerance``)."""
    x = canary[~np.isnan(canary)] if s.nan_strategy is NaNStrategy.REMOVE else np.nan_to_num(canary, nan=0.0)
    y = baseline[~np.isnan(baseline)] if s.nan_strategy is NaNStrategy.REMOVE else np.nan_to_num(baseline, nan=0.0)
    if s.outlier_factor is not None:
        x, y = _fences(x, s.outlier_factor), _fences(y, s.outlier_factor)
    if x.size == 0 or y.size == 0:
        return "NoData" if s.nan_strategy is NaNStrategy.REMOVE else "Pass"
    if np.array_equal(np.sort(x), np.sort(y)) or np.unique(np.concatenate((x, y))).size == 1:
        return "Pass"
    if np.unique(x).size == 1 and np.unique(y).size == 1:
        x = x + rng.normal(0.0, abs(x[0]) * 1e-5, x.size)
        y = y + rng.normal(0.0, abs(y[0]) * 1e-5, y.size)
    z = float(stats.norm.ppf(1 - (1 - s.confidence) / 2))
    lower, upper, estimate = (_root(q, x, y, tolerance) for q in (z, -z, 0.0))
    bound = s.tolerance * abs(estimate)
    if s.effect_measure is EffectMeasure.CLES:
        effect = float(stats.mannwhitneyu(x, y, method="asymptotic").statistic) / (x.size * y.size)
    else:
        mx, my = float(np.mean(x)), float(np.mean(y))
        effect = math.nan if mx == 0 or my == 0 else mx / my
    neutral = s.effect_measure.neutral
    up = s.allowed_increase if s.allowed_increase is not None else neutral
    down = s.allowed_decrease if s.allowed_decrease is not None else neutral
    if s.direction in (Direction.INCREASE, Direction.EITHER) and lower > bound and (math.isnan(effect) or effect >= up):
        return "High"
    if (
        s.direction in (Direction.DECREASE, Direction.EITHER)
        and upper < -bound
        and (math.isnan(effect) or effect <= down)
    ):
        return "Low"
    return "Pass"


@dataclass(frozen=True)
class Case:
    shape: str
    scale: float
    canary: FloatArray
    baseline: FloatArray
    settings: KayentaSettings


SHAPES = ("normal", "lognormal", "counts", "zero-heavy", "constant")
SCALES = (1e-4, 1e-2, 1.0, 1e3)


def _draw(shape: str, size: int, factor: float, rng: np.random.Generator) -> FloatArray:
    if shape == "normal":
        return rng.normal(10.0 * factor, 2.0, size)
    if shape == "lognormal":
        return rng.lognormal(math.log(factor), 0.5, size)
    if shape == "counts":
        return rng.poisson(3.0 * factor, size).astype(np.float64)
    if shape == "zero-heavy":
        return np.where(rng.random(size) < 0.7, 0.0, rng.exponential(factor, size))
    return np.full(size, float(round(5 * factor, 1)))


def make_case(rng: np.random.Generator) -> Case:
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    scale = SCALES[int(rng.integers(len(SCALES)))]
    n, m = (int(v) for v in rng.integers(5, 401, 2))
    factor = float(rng.choice([1.0, 1.0, 1.05, 1.2, 1.5, 2.0, 0.8, 0.5]))
    canary = _draw(shape, n, factor, rng) * scale
    baseline = _draw(shape, m, 1.0, rng) * scale
    measure = EffectMeasure.CLES if rng.random() < 0.3 else EffectMeasure.MEAN_RATIO
    configured = rng.random() < 0.4
    settings = KayentaSettings(
        direction=(Direction.INCREASE, Direction.DECREASE, Direction.EITHER)[int(rng.integers(3))],
        confidence=float(rng.choice([0.95, 0.98])),
        tolerance=float(rng.choice([0.1, 0.25])),
        allowed_increase=(0.6 if measure is EffectMeasure.CLES else 1.1) if configured else None,
        allowed_decrease=(0.4 if measure is EffectMeasure.CLES else 0.9) if configured else None,
        effect_measure=measure,
        outlier_factor=3.0 if rng.random() < 0.3 else None,
    )
    return Case(shape, scale, canary, baseline, settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=600)
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--tolerance", type=float, default=SOLVER_TOLERANCE, help="the reference solver's (absolute)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    noise = np.random.default_rng(args.seed + 1)
    agree: Counter[str] = Counter()
    total: Counter[str] = Counter()
    disagreements = []
    for index in range(args.cases):
        case = make_case(rng)
        ours = classify(case.canary, case.baseline, case.settings).classification
        theirs = reference(case.canary, case.baseline, case.settings, noise, args.tolerance)
        same = ours is Classification(theirs)
        for key in ("all", f"shape={case.shape}", f"scale={case.scale:g}"):
            total[key] += 1
            agree[key] += same
        if not same:
            sizes = f"n={len(case.canary)} m={len(case.baseline)}"
            disagreements.append(
                f"case {index}: {case.shape} scale={case.scale:g} {sizes} ours={ours.value} ref={theirs}"
            )
    for key in sorted(total, key=lambda k: (k != "all", k)):
        print(f"{key:22s} {agree[key]:4d} / {total[key]:4d}  {100.0 * agree[key] / total[key]:5.1f}%")
    for row in disagreements:
        print("disagree:", row)


if __name__ == "__main__":
    main()
