"""Kayenta-compatible preprocessing, classification and scoring.

Teams moving from Kayenta's NetflixACAJudge get the same classification on the
same data when they use ``classify`` with Kayenta's settings (the defaults here):

* NaN values are removed (``remove``) or replaced by zero (``replace``);
* optional IQR outlier removal (Tukey fences, Kayenta's judge uses factor 3);
* empty data on either side is NoData; identical data, or a single distinct value
  across both sides, is Pass;
* the Mann-Whitney confidence interval (98% by default) of the Hodges-Lehmann shift
  is compared with +/- ``tolerance`` * |estimate|; High needs the interval's lower
  end above that bound and the effect size (mean ratio, or CLES) at or above
  ``allowed_increase``; Low mirrors it; the direction limits which of the two may
  be reported;
* a High/Low whose effect passes ``critical_increase``/``critical_decrease`` on a
  critical metric is a critical deviation, which fails the whole canary;
* the score is Kayenta's weighted sum: per group, the percentage of Pass among
  Pass/High/Low metrics; groups weighted by ``group_weights`` (percent), the
  remainder shared by unweighted groups; any critical failure scores 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

import numpy as np
from numpy.typing import NDArray

from canary.analysis.effects import mean_ratio
from canary.analysis.hodges_lehmann import ShiftInterval, hodges_lehmann
from canary.analysis.ranksum import RankSumTest, rank_sum_test
from canary.analysis.verdicts import Classification, Direction, ScoreVerdict

FloatArray = NDArray[np.float64]


class NaNStrategy(Enum):
    REMOVE = "remove"
    REPLACE = "replace"


class EffectMeasure(Enum):
    MEAN_RATIO = "meanRatio"
    CLES = "cles"


def clean(values: NDArray[np.floating], strategy: NaNStrategy) -> FloatArray:
    """Drop NaNs, or replace them with zero as Kayenta's ``replace`` strategy does."""
    array = np.asarray(values, dtype=np.float64)
    nan = np.isnan(array)
    if strategy is NaNStrategy.REMOVE:
        return array[~nan]
    return np.where(nan, 0.0, array)


def remove_outliers(values: FloatArray, factor: float = 3.0) -> FloatArray:
    """Drop values outside [Q1 - factor*IQR, Q3 + factor*IQR]."""
    if len(values) < 4:
        return values
    q1, q3 = np.percentile(values, [25.0, 75.0])
    spread = q3 - q1
    keep = (values >= q1 - factor * spread) & (values <= q3 + factor * spread)
    kept: FloatArray = values[keep]
    return kept


@dataclass(frozen=True)
class KayentaSettings:
    direction: Direction = Direction.EITHER
    confidence: float = 0.98
    tolerance: float = 0.25
    allowed_increase: float = 1.0
    allowed_decrease: float = 1.0
    critical_increase: float | None = None
    critical_decrease: float | None = None
    effect_measure: EffectMeasure = EffectMeasure.MEAN_RATIO
    nan_strategy: NaNStrategy = NaNStrategy.REMOVE
    outlier_factor: float | None = None  # None keeps outliers
    critical: bool = False


@dataclass(frozen=True)
class KayentaClassification:
    classification: Classification
    reason: str
    effect: float
    critical_deviation: bool
    test: RankSumTest | None = None
    shift: ShiftInterval | None = None


def _prepare(values: NDArray[np.floating], settings: KayentaSettings) -> FloatArray:
    cleaned = clean(values, settings.nan_strategy)
    if settings.outlier_factor is not None:
        cleaned = remove_outliers(cleaned, settings.outlier_factor)
    return np.sort(cleaned)


