"""Decide verdicts from evidence: sequential alpha, Holm across metrics, explanations.

For one analysis (one look of one canary) the judge

1. gives each statistical metric the look's share of its alpha (``Look``);
2. Holm-adjusts the decision p-values of all statistical metrics of the analysis
   together: one-sided in the policy's bad direction, from the test statistic
   itself (``canary.analysis.decision``), so ties and discrete data are judged by
   the test, not by the sign of an estimate;
3. decides each metric with the rules of ``canary.analysis.decision``:

   * **Fail** (High, or Low for ``decrease``): at least ``minSamples`` on each side,
     the adjusted p-value at or below the look's alpha, and the estimated change
     reaching the tolerated one (``allowedIncrease``: the mean ratio, the rate rise
     over the tolerated one, the quantile ratio); a ratio's canary rate above
     ``threshold.max`` also fails; threshold policies fail outside their bounds;
   * **Pass**: enough samples and the one-sided bound at the look's alpha excludes
     the tolerated regression (non-inferiority), whatever the test says;
   * **Inconclusive** otherwise, with the samples per side a decision needs;

4. aggregates: any Fail fails the analysis (a Fail of a critical metric is also a
   ``critical_failure``, which should abort the canary at once), then Error, then
   NoData, then Inconclusive; otherwise Pass.  A Kayenta-style score is reported
   alongside.

The interval a result reports is at the level the look decided at (each end a
one-sided bound at the look's alpha), and every result carries its numbers and a
one-line reason saying what was decided, so nobody has to guess why a canary was
rolled back or held.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from canary.analysis.decision import (
    Bounds,
    Interval,
    decision_interval,
    decision_p_value,
    effect_bounds,
    excludes_regression,
    relevant,
    side_alpha,
    significant_side,
)
from canary.analysis.evidence import MetricEvidence, finite_or_none
from canary.analysis.holm import holm_adjust
from canary.analysis.kayenta import ScoredMetric, weighted_score
from canary.analysis.measurements import MeasurementStatus
from canary.analysis.policy import MetricType, TestKind
from canary.analysis.power import distribution_samples_to_decide, proportion_samples_to_decide
from canary.analysis.sequential import Look
from canary.analysis.threshold import check_threshold
from canary.analysis.verdicts import Classification, Direction, Verdict

__all__ = ["AnalysisResult", "Look", "MetricResult", "decision_p_value", "judge_analysis", "judge_metric"]

_AGGREGATE_ORDER = (Verdict.FAIL, Verdict.ERROR, Verdict.NO_DATA, Verdict.INCONCLUSIVE)
_TEST_NAMES = {
    TestKind.MANN_WHITNEY: "Mann-Whitney",
    TestKind.PROPORTION: "Fisher's exact",
    TestKind.QUANTILE: "bootstrap",
}


@dataclass(frozen=True)
class MetricResult:
    """The verdict of one metric with everything that explains it."""

    evidence: MetricEvidence
    verdict: Verdict
    classification: Classification
    alpha: float | None  # the level this look tested at
    adjusted_p_value: float | None  # Holm-adjusted across the analysis
    samples_needed: int | None
    critical: bool
    reason: str
    interval: Interval | None = None  # the change with its interval at the decision's level
    bounds: Bounds | None = None  # one-sided bounds of the relevance measure at the look's alpha
    decision_p_value: float | None = None  # one-sided in the bad direction, before Holm

    @property
    def name(self) -> str:
        return self.evidence.name

    def to_status(self) -> dict[str, Any]:
        """The CanaryRelease ``status.analysis[].metrics[]`` entry (CRD field names)."""
        e = self.evidence
        samples = {"canary": e.canary_samples}
        if e.policy.type is not MetricType.THRESHOLD:
            samples["baseline"] = e.baseline_samples
        return {
            "name": e.name,
            "verdict": self.verdict.value,
            "canary": finite_or_none(e.canary),
            "baseline": finite_or_none(e.baseline),
            "pValue": finite_or_none(e.p_value),
            "ciLow": finite_or_none(self.interval.low if self.interval else e.ci_low),
            "ciHigh": finite_or_none(self.interval.high if self.interval else e.ci_high),
            "effect": finite_or_none(e.effect),
            "samples": samples,
            "query": e.query,
            "message": self.reason,
        }

    def to_dict(self) -> dict[str, Any]:
        """Full explanation (status fields plus classification, estimate, alpha and more)."""
        e = self.evidence
        out = self.to_status()
        bounds = self.bounds
        out.update(
            classification=self.classification.value,
            estimate=finite_or_none(self.interval.estimate if self.interval else e.estimate),
            intervalConfidence=self.interval.confidence if self.interval else None,
            cles=finite_or_none(e.cles),
            decisionPValue=finite_or_none(self.decision_p_value),
            adjustedPValue=finite_or_none(self.adjusted_p_value),
            alpha=self.alpha,
            boundLow=finite_or_none(bounds.low) if bounds else None,
            boundHigh=finite_or_none(bounds.high) if bounds else None,
            boundsOf="rate difference" if bounds and bounds.on_difference else ("effect" if bounds else None),
            toleratedUp=finite_or_none(bounds.tolerated_up) if bounds else None,
            toleratedDown=finite_or_none(bounds.tolerated_down) if bounds else None,
            samplesNeeded=self.samples_needed,
            critical=self.critical,
            effectInfinite=e.effect is not None and e.effect == float("inf"),
        )
        return out


@dataclass(frozen=True)
class AnalysisResult:
    verdict: Verdict
    metrics: tuple[MetricResult, ...]
    critical_failure: bool
    score: float
    look: int

    def to_status(self) -> dict[str, Any]:
        """``verdict`` and ``metrics`` of a ``status.analysis`` entry (the controller adds time, step...)."""
        return {"verdict": self.verdict.value, "metrics": [m.to_status() for m in self.metrics]}


def _samples_needed(evidence: MetricEvidence, alpha: float) -> int | None:
    """Samples per side for a decision with 80% power at the look's one-sided level."""
    policy = evidence.policy
    if policy.type is MetricType.RATIO and evidence.baseline is not None:
        rate = max(evidence.baseline, 0.0)
        floor = policy.allowed_absolute_increase
        return proportion_samples_to_decide(rate, policy.allowed_increase, alpha, floor=floor)
    if evidence.baseline_sorted is not None:
        return distribution_samples_to_decide(evidence.baseline_sorted, policy.allowed_increase, alpha)
    return None


