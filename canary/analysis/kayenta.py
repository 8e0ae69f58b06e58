"""Kayenta-compatible preprocessing and classification (NetflixACAJudge's MannWhitneyClassifier).

Teams moving from Kayenta get Kayenta's classification on the same data when they
use ``classify`` with Kayenta's settings (the defaults here).  The rules, and every
deliberate deviation, are listed in ``docs/analysis.md`` ("Kayenta compatibility"):

* NaN values are removed (``remove``) or replaced by zero (``replace``);
* optional outlier removal with Kayenta's judge fences: Tukey's at ``factor`` IQR,
  widened to the 1st and 99th percentiles when those lie further out, so a slow
  tail of a few percent is kept and judged, not deleted;
* an empty side is NoData (critical on a critical metric) under ``remove``, Pass
  under ``replace``; identical data, or one distinct value across both sides, Pass;
* High when the rank-sum test of a shift of ``+tolerance * |estimate|`` rejects
  upwards at ``1 - confidence`` (two-sided, normal approximation with tie and
  continuity corrections, as Kayenta's interval is computed), i.e. the interval's
  lower end lies above that bound, and the effect (mean ratio, or CLES) reaches
  ``allowed_increase``; Low mirrored; the direction limits which may be reported.
  A mean ratio is undefined (NaN) when either mean is 0, and is then not checked;
* a High/Low of a critical metric whose effect passes ``critical_increase`` /
  ``critical_decrease`` is a critical deviation, which fails the whole canary.

The score lives in ``canary.analysis.kayenta_score`` (re-exported here).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from enum import Enum

import numpy as np
from numpy.typing import NDArray

from canary.analysis.hodges_lehmann import ShiftInterval, hodges_lehmann
from canary.analysis.kayenta_score import ScoredMetric, ScoreResult, weighted_score
from canary.analysis.normal import norm_isf
from canary.analysis.ranksum import RankSumTest, count_below, rank_sum_test
from canary.analysis.verdicts import Classification, Direction

__all__ = [
    "EffectMeasure",
    "KayentaClassification",
    "KayentaSettings",
    "NaNStrategy",
    "ScoreResult",
    "ScoredMetric",
    "classify",
    "clean",
    "remove_outliers",
    "weighted_score",
]

FloatArray = NDArray[np.float64]


class NaNStrategy(Enum):
    REMOVE = "remove"
    REPLACE = "replace"


class EffectMeasure(Enum):
    MEAN_RATIO = "meanRatio"
    CLES = "cles"

    @property
    def neutral(self) -> float:
        """Kayenta's default allowed and critical effect for the measure: no change."""
        return 0.5 if self is EffectMeasure.CLES else 1.0


def clean(values: NDArray[np.floating], strategy: NaNStrategy) -> FloatArray:
    """Drop NaNs, or replace them with zero as Kayenta's ``replace`` strategy does."""
    array = np.asarray(values, dtype=np.float64)
    nan = np.isnan(array)
    if strategy is NaNStrategy.REMOVE:
        return array[~nan]
    return np.where(nan, 0.0, array)


def remove_outliers(values: FloatArray, factor: float = 3.0, *, guard: bool = True) -> FloatArray:
    """Drop values outside Kayenta's fences.

    Tukey's fences [Q1 - factor*IQR, Q3 + factor*IQR]; with ``guard`` (Kayenta's
    judge always sets it: "reduce sensitivity") each fence moves out to the 1st or
    99th percentile when that lies beyond it, so at most about 1% per side is ever
    removed.  Percentiles interpolate linearly (R-7, as Kayenta's).
    """
    if len(values) == 0:
        return values
    kept: FloatArray = values[outlier_mask(values, factor, guard=guard)]
    return kept


def outlier_mask(values: FloatArray, factor: float = 3.0, *, guard: bool = True) -> NDArray[np.bool_]:
    """Which values ``remove_outliers`` keeps."""
    if len(values) == 0:
        return np.ones(0, dtype=bool)
    p01, q1, q3, p99 = np.percentile(values, [1.0, 25.0, 75.0, 99.0])
    spread = q3 - q1
    low, high = q1 - factor * spread, q3 + factor * spread
    if guard:
        low, high = min(low, p01), max(high, p99)
    mask: NDArray[np.bool_] = (values >= low) & (values <= high)
    return mask


@dataclass(frozen=True)
class KayentaSettings:
    """A metric's Kayenta configuration; None effects mean Kayenta's default for the measure (1.0, CLES 0.5)."""

    direction: Direction = Direction.EITHER
    confidence: float = 0.98
    tolerance: float = 0.25
    allowed_increase: float | None = None
    allowed_decrease: float | None = None
    critical_increase: float | None = None
    critical_decrease: float | None = None
    effect_measure: EffectMeasure = EffectMeasure.MEAN_RATIO
    nan_strategy: NaNStrategy = NaNStrategy.REMOVE
    outlier_factor: float | None = None  # None keeps outliers
    critical: bool = False
    must_have_data: bool = False

    def effect(self, value: float | None) -> float:
        return self.effect_measure.neutral if value is None else value


@dataclass(frozen=True)
class KayentaClassification:
    classification: Classification
    reason: str
    effect: float  # the configured effect measure (NaN when a mean ratio is undefined)
    critical_deviation: bool
    test: RankSumTest | None = None
    shift: ShiftInterval | None = None
    deviation: float = 1.0  # Kayenta's reported mean ratio, NaN when either mean is 0
    data_required: bool = False  # NoData of a metric that must have data (Kayenta's NodataFailMetric)

    def scored(self, name: str, groups: tuple[str, ...] = ("default",)) -> ScoredMetric:
        """This result as the scorer takes it."""
        return ScoredMetric(name, self.classification, groups, self.critical_deviation, False, self.data_required)


