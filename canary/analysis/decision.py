"""What one look can conclude about one metric: a regression, evidence of none, or neither.

The judge (``canary.analysis.judge``) tests at the look's alpha; this module holds
the rules that turn that alpha into the three statistical conclusions:

* **Significance** comes from the test statistic itself, one-sided in the policy's
  bad direction (``decision_p_value``): Mann-Whitney's U, Fisher's exact test, or
  the bootstrap.  ``direction: either`` is two one-sided tests at alpha / 2 each.
  Never the sign of an estimate: with ties or discrete data (counts, integer
  milliseconds) the Hodges-Lehmann estimate is 0 while U can show the shift.
* **Relevance** (the effect gate of a Fail): the estimated change must reach the
  tolerated one.  For distributions the relevance measure is the ratio of means,
  which stays informative for discrete data where a location shift is 0; rates use
  the absolute difference against the tolerated regression ``max((allowedIncrease
  - 1) * baseline rate, allowedAbsoluteIncrease)`` (default ``ERROR_RATE_FLOOR``); histogram quantiles their ratio.
* **Non-inferiority** (what a Pass needs): the one-sided bound at the look's alpha
  excludes the tolerated regression: Fieller's bound of the mean ratio below
  ``allowedIncrease``, Newcombe's bound of the rate difference below the tolerated
  regression, the bootstrap bound of the quantile ratio below ``allowedIncrease``.
  Decreases mirror with ``1 / allowedIncrease``.

The interval a verdict reports (``decision_interval``) is at the same level: for a
directional policy its two ends are each a one-sided ``1 - alpha`` bound, so a
significant increase never shows an interval reaching below 0 (ties aside: with
discrete data an end can sit exactly on 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from canary.analysis.evidence import MetricEvidence
from canary.analysis.hodges_lehmann import hodges_lehmann
from canary.analysis.normal import norm_isf
from canary.analysis.policy import MetricType, TestKind
from canary.analysis.proportions import newcombe_interval, tolerated_difference
from canary.analysis.verdicts import Direction


@dataclass(frozen=True)
class Interval:
    """An estimate with a two-sided interval; each end is a one-sided bound at ``(1 + confidence) / 2``."""

    estimate: float
    low: float
    high: float
    confidence: float


def side_alpha(direction: Direction, alpha: float) -> float:
    """The level of each one-sided test: alpha, or alpha / 2 per side for ``either``."""
    return alpha / 2.0 if direction is Direction.EITHER else alpha


def decision_p_value(evidence: MetricEvidence) -> float:
    """The p-value the decision compares with alpha: one-sided in the bad direction.

    ``either`` gives twice the smaller one-sided p-value (two one-sided tests at
    alpha / 2), which is what Holm's correction then adjusts.
    """
    greater = evidence.p_greater if evidence.p_greater is not None else 1.0
    less = evidence.p_less if evidence.p_less is not None else 1.0
    direction = evidence.policy.direction
    if direction is Direction.INCREASE:
        return greater
    if direction is Direction.DECREASE:
        return less
    return min(1.0, 2.0 * min(greater, less))


def significant_side(evidence: MetricEvidence) -> Direction:
    """Which way the decision p-value points (the policy's direction, or the smaller side)."""
    direction = evidence.policy.direction
    if direction is not Direction.EITHER:
        return direction
    greater = evidence.p_greater if evidence.p_greater is not None else 1.0
    less = evidence.p_less if evidence.p_less is not None else 1.0
    return Direction.INCREASE if greater <= less else Direction.DECREASE


def decision_interval(evidence: MetricEvidence, confidence: float) -> Interval | None:
    """The change canary - baseline with its interval at ``confidence`` (two-sided)."""
    policy = evidence.policy
    if policy.type is MetricType.RATIO and evidence.counts is not None:
        low, high = newcombe_interval(*evidence.counts, confidence)
        return Interval(evidence.estimate or 0.0, low, high, confidence)
    if policy.test is TestKind.QUANTILE and evidence.resampled is not None:
        canary, baseline = evidence.resampled
        tail = (1.0 - confidence) / 2.0
        low, high = np.quantile(canary - baseline, [tail, 1.0 - tail])
        return Interval(evidence.estimate or 0.0, float(low), float(high), confidence)
    if evidence.canary_sorted is not None and evidence.baseline_sorted is not None and evidence.rank_test:
        shift = hodges_lehmann(evidence.canary_sorted, evidence.baseline_sorted, evidence.rank_test, confidence)
        return Interval(shift.estimate, shift.ci_low, shift.ci_high, confidence)
    return None


def fieller_bounds(evidence: MetricEvidence, alpha: float) -> tuple[float, float]:
    """One-sided ``1 - alpha`` bounds of the ratio of means (Fieller); infinite when unbounded.

    Fieller's set {R : (mean_c - R mean_b)^2 <= z^2 (var_c / n + R^2 var_b / m)} holds for
    any distribution with a finite variance (counts included), needs no log of a zero
    mean, and its upper end is below A exactly when the non-inferiority test of
    ``mean_c - A mean_b < 0`` rejects at alpha.
    """
    mean_c, mean_b = evidence.canary, evidence.baseline
    var_c, var_b = evidence.canary_variance, evidence.baseline_variance
    if mean_c is None or mean_b is None or var_c is None or var_b is None:
        return -math.inf, math.inf
    z = norm_isf(alpha)
    v_c = var_c / max(evidence.canary_samples, 1)
    v_b = var_b / max(evidence.baseline_samples, 1)
    a = mean_b * mean_b - z * z * v_b
    b = mean_c * mean_b
    c = mean_c * mean_c - z * z * v_c
    discriminant = b * b - a * c
    if a <= 0.0 or mean_b <= 0.0 or discriminant < 0.0:
        return -math.inf, math.inf  # the baseline mean is not distinguishable from 0
    root = math.sqrt(discriminant)
    return (b - root) / a, (b + root) / a


def quantile_ratio_bounds(evidence: MetricEvidence, alpha: float) -> tuple[float, float]:
    """One-sided ``1 - alpha`` bootstrap bounds of the quantile ratio canary / baseline."""
    if evidence.resampled is None:
        return -math.inf, math.inf
    canary, baseline = evidence.resampled
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(baseline > 0, canary / baseline, np.where(canary > baseline, math.inf, 1.0))
    low, high = np.quantile(ratios, [alpha, 1.0 - alpha])
    return float(low), float(high)


@dataclass(frozen=True)
class Bounds:
    """What the data exclude, at the look's one-sided level, and the tolerance it is held against."""

    low: float  # lower bound of the effect (ratio) or of the rate difference
    high: float
    tolerated_up: float  # allowedIncrease, or the tolerated rise of a rate
    tolerated_down: float  # 1 / allowedIncrease, or minus the tolerated fall of a rate
    on_difference: bool  # rates: the bounds are of canary rate - baseline rate


def effect_bounds(evidence: MetricEvidence, alpha: float) -> Bounds:
    """One-sided bounds at ``alpha`` of the relevance measure, with the tolerated change."""
    policy = evidence.policy
    if policy.type is MetricType.RATIO and evidence.counts is not None:
        low, high = newcombe_interval(*evidence.counts, 1.0 - 2.0 * alpha)
        rate = evidence.baseline or 0.0
        up = tolerated_difference(rate, policy.allowed_increase, True, policy.allowed_absolute_increase)
        down = tolerated_difference(rate, policy.allowed_increase, False, policy.allowed_absolute_increase)
        return Bounds(low, high, up, -down, True)
    if policy.test is TestKind.QUANTILE:
        low, high = quantile_ratio_bounds(evidence, alpha)
    else:
        low, high = fieller_bounds(evidence, alpha)
    return Bounds(low, high, policy.allowed_increase, policy.allowed_decrease, False)


def relevant(evidence: MetricEvidence, side: Direction) -> bool:
    """Whether the estimated change reaches the tolerated one (the effect gate of a Fail)."""
    policy = evidence.policy
    if policy.type is MetricType.RATIO and evidence.estimate is not None:
        rate = evidence.baseline or 0.0
        floor = policy.allowed_absolute_increase
        if side is Direction.INCREASE:
            return evidence.estimate >= tolerated_difference(rate, policy.allowed_increase, True, floor)
        return -evidence.estimate >= tolerated_difference(rate, policy.allowed_increase, False, floor)
    effect = evidence.effect if evidence.effect is not None else 1.0
    # One pod on a side: pod-to-pod spread is not estimable, so the change must exceed the tolerated one
    # twice over (its square) before a difference between two pods is called a regression.
    power = 2.0 if evidence.single_pod else 1.0
    if side is Direction.INCREASE:
        return effect >= float(policy.allowed_increase**power)
    return effect <= float(policy.allowed_decrease**power)


def excludes_regression(bounds: Bounds, direction: Direction) -> bool:
    """Non-inferiority: the bounds exclude every tolerated-or-worse change in the bad direction(s)."""
    up_ok = bounds.high < bounds.tolerated_up
    down_ok = bounds.low > bounds.tolerated_down
    if direction is Direction.INCREASE:
        return up_ok
    if direction is Direction.DECREASE:
        return down_ok
    return up_ok and down_ok