def _threshold(evidence: MetricEvidence) -> tuple[Classification, str, bool]:
    policy = evidence.policy
    value = evidence.canary
    assert value is not None
    check = check_threshold(value, policy.threshold)
    if check.above_max:
        return Classification.HIGH, f"{value:.6g} is above the maximum {policy.threshold.max:g}", True
    if check.below_min:
        return Classification.LOW, f"{value:.6g} is below the minimum {policy.threshold.min:g}", True
    if not check.passed:
        return Classification.HIGH, f"{value} is not a number", True
    return Classification.PASS, f"{value:.6g} is within the threshold", False


def _percent(confidence: float) -> str:
    return f"{100.0 * confidence:.4g}%"


def _effect_text(evidence: MetricEvidence, bounds: Bounds, level: str) -> str:
    """The relevance measure with its one-sided bounds and the tolerated change, in words."""
    policy = evidence.policy
    if bounds.on_difference:
        return (
            f"error rate {evidence.canary:.4g} vs {evidence.baseline:.4g}: difference {evidence.estimate:+.4g}, "
            f"{level} bounds [{bounds.low:+.4g}, {bounds.high:+.4g}], tolerated "
            f"[{bounds.tolerated_down:+.4g}, {bounds.tolerated_up:+.4g}]"
        )
    measure = "quantile ratio" if policy.test is TestKind.QUANTILE else "mean ratio"
    effect = evidence.effect if evidence.effect is not None else float("nan")
    return (
        f"{measure} {effect:.4g}x, {level} bounds [{bounds.low:.4g}x, {bounds.high:.4g}x], tolerated "
        f"[{bounds.tolerated_down:.4g}x, {bounds.tolerated_up:.4g}x]"
    )


