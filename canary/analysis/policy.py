"""MetricPolicy / ClusterMetricPolicy objects parsed once into frozen, typed models.

The raw object (as read from the API or a YAML file) is validated here and never
travels further: the judge only sees ``MetricPolicy``.  Errors name the field.

Which queries a policy needs follows from its type and test:

=============  ============  ====================================================
type           test          queries
=============  ============  ====================================================
ratio          proportion    ``errors``, ``total`` (counter increases, one value)
ratio          threshold     ``errors``, ``total``; the canary's rate vs threshold
distribution   mann-whitney  ``samples`` (a range query; every point is a sample)
distribution   quantile      ``buckets`` (``sum by (le)`` of bucket increases) and
                             ``quantile``; bootstrap comparison of the quantile
threshold      threshold     ``value`` (the canary's single value)
=============  ============  ====================================================

``quantile`` as a *test* is an extension the CRD's enum does not list yet; the
library in ``policies/`` only uses the combinations the CRD accepts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from canary.analysis.kayenta import NaNStrategy
from canary.analysis.threshold import Threshold
from canary.analysis.verdicts import Direction

API_VERSION = "rudder.dev/v1alpha1"
# The CRD's default tolerance: a canary up to 10% worse than its baseline is not a
# regression.  1.0 would tolerate nothing: with enough traffic any real but harmless
# difference (1% at 200k samples) fails, and no data could ever show non-inferiority.
DEFAULT_ALLOWED_INCREASE = 1.1
KINDS = ("MetricPolicy", "ClusterMetricPolicy")


class PolicyError(ValueError):
    """A policy object is invalid; the message names the object and the field."""


class MetricType(Enum):
    RATIO = "ratio"
    DISTRIBUTION = "distribution"
    THRESHOLD = "threshold"


class TestKind(Enum):
    __test__ = False  # not a pytest test class, despite the name

    PROPORTION = "proportion"
    MANN_WHITNEY = "mann-whitney"
    THRESHOLD = "threshold"
    QUANTILE = "quantile"


REQUIRED_QUERIES: Mapping[tuple[MetricType, TestKind], tuple[str, ...]] = MappingProxyType(
    {
        (MetricType.RATIO, TestKind.PROPORTION): ("errors", "total"),
        (MetricType.RATIO, TestKind.THRESHOLD): ("errors", "total"),
        (MetricType.DISTRIBUTION, TestKind.MANN_WHITNEY): ("samples",),
        (MetricType.DISTRIBUTION, TestKind.QUANTILE): ("buckets",),
        (MetricType.THRESHOLD, TestKind.THRESHOLD): ("value",),
    }
)


@dataclass(frozen=True)
class MetricPolicy:
    """One metric policy's spec, typed; defaults are the CRD's."""

    name: str
    type: MetricType
    test: TestKind
    queries: Mapping[str, str]
    kind: str = "ClusterMetricPolicy"
    namespace: str | None = None
    description: str = ""
    direction: Direction = Direction.INCREASE
    allowed_increase: float = DEFAULT_ALLOWED_INCREASE
    critical_increase: float | None = None
    # Ratio policies: the tolerated rise of the rate whatever the baseline (None: ERROR_RATE_FLOOR).
    allowed_absolute_increase: float | None = None
    threshold: Threshold = field(default_factory=Threshold)
    confidence: float = 0.98
    min_samples: int = 50
    critical: bool = False
    quantile: float | None = None
    nan_strategy: NaNStrategy = NaNStrategy.REMOVE
    remove_outliers: bool = False
    group: str = "default"
    weight: float | None = None

    @property
    def alpha(self) -> float:
        return 1.0 - self.confidence

    @property
    def allowed_decrease(self) -> float:
        """The tolerance mirrored for decreases: 1.25x up tolerates 0.8x down."""
        return 1.0 / self.allowed_increase if self.allowed_increase > 0 else 0.0


def _enum(cls: type[Enum], value: object, where: str) -> Any:
    try:
        return cls(value)
    except ValueError:
        allowed = " | ".join(str(member.value) for member in cls)
        raise PolicyError(f"{where}: {value!r} is not one of {allowed}") from None


def _flag(spec: Mapping[str, Any], key: str, where: str) -> bool:
    # YAML's "false" in quotes is a string; bool("false") would read it as true.
    value = spec.get(key, False)
    if not isinstance(value, bool):
        raise PolicyError(f"{where}.{key}: expected true or false, got {value!r}")
    return value


def _number(spec: Mapping[str, Any], key: str, where: str, default: float | None) -> float | None:
    value = spec.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PolicyError(f"{where}.{key}: expected a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond a float's range
        raise PolicyError(f"{where}.{key}: {str(value)[:20]}... is out of range") from None
    if not math.isfinite(number):
        raise PolicyError(f"{where}.{key}: expected a finite number, got {value!r}")
    return number


def _queries(spec: Mapping[str, Any], where: str) -> Mapping[str, str]:
    queries = spec.get("queries")
    if not isinstance(queries, Mapping) or not queries:
        raise PolicyError(f"{where}.queries: expected a non-empty mapping of name to PromQL template")
    for key, text in queries.items():
        if not isinstance(text, str) or not text.strip():
            raise PolicyError(f"{where}.queries.{key}: expected a non-empty PromQL template")
    return MappingProxyType(dict(queries))


def _threshold(spec: Mapping[str, Any], where: str) -> Threshold:
    raw = spec.get("threshold") or {}
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where}.threshold: expected a mapping with min and/or max")
    try:
        return Threshold(
            _number(raw, "min", f"{where}.threshold", None), _number(raw, "max", f"{where}.threshold", None)
        )
    except ValueError as error:
        raise PolicyError(f"{where}.threshold: {error}") from None


def parse_policy(obj: Mapping[str, Any]) -> MetricPolicy:
    """Validate a MetricPolicy or ClusterMetricPolicy object and return its model."""
    kind = obj.get("kind")
    metadata = obj.get("metadata") or {}
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    if kind not in KINDS:
        raise PolicyError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if obj.get("apiVersion") != API_VERSION:
        raise PolicyError(f"{kind} {name}: apiVersion must be {API_VERSION}, got {obj.get('apiVersion')!r}")
    if not isinstance(name, str) or not name:
        raise PolicyError(f"{kind}: metadata.name is required")
    where = f"{kind} {name}: spec"
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        raise PolicyError(f"{where}: missing")
    if "type" not in spec or "test" not in spec:
        raise PolicyError(f"{where}: type and test are required")
    metric_type = _enum(MetricType, spec["type"], f"{where}.type")
    test = _enum(TestKind, spec["test"], f"{where}.test")
    needed = REQUIRED_QUERIES.get((metric_type, test))
    if needed is None:
        raise PolicyError(f"{where}: test {test.value!r} does not apply to type {metric_type.value!r}")
    queries = _queries(spec, where)
    missing = [q for q in needed if q not in queries]
    if missing:
        raise PolicyError(f"{where}.queries: {metric_type.value}/{test.value} needs {', '.join(missing)}")
    confidence = _number(spec, "confidence", where, 0.98)
    assert confidence is not None
    if not 0.0 < confidence < 1.0:
        raise PolicyError(f"{where}.confidence: {confidence} outside (0, 1)")
    quantile = _number(spec, "quantile", where, None)
    if quantile is not None and not 0.0 < quantile < 1.0:
        raise PolicyError(f"{where}.quantile: {quantile} outside (0, 1)")
    if test is TestKind.QUANTILE and quantile is None:
        raise PolicyError(f"{where}.quantile: required by the quantile test")
    threshold = _threshold(spec, where)
    if test is TestKind.THRESHOLD and not threshold.is_set:
        raise PolicyError(f"{where}.threshold: the threshold test needs min and/or max")
    allowed = _number(spec, "allowedIncrease", where, DEFAULT_ALLOWED_INCREASE)
    min_samples = spec.get("minSamples", 50)
    if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 1:
        raise PolicyError(f"{where}.minSamples: expected an integer >= 1, got {min_samples!r}")
    if allowed is None or allowed <= 0:
        raise PolicyError(f"{where}.allowedIncrease: must be positive")
    absolute = _number(spec, "allowedAbsoluteIncrease", where, None)
    if absolute is not None and not 0.0 <= absolute < 1.0:
        raise PolicyError(f"{where}.allowedAbsoluteIncrease: {absolute} outside [0, 1) (a rate)")
    return MetricPolicy(
        name=name,
        kind=str(kind),
        namespace=metadata.get("namespace") if kind == "MetricPolicy" else None,
        description=str(spec.get("description", "")),
        type=metric_type,
        test=test,
        queries=queries,
        direction=_enum(Direction, spec.get("direction", "increase"), f"{where}.direction"),
        allowed_increase=allowed,
        critical_increase=_number(spec, "criticalIncrease", where, None),
        allowed_absolute_increase=absolute,
        threshold=threshold,
        confidence=confidence,
        min_samples=min_samples,
        critical=_flag(spec, "critical", where),
        quantile=quantile,
        nan_strategy=_enum(NaNStrategy, spec.get("nanStrategy", "remove"), f"{where}.nanStrategy"),
        remove_outliers=_flag(spec, "removeOutliers", where),
        group=str(spec.get("group", "default")),
        weight=_number(spec, "weight", where, None),
    )


def load_policies(path: str | Path) -> list[MetricPolicy]:
    """Every policy in a YAML file (multi-document) or in the ``*.yaml`` files of a directory.

    Documents of other kinds (a ``Kustomization`` listing the library, say) are skipped;
    a policy object that is invalid is an error naming the file.
    """
    target = Path(path)
    files = sorted(target.glob("*.yaml")) if target.is_dir() else [target]
    policies: list[MetricPolicy] = []
    for file in files:
        try:
            documents = list(yaml.safe_load_all(file.read_text()))
        except yaml.YAMLError as error:
            raise PolicyError(f"{file}: not valid YAML: {error}") from None
        for document in documents:
            if document is None:
                continue
            if not isinstance(document, Mapping):
                raise PolicyError(f"{file}: expected policy objects, got {type(document).__name__}")
            if document.get("kind") not in KINDS:
                continue
            try:
                policies.append(parse_policy(document))
            except PolicyError as error:
                raise PolicyError(f"{file}: {error}") from None
    return policies
