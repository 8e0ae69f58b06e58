"""Kayenta's summary score: its WeightedSumScorer followed by its threshold score classifier.

The rules, as Kayenta's NetflixACAJudge applies them (``docs/analysis.md`` ("Kayenta compatibility")):

* muted metrics take no part;
* per group, the percentage of Pass among the judged metrics (Pass, High, Low, and
  NoData of a metric that must have data); a group with none of these reports a
  group score of 0 but counts as 100 in the summary (no data is no evidence of harm);
* groups are weighted by ``group_weights`` (percent); the rest of 100 is shared
  equally by the groups without a weight; the sum is rounded to two decimals;
* a critical result that is not Pass scores 0; so does an analysis where 50% or
  more of the metrics are NoData;
* the score is Pass from ``pass_threshold``, Marginal from ``marginal_threshold``,
  Fail below.  Deliberate deviation: a critical failure is always Fail, even with
  a marginal threshold of 0 (Kayenta would call a score of 0 Marginal there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from canary.analysis.verdicts import Classification, ScoreVerdict

# Kayenta: "50% or more metrics returned NODATA" scores 0.
NO_DATA_PERCENT = 50.0
_JUDGED = (Classification.PASS, Classification.HIGH, Classification.LOW)


@dataclass(frozen=True)
class ScoredMetric:
    """One metric's result as the scorer sees it.

    ``critical`` is the result's critical flag (Kayenta's ``CanaryAnalysisResult.critical``,
    i.e. ``KayentaClassification.critical_deviation``), not the metric's configuration.
    ``data_required`` marks a NoData of a metric that must have data (Kayenta's
    NodataFailMetric): it counts against its group instead of as missing.
    """

    name: str
    classification: Classification
    groups: tuple[str, ...] = ("default",)
    critical: bool = False
    muted: bool = False
    data_required: bool = False

    @property
    def critical_failure(self) -> bool:
        # Kayenta: a critical result that is anything but Pass (NoData too) fails the canary.
        return self.critical and self.classification is not Classification.PASS

    @property
    def judged(self) -> bool:
        return self.classification in _JUDGED or (self.data_required and self.classification is Classification.NO_DATA)

    @property
    def no_data(self) -> bool:
        """Counts towards the 50% NoData rule (a required metric's NoData is a failure instead)."""
        return self.classification is Classification.NO_DATA and not self.data_required


@dataclass(frozen=True)
class ScoreResult:
    score: float
    group_scores: Mapping[str, float]
    critical_failure: bool
    verdict: ScoreVerdict
    no_data_groups: tuple[str, ...] = field(default=())
    too_much_no_data: bool = False


def _round2(value: float) -> float:
    """Two decimals, halves away from zero on the decimal representation (as Kayenta's Precision.round)."""
    return float(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _group_scores(metrics: Sequence[ScoredMetric]) -> tuple[dict[str, float], list[str]]:
    members: dict[str, list[ScoredMetric]] = {}
    for metric in metrics:
        for group in metric.groups:
            members.setdefault(group, []).append(metric)
    scores: dict[str, float] = {}
    no_data: list[str] = []
    for group, in_group in members.items():
        judged = [m for m in in_group if m.judged]
        if not judged:
            no_data.append(group)
            scores[group] = 0.0
            continue
        scores[group] = 100.0 * sum(m.classification is Classification.PASS for m in judged) / len(judged)
    return scores, no_data


def weighted_score(
    metrics: Sequence[ScoredMetric],
    group_weights: Mapping[str, float] | None = None,
    pass_threshold: float = 95.0,
    marginal_threshold: float = 75.0,
) -> ScoreResult:
    """Kayenta's WeightedSumScorer followed by its threshold score classifier."""
    counted = [m for m in metrics if not m.muted]
    weights = dict(group_weights or {})
    group_scores, no_data = _group_scores(counted)
    unweighted = [g for g in group_scores if g not in weights]
    share = (100.0 - sum(weights.values())) / len(unweighted) if unweighted else 0.0
    critical = any(m.critical_failure for m in counted)
    too_much_no_data = bool(counted) and 100.0 * sum(m.no_data for m in counted) / len(counted) >= NO_DATA_PERCENT
    if critical or too_much_no_data:
        score = 0.0
    else:
        effective = {g: 100.0 if g in no_data else s for g, s in group_scores.items()}
        score = _round2(sum(effective[g] * weights.get(g, share) / 100.0 for g in effective))
    if critical or score < marginal_threshold:
        verdict = ScoreVerdict.FAIL
    elif score < pass_threshold:
        verdict = ScoreVerdict.MARGINAL
    else:
        verdict = ScoreVerdict.PASS
    return ScoreResult(score, group_scores, critical, verdict, tuple(no_data), too_much_no_data)