def _pods_text(evidence: MetricEvidence) -> str:
    """How the pods entered the decision (distributions whose points come in series, one per pod)."""
    pods = evidence.pods
    if pods is None:
        return ""
    counts = f"{pods.clusters_canary} canary and {pods.clusters_baseline} baseline series (pods)"
    if pods.single_pod:
        gate = evidence.policy.allowed_increase**2
        return (f"; {counts}: with one series on a side (one pod, or a query adding the pods up) pod-to-pod "
                f"spread cannot be estimated, so a Fail needs the change to reach allowedIncrease squared "
                f"({gate:.4g}x); run at least 2 pods per side, queried per pod, for the pod-robust test")
    return f"; {counts}: the pod is the unit (clustered rank-sum test, pod-robust variance of the means)"


SMALLEST_BOUND_LEVEL = 1e-12


def _decide_statistical(
    evidence: MetricEvidence, adjusted: float, alpha: float
) -> tuple[Verdict, Classification, str, Interval | None, Bounds]:
    policy = evidence.policy
    # The intervals and bounds are at the look's one-sided level, floored where it underflows: O'Brien-Fleming-type
    # spending gives a canary's first looks about 1e-20, and an interval at confidence 1 - 2e-20 == 1.0 does not
    # exist.  The test itself still compares with the look's alpha.
    one_sided = max(side_alpha(policy.direction, alpha), SMALLEST_BOUND_LEVEL)
    interval = decision_interval(evidence, 1.0 - 2.0 * one_sided)
    bounds = effect_bounds(evidence, one_sided)
    side = significant_side(evidence)
    word = "increase" if side is Direction.INCREASE else "decrease"
    test = _TEST_NAMES.get(policy.test, policy.test.value)
    level = f"one-sided {_percent(1.0 - one_sided)}"
    kind = "one-sided p" if policy.direction is not Direction.EITHER else "p (two one-sided tests: twice the smaller)"
    significance = (
        f"{test} {kind} for an {word} {decision_p_value(evidence):.3g}, Holm-adjusted {adjusted:.3g}, "
        f"vs alpha {alpha:.3g}"
    )
    shown = ""
    if interval and not bounds.on_difference:
        what = "quantile difference" if policy.test is TestKind.QUANTILE else "Hodges-Lehmann shift"
        shown = (
            f"; {what} {interval.estimate:+.4g} in [{interval.low:.4g}, {interval.high:.4g}] "
            f"({_percent(interval.confidence)} two-sided: each end a {level} bound)"
        )
    details = f"{significance}; {_effect_text(evidence, bounds, level)}{shown}{_pods_text(evidence)}"
    if adjusted <= alpha and relevant(evidence, side):
        classification = Classification.HIGH if side is Direction.INCREASE else Classification.LOW
        reason = f"Fail: significant {word} reaching the tolerated change: {details}"
        return Verdict.FAIL, classification, reason, interval, bounds
    if excludes_regression(bounds, policy.direction):
        reason = f"Pass: the {level} bound excludes the tolerated regression: {details}"
        return Verdict.PASS, Classification.PASS, reason, interval, bounds
    if adjusted <= alpha:
        what = f"significant {word} below the tolerated change, but the data do not exclude a tolerated-or-worse one"
    else:
        what = "no significant regression, but the data do not exclude the tolerated one yet"
    return Verdict.INCONCLUSIVE, Classification.PASS, f"Inconclusive: {what}: {details}", interval, bounds


