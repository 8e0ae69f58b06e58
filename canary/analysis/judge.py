"""Decide verdicts from evidence: sequential alpha, Holm across metrics, explanations.

For one analysis (one look of one canary) the judge

1. gives each statistical metric the look's share of its alpha (``SequentialPlan``);
2. Holm-adjusts the decision p-values of all statistical metrics of the analysis
   together (one-sided in the bad direction for directional policies);
3. classifies each metric (Pass | High | Low | NoData | Error): High needs a
   significant adjusted p-value, a positive estimate, an effect at or above
   ``allowedIncrease`` and a direction that makes increases bad; Low mirrors it;
   a ratio's canary rate above ``threshold.max`` is High whatever the test says;
4. turns classifications into verdicts (Pass | Fail | Inconclusive | NoData |
   Error): a bad classification fails; fewer than ``minSamples`` samples on a side
   is Inconclusive, with the samples needed for 80% power to see the policy's
   effect;
5. aggregates: any Fail fails the analysis (a Fail of a critical metric is also a
   ``critical_failure``, which should abort the canary at once), then Error, then
   NoData, then Inconclusive; otherwise Pass.  A Kayenta-style score is reported
   alongside.

Every result carries its numbers and a one-line reason, so nobody has to guess
why a canary was rolled back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from canary.analysis.evidence import MetricEvidence, finite_or_none
from canary.analysis.holm import holm_adjust
from canary.analysis.kayenta import ScoredMetric, weighted_score
from canary.analysis.measurements import MeasurementStatus
from canary.analysis.policy import MetricType, TestKind
from canary.analysis.power import proportion_samples_needed, rank_sum_samples_needed
from canary.analysis.sequential import Look
from canary.analysis.threshold import check_threshold
from canary.analysis.verdicts import Classification, Direction, Verdict

# Effect to size samples for when the policy tolerates none (allowedIncrease <= 1).
DEFAULT_DETECTABLE_RATIO = 1.2
_AGGREGATE_ORDER = (Verdict.FAIL, Verdict.ERROR, Verdict.NO_DATA, Verdict.INCONCLUSIVE)


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
            "ciLow": finite_or_none(e.ci_low),
            "ciHigh": finite_or_none(e.ci_high),
            "effect": finite_or_none(e.effect),
            "samples": samples,
            "query": e.query,
            "message": self.reason,
        }

    def to_dict(self) -> dict[str, Any]:
        """Full explanation (status fields plus classification, estimate, alpha and more)."""
        e = self.evidence
        out = self.to_status()
        out.update(
            classification=self.classification.value,
            estimate=finite_or_none(e.estimate),
            cles=finite_or_none(e.cles),
            adjustedPValue=finite_or_none(self.adjusted_p_value),
            alpha=self.alpha,
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


def decision_p_value(evidence: MetricEvidence) -> float:
    """The p-value the decision uses: one-sided in the bad direction for directional policies.

    The reported ``pValue`` is two-sided (as R and scipy print it).  A policy that
    only fears increases would otherwise test at alpha/2 in the direction it cares
    about; halving the two-sided p when the estimate points the bad way (and
    reading 1 - p/2 when it points the harmless way) makes the false-fail rate
    alpha, as configured.
    """
    p = evidence.p_value if evidence.p_value is not None else 1.0
    estimate = evidence.estimate or 0.0
    direction = evidence.policy.direction
    if direction is Direction.EITHER:
        return p
    bad = estimate > 0 if direction is Direction.INCREASE else estimate < 0
    return p / 2.0 if bad else 1.0 - p / 2.0


def _samples_needed(evidence: MetricEvidence, alpha: float) -> int | None:
    policy = evidence.policy
    ratio = policy.allowed_increase if policy.allowed_increase > 1.0 else DEFAULT_DETECTABLE_RATIO
    # The size formulas take a two-sided alpha; a directional decision is one-sided.
    alpha = alpha if policy.direction is Direction.EITHER else min(2.0 * alpha, 0.999)
    if policy.type is MetricType.RATIO and evidence.baseline is not None:
        baseline_rate = evidence.baseline if evidence.baseline > 0 else 1.0 / max(evidence.baseline_samples, 1)
        return proportion_samples_needed(baseline_rate, ratio, alpha)
    if evidence.baseline_sorted is not None:
        return rank_sum_samples_needed(evidence.baseline_sorted, ratio, alpha)
    return None


def _classify(evidence: MetricEvidence, adjusted: float | None, alpha: float) -> tuple[Classification, str, bool]:
    """Classification, reason, and whether it is a failure (absolute bounds fail in any direction)."""
    policy = evidence.policy
    if policy.test is TestKind.THRESHOLD:
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
    limit = policy.threshold.max
    if policy.type is MetricType.RATIO and limit is not None and (evidence.canary or 0.0) > limit:
        return (
            Classification.HIGH,
            f"canary rate {evidence.canary:.4g} is above the maximum {limit:g}",
            True,
        )
    assert adjusted is not None
    assert evidence.estimate is not None
    assert evidence.effect is not None
    significant = adjusted <= alpha
    detail = (
        f"estimate {evidence.estimate:+.4g} in [{evidence.ci_low:.4g}, {evidence.ci_high:.4g}], "
        f"effect {evidence.effect:.4g}x, p={evidence.p_value:.3g} (decision p, Holm-adjusted: {adjusted:.3g}) "
        f"vs alpha {alpha:.3g}"
    )
    increase = evidence.estimate > 0 and evidence.effect >= policy.allowed_increase
    decrease = evidence.estimate < 0 and evidence.effect <= policy.allowed_decrease
    if significant and increase and policy.direction.flags(Classification.HIGH):
        return Classification.HIGH, f"significant increase: {detail}", True
    if significant and decrease and policy.direction.flags(Classification.LOW):
        return Classification.LOW, f"significant decrease: {detail}", True
    if significant:
        return (
            Classification.PASS,
            f"significant change within tolerance or in the harmless direction: {detail}",
            False,
        )
    return Classification.PASS, f"no significant change: {detail}", False


def _decide(evidence: MetricEvidence, adjusted: float | None, look: Look, critical: bool) -> MetricResult:
    policy = evidence.policy
    if evidence.status is not MeasurementStatus.OK:
        classification = Classification.ERROR if evidence.status is MeasurementStatus.ERROR else Classification.NO_DATA
        verdict = Verdict.ERROR if evidence.status is MeasurementStatus.ERROR else Verdict.NO_DATA
        return MetricResult(evidence, verdict, classification, None, None, None, critical, evidence.message)
    alpha = look.alpha(policy.alpha)
    classification, reason, bad = _classify(evidence, adjusted, alpha)
    needed = _samples_needed(evidence, alpha) if policy.test is not TestKind.THRESHOLD else None
    if bad:
        verdict = Verdict.FAIL
    elif policy.test is not TestKind.THRESHOLD and evidence.samples < policy.min_samples:
        verdict = Verdict.INCONCLUSIVE
        wanted = max(policy.min_samples, needed or 0)
        reason = f"{evidence.samples} samples on the smaller side, {wanted} needed; {reason}"
    else:
        verdict = Verdict.PASS
    return MetricResult(evidence, verdict, classification, alpha, adjusted, needed, critical, reason)


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
