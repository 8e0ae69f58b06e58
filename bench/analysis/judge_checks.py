"""The judge's per-look decision on the cases of issue 10 (defects 2, 4, 5, 6, 7), simulated.

One look of one metric, judged exactly as the controller and ``kubectl canary judge``
judge it (``evaluate_metric`` + ``judge_metric``), on seeded data:

* detection of discrete regressions (Poisson counts 0.2 -> 0.4, n = 300; integer-ms
  latency x1.15, n = 2000) and their A/A false-fail rates;
* the exact size of one look on small error counts (every outcome enumerated);
* the verdicts of the small-count and no-error cases;
* the power ``samplesNeeded`` states (80%), simulated at the size it reports;
* a 1% slowdown at n = 200k under the default tolerance; intervals against decisions.

Rates come with Wilson 95% intervals.  Unit tests run small versions of each
(``tests/unit/analysis/test_judge_defects.py``).  Run:
``python -m bench.analysis.judge_checks [--runs 1000]``.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from canary.analysis import (
    Look,
    Measurement,
    MetricPolicy,
    Observation,
    Verdict,
    evaluate_metric,
    judge_analysis,
    judge_metric,
    parse_policy,
)
from canary.analysis.normal import norm_sf
from canary.analysis.power import distribution_samples_to_decide, proportion_samples_to_decide
from canary.analysis.proportions import tolerated_difference, wilson_interval

Rng = np.random.Generator


def policy(kind: str = "distribution", **spec: Any) -> MetricPolicy:
    base: dict[str, Any] = {
        "distribution": {"type": "distribution", "test": "mann-whitney", "queries": {"samples": "s"}},
        "ratio": {"type": "ratio", "test": "proportion", "queries": {"errors": "e", "total": "t"}},
    }[kind]
    return parse_policy(
        {"apiVersion": "rudder.dev/v1alpha1", "kind": "ClusterMetricPolicy", "metadata": {"name": kind},
         "spec": {**base, **spec}}
    )  # fmt: skip


def samples(values: np.ndarray) -> Observation:
    return Observation.of(samples=Measurement.of(values, "q"))


def ratio(errors: float, total: float) -> Observation:
    return Observation.of(errors=Measurement.of([errors], "e"), total=Measurement.of([total], "t"))


def rate(hits: int, runs: int) -> str:
    low, high = wilson_interval(hits, runs, 0.95)
    return f"{hits / runs:.3f} [{low:.3f}, {high:.3f}]"


def frequency(runs: int, trial: Callable[[], bool]) -> str:
    return rate(sum(trial() for _ in range(runs)), runs)


def verdict(p: MetricPolicy, canary: np.ndarray, baseline: np.ndarray) -> Verdict:
    return judge_metric(evaluate_metric(p, samples(canary), samples(baseline))).verdict


def discrete(rng: Rng, runs: int) -> None:
    p = policy()
    print("\n## Discrete data, one look at alpha 0.02 (default policy: allowedIncrease 1.1)\n")
    print("| case | n per side | Fail rate (95% CI) |\n|---|---|---|")

    def poisson(scale: float) -> bool:
        canary = rng.poisson(0.2 * scale, 300).astype(float)
        return verdict(p, canary, rng.poisson(0.2, 300).astype(float)) is Verdict.FAIL

    def integer_ms(scale: float) -> bool:
        baseline = np.round(rng.lognormal(math.log(3.0), 0.2, 2000))
        canary = np.round(rng.lognormal(math.log(3.0), 0.2, 2000) * scale)
        return verdict(p, canary, baseline) is Verdict.FAIL

    print(f"| Poisson 0.2 -> 0.4 | 300 | {frequency(runs, lambda: poisson(2.0))} |")
    print(f"| Poisson 0.2, A/A | 300 | {frequency(5 * runs, lambda: poisson(1.0))} |")
    short = max(runs // 4, 50)
    print(f"| integer ms (median 3 ms) x1.15 | 2000 | {frequency(short, lambda: integer_ms(1.15))} |")
    print(f"| integer ms, A/A | 2000 | {frequency(short, lambda: integer_ms(1.0))} |")


def _binomial(n: int, p: float) -> np.ndarray:
    k = np.arange(n + 1)
    log = np.array([math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) for i in k])
    return np.exp(log + k * math.log(p) + (n - k) * math.log1p(-p))


def _z_test_fails(ec: int, nc: int, eb: int, nb: int, alpha: float) -> bool:
    """The old rule: pooled z-test, one-sided p halved from the two-sided one, any positive effect."""
    pooled = (ec + eb) / (nc + nb)
    se = math.sqrt(pooled * (1 - pooled) * (1 / nc + 1 / nb))
    return se > 0 and ec / nc > eb / nb and norm_sf((ec / nc - eb / nb) / se) <= alpha


def exact_sizes() -> None:
    print("\n## Exact size of one look on small counts (alpha 0.02; every outcome with P > 1e-12)\n")
    print("| canary vs baseline requests, rate | judge (Fisher's exact, gates) | pooled z-test alone |")
    print("|---|---|---|")
    p = policy("ratio", minSamples=50)
    for nc, nb, r in ((100, 900, 0.01), (50, 950, 0.005), (200, 1800, 0.01), (500, 9500, 0.002)):
        pc, pb = _binomial(nc, r), _binomial(nb, r)
        judged = z = 0.0
        for ec in np.flatnonzero(pc > 1e-12):
            for eb in np.flatnonzero(pb > 1e-12):
                weight = pc[ec] * pb[eb]
                if judge_metric(evaluate_metric(p, ratio(ec, nc), ratio(eb, nb))).verdict is Verdict.FAIL:
                    judged += weight
                z += weight * _z_test_fails(int(ec), nc, int(eb), nb, 0.02)
        print(f"| {nc} vs {nb}, {r:.1%} | {judged:.4f} | {z:.4f} |")


def small_cases() -> None:
    print("\n## Small-count and no-error cases (default ratio policy, minSamples 50; CLI gives the same)\n")
    print("| canary | baseline | verdict | samplesNeeded |\n|---|---|---|---|")
    p = policy("ratio", minSamples=50)
    for (ec, nc), (eb, nb) in (((1, 50), (0, 950)), ((0, 200), (0, 200)), ((3, 200), (0, 200)), ((5, 40), (0, 960))):
        result = judge_metric(evaluate_metric(p, ratio(ec, nc), ratio(eb, nb)))
        label = f"{result.verdict.value} ({result.classification.value})"
        print(f"| {ec}/{nc} | {eb}/{nb} | {label} | {result.samples_needed} |")


def _distribution_power(rng: Rng, runs: int, allowed: float, sigma: float) -> str:
    # The size the judge reports, from a large baseline sample (the judge passes its own).
    p = policy(allowedIncrease=allowed, minSamples=0)
    n = distribution_samples_to_decide(np.sort(rng.lognormal(0, sigma, 5000)), allowed, 0.02)
    assert n is not None
    passes = fails = 0
    for _ in range(runs):
        passes += verdict(p, rng.lognormal(0, sigma, n), rng.lognormal(0, sigma, n)) is Verdict.PASS
        fails += verdict(p, rng.lognormal(0, sigma, n) * allowed**2, rng.lognormal(0, sigma, n)) is Verdict.FAIL
    label = f"lognormal sigma {sigma}, allowedIncrease {allowed} (regression x{allowed**2:.3g})"
    return f"| {label} | {n} | {rate(passes, runs)} | {rate(fails, runs)} |"


def _rate_power(rng: Rng, runs: int, allowed: float, base: float) -> str:
    p = policy("ratio", allowedIncrease=allowed, minSamples=0)
    n = proportion_samples_to_decide(base, allowed, 0.02)
    assert n is not None
    regressed = base + 2 * tolerated_difference(base, allowed)
    passes = fails = 0
    for _ in range(runs):
        same = evaluate_metric(p, ratio(rng.binomial(n, base), n), ratio(rng.binomial(n, base), n))
        passes += judge_metric(same).verdict is Verdict.PASS
        worse = evaluate_metric(p, ratio(rng.binomial(n, regressed), n), ratio(rng.binomial(n, base), n))
        fails += judge_metric(worse).verdict is Verdict.FAIL
    label = f"error rate {base:.2%}, allowedIncrease {allowed} (regression to {regressed:.4g})"
    return f"| {label} | {n} | {rate(passes, runs)} | {rate(fails, runs)} |"


def power(rng: Rng, runs: int) -> None:
    print("\n## samplesNeeded: simulated power at the size the judge reports (stated: 80%)\n")
    print("| metric | n per side | P(Pass), canary = baseline | P(Fail), detectable regression |")
    print("|---|---|---|---|")
    for allowed, sigma in ((1.1, 0.5), (1.2, 0.3), (1.5, 1.0)):
        print(_distribution_power(rng, runs, allowed, sigma))
    for allowed, base in ((1.5, 0.01), (1.2, 0.05), (1.5, 0.0005)):
        print(_rate_power(rng, runs, allowed, base))


def defaults_and_intervals(rng: Rng, runs: int) -> None:
    print("\n## Defaults and intervals\n")
    baseline, canary = rng.lognormal(0, 0.5, 200_000), rng.lognormal(0, 0.5, 200_000) * 1.01
    for allowed in (1.1, 1.0):
        result = judge_metric(evaluate_metric(policy(allowedIncrease=allowed), samples(canary), samples(baseline)))
        print(f"* 1% slowdown, n = 200k, allowedIncrease {allowed}: {result.verdict.value}")
    p = policy(allowedIncrease=1.01)
    look = Look(number=3, planned=10)
    fails = crossing = unsupported = 0
    for _ in range(runs):
        evidence = evaluate_metric(p, samples(rng.normal(10.25, 1.0, 300)), samples(rng.normal(10.0, 1.0, 300)))
        result = judge_analysis([evidence], look).metrics[0]
        status = result.to_status()
        assert result.alpha is not None and result.adjusted_p_value is not None
        if result.verdict is Verdict.FAIL:
            fails += 1
            crossing += status["ciLow"] <= 0.0
        unsupported += status["ciLow"] > 0.0 and result.adjusted_p_value > result.alpha
    print(
        f"* interval vs decision, look 3 of 10, {runs} borderline canaries: {fails} Fail, "
        f"{crossing} Fail with an interval reaching 0, {unsupported} intervals excluding 0 without a Fail-level p"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"# judge checks, seed {args.seed}, {args.runs} runs per cell")
    discrete(rng, args.runs)
    exact_sizes()
    small_cases()
    power(rng, args.runs)
    defaults_and_intervals(rng, args.runs)


if __name__ == "__main__":
    main()