def _decide(evidence: MetricEvidence, adjusted: float | None, look: Look, critical: bool) -> MetricResult:
    policy = evidence.policy
    if evidence.status is not MeasurementStatus.OK:
        classification = Classification.ERROR if evidence.status is MeasurementStatus.ERROR else Classification.NO_DATA
        verdict = Verdict.ERROR if evidence.status is MeasurementStatus.ERROR else Verdict.NO_DATA
        return MetricResult(evidence, verdict, classification, None, None, None, critical, evidence.message)
    if policy.test is TestKind.THRESHOLD:
        classification, reason, bad = _threshold(evidence)
        verdict = Verdict.FAIL if bad else Verdict.PASS
        return MetricResult(evidence, verdict, classification, None, None, None, critical, reason)
    alpha = look.alpha(policy.alpha)
    limit = policy.threshold.max
    interval: Interval | None = None
    bounds: Bounds | None = None
    if policy.type is MetricType.RATIO and limit is not None and (evidence.canary or 0.0) > limit:
        verdict, classification = Verdict.FAIL, Classification.HIGH
        reason = f"canary rate {evidence.canary:.4g} is above the maximum {limit:g}"
    else:
        assert adjusted is not None  # every OK statistical metric was tested
        verdict, classification, reason, interval, bounds = _decide_statistical(evidence, adjusted, alpha)
    needed = None
    if evidence.samples < policy.min_samples:
        # Too little data decides nothing, a Fail no more than a Pass.
        needed = max(policy.min_samples, _samples_needed(evidence, side_alpha(policy.direction, alpha)) or 0)
        kept = "" if verdict is not Verdict.FAIL else "would fail, but "
        reason = (
            f"{kept}{evidence.samples} samples on the smaller side, {needed} needed "
            f"(minSamples {policy.min_samples}); {reason}"
        )
        verdict, classification = Verdict.INCONCLUSIVE, Classification.PASS
    elif verdict is Verdict.INCONCLUSIVE:
        needed = _samples_needed(evidence, side_alpha(policy.direction, alpha))
        if needed is not None:
            needed = max(needed, policy.min_samples)
            reason = f"{reason}; about {needed} samples per side needed for 80% power, {evidence.samples} now"
    decision = decision_p_value(evidence) if adjusted is not None else None
    return MetricResult(
        evidence, verdict, classification, alpha, adjusted, needed, critical, reason, interval, bounds, decision
    )


def judge_analysis(
    evidence: Sequence[MetricEvidence],
    look: Look | None = None,
    critical: Sequence[bool] | None = None,
) -> AnalysisResult:
    """Verdicts for all metrics of one analysis and the analysis verdict.

    ``critical`` overrides the policies' ``critical`` per metric (the CanaryRelease's
    ``metrics[].critical``); by default each policy's own flag applies.
    """
    look = look or Look()
    flags = list(critical) if critical is not None else [e.policy.critical for e in evidence]
    tested = [
        i
        for i, e in enumerate(evidence)
        if e.status is MeasurementStatus.OK and e.p_value is not None and e.policy.test is not TestKind.THRESHOLD
    ]
    adjusted_values = holm_adjust([decision_p_value(evidence[i]) for i in tested])
    adjusted = dict(zip(tested, adjusted_values, strict=True))
    results = tuple(_decide(e, adjusted.get(i), look, flags[i]) for i, e in enumerate(evidence))
    critical_failure = any(r.critical and r.verdict is Verdict.FAIL for r in results)
    verdict = next((v for v in _AGGREGATE_ORDER if any(r.verdict is v for r in results)), Verdict.PASS)
    weights = {
        r.evidence.policy.group: r.evidence.policy.weight for r in results if r.evidence.policy.weight is not None
    }
    scored = [
        ScoredMetric(
            r.name,
            r.classification if r.verdict is not Verdict.PASS else Classification.PASS,
            (r.evidence.policy.group,),
            r.critical and r.verdict is Verdict.FAIL,
        )
        for r in results
    ]
    score = weighted_score(scored, {g: w for g, w in weights.items() if w is not None}).score if results else 100.0
    return AnalysisResult(verdict, results, critical_failure, score, look.number)


def judge_metric(evidence: MetricEvidence, look: Look | None = None) -> MetricResult:
    """One metric judged on its own (no Holm correction): the offline judge's entry point."""
    return judge_analysis([evidence], look).metrics[0]