def kayenta_mean_ratio(canary: FloatArray, baseline: FloatArray) -> float:
    """Mean of canary over mean of baseline; NaN when either mean is 0 (Kayenta's convention)."""
    canary_mean, baseline_mean = float(np.mean(canary)), float(np.mean(baseline))
    if canary_mean == 0.0 or baseline_mean == 0.0:
        return math.nan
    return canary_mean / baseline_mean


def shifted_z(canary_sorted: FloatArray, baseline_sorted: FloatArray, shift: float, *, untied: bool = False) -> float:
    """Standardised rank-sum statistic of (canary - shift) against baseline.

    Mid-ranks for ties, the pooled tie correction of the variance and a continuity
    correction of one half towards zero: the function whose roots are Kayenta's
    (and R's asymptotic) interval ends.  ``untied`` drops the tie correction, as
    Kayenta's tiny Gaussian noise does when each side holds a single value.
    """
    moved = canary_sorted - shift if shift else canary_sorted
    below, equal = count_below(moved, baseline_sorted)
    n, m = len(canary_sorted), len(baseline_sorted)
    deviation = float(below.sum()) + 0.5 * equal - n * m / 2.0
    pooled = n + m
    ties = 0.0
    if not untied:
        _, counts = np.unique(np.concatenate((moved, baseline_sorted)), return_counts=True)
        ties = float(np.sum(counts.astype(np.float64) ** 3 - counts))
    variance = n * m / 12.0 * ((pooled + 1) - ties / (pooled * (pooled - 1)))
    if variance <= 0.0:
        return 0.0
    return (deviation - math.copysign(0.5, deviation) if deviation else 0.0) / math.sqrt(variance)


def _prepare(values: NDArray[np.floating], settings: KayentaSettings) -> FloatArray:
    cleaned = clean(values, settings.nan_strategy)
    if settings.outlier_factor is not None:
        cleaned = remove_outliers(cleaned, settings.outlier_factor)
    return np.sort(cleaned)


def _interval(shift: ShiftInterval) -> str:
    return f"interval [{shift.ci_low:.6g}, {shift.ci_high:.6g}] around {shift.estimate:.6g}"


def _no_data(settings: KayentaSettings) -> KayentaClassification:
    if settings.nan_strategy is NaNStrategy.REPLACE:
        # Kayenta: with NaNs replaced by 0 an empty side is not missing data; it passes.
        return KayentaClassification(
            Classification.PASS, "no data for canary or baseline (nanStrategy replace)", 1.0, False
        )
    reason = "missing data for canary or baseline"
    if settings.must_have_data and not settings.critical:
        return KayentaClassification(Classification.NO_DATA, reason, 1.0, False, data_required=True)
    return KayentaClassification(Classification.NO_DATA, reason, 1.0, settings.critical)


def classify(
    canary: NDArray[np.floating], baseline: NDArray[np.floating], settings: KayentaSettings
) -> KayentaClassification:
    """Classify canary against baseline as High, Low, Pass or NoData, as Kayenta does."""
    experiment = _prepare(canary, settings)
    control = _prepare(baseline, settings)
    if len(experiment) == 0 or len(control) == 0:
        return _no_data(settings)
    if len(experiment) == len(control) and np.array_equal(experiment, control):
        return KayentaClassification(Classification.PASS, "canary and baseline data are identical", 1.0, False)
    if experiment[0] == experiment[-1] == control[0] == control[-1]:
        return KayentaClassification(Classification.PASS, "a single distinct value on both sides", 1.0, False)
    # Kayenta's interval is always the normal approximation (no exact small-sample case).
    test = rank_sum_test(experiment, control)
    shift = hodges_lehmann(experiment, control, dataclasses.replace(test, exact=False), settings.confidence)
    deviation = kayenta_mean_ratio(experiment, control)
    effect = test.cles if settings.effect_measure is EffectMeasure.CLES else deviation
    bound = settings.tolerance * abs(shift.estimate)
    critical_z = norm_isf((1.0 - settings.confidence) / 2.0)
    untied = experiment[0] == experiment[-1] and control[0] == control[-1]
    unchecked = math.isnan(effect)  # Kayenta ignores an effect it cannot compute
    if settings.direction in (Direction.INCREASE, Direction.EITHER):
        z = shifted_z(experiment, control, bound, untied=untied)
        if z > critical_z and (unchecked or effect >= settings.effect(settings.allowed_increase)):
            critical = settings.critical and (unchecked or effect >= settings.effect(settings.critical_increase))
            reason = f"rank-sum z {z:.4g} at shift +{bound:.6g} above {critical_z:.4g}; {_interval(shift)}"
            return KayentaClassification(Classification.HIGH, reason, effect, critical, test, shift, deviation)
    if settings.direction in (Direction.DECREASE, Direction.EITHER):
        z = shifted_z(experiment, control, -bound, untied=untied)
        if z < -critical_z and (unchecked or effect <= settings.effect(settings.allowed_decrease)):
            critical = settings.critical and (unchecked or effect <= settings.effect(settings.critical_decrease))
            reason = f"rank-sum z {z:.4g} at shift -{bound:.6g} below -{critical_z:.4g}; {_interval(shift)}"
            return KayentaClassification(Classification.LOW, reason, effect, critical, test, shift, deviation)
    return KayentaClassification(Classification.PASS, "no significant deviation", effect, False, test, shift, deviation)