def classify(
    canary: NDArray[np.floating], baseline: NDArray[np.floating], settings: KayentaSettings
) -> KayentaClassification:
    """Classify canary against baseline as High, Low, Pass or NoData, as Kayenta does."""
    experiment = _prepare(canary, settings)
    control = _prepare(baseline, settings)
    if len(experiment) == 0 or len(control) == 0:
        return KayentaClassification(Classification.NO_DATA, "missing data for canary or baseline", 1.0, False)
    if len(experiment) == len(control) and np.array_equal(experiment, control):
        return KayentaClassification(Classification.PASS, "canary and baseline data are identical", 1.0, False)
    if np.unique(np.concatenate((experiment, control))).size == 1:
        return KayentaClassification(Classification.PASS, "a single distinct value on both sides", 1.0, False)
    test = rank_sum_test(experiment, control)
    shift = hodges_lehmann(experiment, control, test, settings.confidence)
    effect = test.cles if settings.effect_measure is EffectMeasure.CLES else mean_ratio(experiment, control)
    bound = settings.tolerance * abs(shift.estimate)
    high = (
        settings.direction in (Direction.INCREASE, Direction.EITHER)
        and shift.ci_low > bound
        and effect >= settings.allowed_increase
    )
    low = (
        settings.direction in (Direction.DECREASE, Direction.EITHER)
        and shift.ci_high < -bound
        and effect <= settings.allowed_decrease
    )
    if high:
        critical = settings.critical and (settings.critical_increase is None or effect >= settings.critical_increase)
        return KayentaClassification(
            Classification.HIGH,
            f"interval [{shift.ci_low:.6g}, {shift.ci_high:.6g}] above +{bound:.6g}",
            effect,
            critical,
            test,
            shift,
        )
    if low:
        critical = settings.critical and (settings.critical_decrease is None or effect <= settings.critical_decrease)
        return KayentaClassification(
            Classification.LOW,
            f"interval [{shift.ci_low:.6g}, {shift.ci_high:.6g}] below -{bound:.6g}",
            effect,
            critical,
            test,
            shift,
        )
    return KayentaClassification(Classification.PASS, "no significant deviation", effect, False, test, shift)


@dataclass(frozen=True)
class ScoredMetric:
    name: str
    classification: Classification
    groups: tuple[str, ...] = ("default",)
    critical: bool = False

    @property
    def critical_failure(self) -> bool:
        # Kayenta: a critical metric that is anything but Pass (NoData too) fails the canary.
        return self.critical and self.classification is not Classification.PASS


@dataclass(frozen=True)
class ScoreResult:
    score: float
    group_scores: Mapping[str, float]
    critical_failure: bool
    verdict: ScoreVerdict
    no_data_groups: tuple[str, ...] = field(default=())


def weighted_score(
    metrics: Sequence[ScoredMetric],
    group_weights: Mapping[str, float] | None = None,
    pass_threshold: float = 95.0,
    marginal_threshold: float = 75.0,
) -> ScoreResult:
    """Kayenta's WeightedSumScorer followed by its threshold score classifier."""
    weights = dict(group_weights or {})
    labels: dict[str, list[Classification]] = {}
    for metric in metrics:
        for group in metric.groups:
            labels.setdefault(group, []).append(metric.classification)
    group_scores: dict[str, float] = {}
    no_data: list[str] = []
    for group, classes in labels.items():
        judged = [c for c in classes if c in (Classification.PASS, Classification.HIGH, Classification.LOW)]
        if not judged:
            no_data.append(group)
            group_scores[group] = 0.0
            continue
        group_scores[group] = 100.0 * sum(c is Classification.PASS for c in judged) / len(judged)
    unweighted = [g for g in group_scores if g not in weights]
    share = (100.0 - sum(weights.values())) / len(unweighted) if unweighted else 0.0
    score = sum(group_scores[g] * weights.get(g, share) / 100.0 for g in group_scores if g not in no_data)
    critical = any(m.critical_failure for m in metrics)
    if critical:
        score = 0.0
    if critical or score < marginal_threshold:
        verdict = ScoreVerdict.FAIL
    elif score < pass_threshold:
        verdict = ScoreVerdict.MARGINAL
    else:
        verdict = ScoreVerdict.PASS
    return ScoreResult(score, group_scores, critical, verdict, tuple(no_data))
