"""Simulated canaries judged look by look with the controller's judge.

Each simulated canary accrues traffic on both sides for ``looks`` intervals; at
every look the cumulative data is judged with ``judge_analysis`` and the look's
share of alpha.  A canary "fails" at its first look with a Fail verdict (the
strictest reading: a failureLimit of 0).  A/A canaries (no difference) measure the
false-fail rate; A/B canaries measure power.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from canary.analysis import (
    Look,
    Measurement,
    MetricPolicy,
    Observation,
    Verdict,
    evaluate_metric,
    judge_analysis,
    parse_policy,
)
from canary.analysis.sequential import CANARY_EXTENSION_RESERVE, SpendingFunction


def _policy(name: str, spec: dict[str, object]) -> MetricPolicy:
    return parse_policy(
        {"apiVersion": "rudder.dev/v1alpha1", "kind": "ClusterMetricPolicy", "metadata": {"name": name}, "spec": spec}
    )


def error_rate_policy(allowed_increase: float = 1.0, confidence: float = 0.98, min_samples: int = 200) -> MetricPolicy:
    """A ratio policy; allowedIncrease 1.0 fails on any significant increase (pure alpha)."""
    queries = {"errors": "e", "total": "t"}
    return _policy(
        "error-rate",
        {"type": "ratio", "test": "proportion", "queries": queries, "allowedIncrease": allowed_increase,
         "confidence": confidence, "minSamples": min_samples},
    )  # fmt: skip


def latency_policy(allowed_increase: float = 1.0, confidence: float = 0.98, min_samples: int = 20) -> MetricPolicy:
    """A distribution policy judged with the rank-sum test."""
    return _policy(
        "latency",
        {"type": "distribution", "test": "mann-whitney", "queries": {"samples": "s"},
         "allowedIncrease": allowed_increase, "confidence": confidence, "minSamples": min_samples},
    )  # fmt: skip


@dataclass(frozen=True)
class Scenario:
    canaries: int = 1000
    looks: int = 10
    requests_per_look: int = 1000  # per side
    baseline_error_rate: float = 0.01
    error_ratio: float = 1.0  # canary error rate / baseline error rate
    latency_samples_per_look: int = 0  # per side; 0 leaves the latency metric out
    latency_ratio: float = 1.0
    spending: SpendingFunction | None = SpendingFunction.POCOCK  # None: every look at the full alpha
    final_look_only: bool = False  # one fixed-sample test after the last interval
    error_policy: MetricPolicy = field(default_factory=error_rate_policy)
    latency: MetricPolicy = field(default_factory=latency_policy)
    seed: int = 20240601


@dataclass(frozen=True)
class Outcome:
    canaries: int
    failed: int
    first_fail_looks: tuple[int, ...]

    @property
    def rate(self) -> float:
        return self.failed / self.canaries

    @property
    def standard_error(self) -> float:
        p = self.rate
        return math.sqrt(max(p * (1.0 - p), 1.0 / self.canaries) / self.canaries)

    @property
    def mean_first_fail_look(self) -> float | None:
        return float(np.mean(self.first_fail_looks)) if self.first_fail_looks else None


def _look(scenario: Scenario, number: int) -> Look:
    if scenario.spending is None:
        return Look(1, 1)  # naive: the full alpha at every look
    return Look(number, scenario.looks, scenario.spending, extension_reserve=CANARY_EXTENSION_RESERVE)


def _judge_canary(scenario: Scenario, rng: np.random.Generator) -> int | None:
    """The first look that fails, or None."""
    n = scenario.requests_per_look
    p_base = scenario.baseline_error_rate
    p_canary = min(1.0, p_base * scenario.error_ratio)
    errors_c = np.cumsum(rng.binomial(n, p_canary, scenario.looks))
    errors_b = np.cumsum(rng.binomial(n, p_base, scenario.looks))
    k = scenario.latency_samples_per_look
    latency_c = rng.lognormal(math.log(scenario.latency_ratio), 0.5, k * scenario.looks) if k else None
    latency_b = rng.lognormal(0.0, 0.5, k * scenario.looks) if k else None
    looks = [scenario.looks] if scenario.final_look_only else range(1, scenario.looks + 1)
    for number in looks:
        total = float(n * number)
        evidence = [
            evaluate_metric(
                scenario.error_policy,
                Observation.of(errors=Measurement.of([errors_c[number - 1]]), total=Measurement.of([total])),
                Observation.of(errors=Measurement.of([errors_b[number - 1]]), total=Measurement.of([total])),
            )
        ]
        if latency_c is not None and latency_b is not None:
            evidence.append(
                evaluate_metric(
                    scenario.latency,
                    Observation.of(samples=Measurement.of(latency_c[: k * number])),
                    Observation.of(samples=Measurement.of(latency_b[: k * number])),
                )
            )
        look = Look(1, 1) if scenario.final_look_only else _look(scenario, number)
        if judge_analysis(evidence, look).verdict is Verdict.FAIL:
            return number
    return None


def simulate(scenario: Scenario) -> Outcome:
    rng = np.random.default_rng(scenario.seed)
    first_fails = [look for _ in range(scenario.canaries) if (look := _judge_canary(scenario, rng)) is not None]
    return Outcome(scenario.canaries, len(first_fails), tuple(first_fails))


def with_changes(scenario: Scenario, **changes: object) -> Scenario:
    return replace(scenario, **changes)  # type: ignore[arg-type]
