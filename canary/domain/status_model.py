"""The CanaryRelease status model: its types, `parse_status` and `status_to_dict`, in one place so that the
API form and the typed form cannot drift apart. Re-exported by `canary.models`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from canary.domain.readers import (
    ParseError,
    format_precise_time,
    format_time,
    read_int,
    read_mapping,
    read_optional_float,
    read_optional_int,
    read_sequence,
    read_string,
    read_time,
)
from canary.domain.vocabulary import Phase, Verdict

ANALYSIS_HISTORY_LIMIT = 30  # the CRD caps status.analysis at 100 items; 30 keeps status objects small


@dataclass(frozen=True)
class Condition:
    type: str
    status: str  # "True" | "False" | "Unknown", as Kubernetes conditions spell it
    reason: str = ""
    message: str = ""
    last_transition_time: datetime | None = None


@dataclass(frozen=True)
class MetricResult:
    """The judge's explanation for one metric. `verdict` is the judge's own word (Pass, High, Low, NoData,
    Error), kept as written because the judge owns that vocabulary."""

    name: str
    verdict: str
    canary: float | None = None
    baseline: float | None = None
    p_value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    effect: float | None = None
    samples: Mapping[str, int] = field(default_factory=dict)
    query: str = ""
    message: str = ""


@dataclass(frozen=True)
class AnalysisRecord:
    """One entry of `status.analysis` (bounded, newest last)."""

    time: datetime
    step: int
    weight: int
    verdict: Verdict
    metrics: tuple[MetricResult, ...] = ()
    # When the judge produced this verdict (millisecond precision): how long the verdict took to reach status.
    judged_at: datetime | None = None


@dataclass(frozen=True)
class CanaryStatus:
    """`status`, the controller's only memory: everything needed to resume after a restart lives here."""

    phase: Phase = Phase.PENDING
    observed_generation: int | None = None
    stable_revision: int | None = None
    promoted_revision: int | None = None
    step: int = 0
    weight: int = 0
    verdict: Verdict | None = None
    message: str = ""
    failures: int = 0
    extensions: int = 0
    # Start of the current step; in Paused, Promoting and RollingBack, start of that phase (for deadlines).
    step_started_at: datetime | None = None
    last_analysis_at: datetime | None = None
    copies_created_at: datetime | None = None
    paused_reason: str = ""
    last_action: str = ""
    conditions: tuple[Condition, ...] = ()
    analysis: tuple[AnalysisRecord, ...] = ()

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)


def parse_status(raw: Mapping[str, Any]) -> CanaryStatus:
    """Parse `status` (written by this controller; an empty or missing status is a fresh Pending canary)."""
    phase_raw = raw.get("phase") or Phase.PENDING.value
    try:
        phase = Phase(phase_raw)
    except ValueError:
        raise ParseError("status.phase", f"unknown phase {phase_raw!r}") from None
    return CanaryStatus(
        phase=phase,
        observed_generation=read_optional_int(raw.get("observedGeneration"), "status.observedGeneration"),
        stable_revision=read_optional_int(raw.get("stableRevision"), "status.stableRevision"),
        promoted_revision=read_optional_int(raw.get("promotedRevision"), "status.promotedRevision"),
        step=read_int(raw.get("step"), "status.step", default=0, minimum=0),
        weight=read_int(raw.get("weight"), "status.weight", default=0, minimum=0, maximum=100),
        verdict=_verdict(raw.get("verdict"), "status.verdict"),
        message=read_string(raw.get("message"), "status.message"),
        failures=read_int(raw.get("failures"), "status.failures", default=0, minimum=0),
        extensions=read_int(raw.get("extensions"), "status.extensions", default=0, minimum=0),
        step_started_at=read_time(raw.get("stepStartedAt"), "status.stepStartedAt"),
        last_analysis_at=read_time(raw.get("lastAnalysisAt"), "status.lastAnalysisAt"),
        copies_created_at=read_time(raw.get("copiesCreatedAt"), "status.copiesCreatedAt"),
        paused_reason=read_string(raw.get("pausedReason"), "status.pausedReason"),
        last_action=read_string(raw.get("lastAction"), "status.lastAction"),
        conditions=tuple(
            _parse_condition(c, f"status.conditions[{i}]")
            for i, c in enumerate(read_sequence(raw.get("conditions"), "status.conditions"))
        ),
        analysis=tuple(
            _parse_record(r, f"status.analysis[{i}]")
            for i, r in enumerate(read_sequence(raw.get("analysis"), "status.analysis"))
        ),
    )


def _parse_condition(raw: Any, path: str) -> Condition:
    c = read_mapping(raw, path)
    return Condition(
        type=read_string(c.get("type"), f"{path}.type", required=True),
        status=read_string(c.get("status"), f"{path}.status") or "Unknown",
        reason=read_string(c.get("reason"), f"{path}.reason"),
        message=read_string(c.get("message"), f"{path}.message"),
        last_transition_time=read_time(c.get("lastTransitionTime"), f"{path}.lastTransitionTime"),
    )


def _parse_record(raw: Any, path: str) -> AnalysisRecord:
    r = read_mapping(raw, path)
    time = read_time(r.get("time"), f"{path}.time")
    verdict = _verdict(r.get("verdict"), f"{path}.verdict")
    if time is None or verdict is None:
        raise ParseError(path, "needs time and verdict")
    metrics = read_sequence(r.get("metrics"), f"{path}.metrics")
    return AnalysisRecord(
        time=time,
        step=read_int(r.get("step"), f"{path}.step", default=0, minimum=0),
        weight=read_int(r.get("weight"), f"{path}.weight", default=0, minimum=0, maximum=100),
        verdict=verdict,
        metrics=tuple(_parse_metric_result(m, f"{path}.metrics[{i}]") for i, m in enumerate(metrics)),
        judged_at=read_time(r.get("judgedAt"), f"{path}.judgedAt"),
    )


def _parse_metric_result(raw: Any, path: str) -> MetricResult:
    m = read_mapping(raw, path)
    numbers = {key: read_optional_float(m.get(key), f"{path}.{key}") for key in _METRIC_NUMBERS}
    samples = read_mapping(m.get("samples"), f"{path}.samples")
    return MetricResult(
        name=read_string(m.get("name"), f"{path}.name"),
        verdict=read_string(m.get("verdict"), f"{path}.verdict"),
        canary=numbers["canary"],
        baseline=numbers["baseline"],
        p_value=numbers["pValue"],
        ci_low=numbers["ciLow"],
        ci_high=numbers["ciHigh"],
        effect=numbers["effect"],
        samples={str(k): read_int(v, f"{path}.samples.{k}", default=0) for k, v in samples.items()},
        query=read_string(m.get("query"), f"{path}.query"),
        message=read_string(m.get("message"), f"{path}.message"),
    )


_METRIC_NUMBERS = ("canary", "baseline", "pValue", "ciLow", "ciHigh", "effect")


def _verdict(raw: Any, path: str) -> Verdict | None:
    if raw in (None, ""):
        return None
    try:
        return Verdict(raw)
    except ValueError:
        raise ParseError(path, f"unknown verdict {raw!r}") from None


def status_to_dict(status: CanaryStatus) -> dict[str, Any]:
    """The API form of the status, for the status subresource (None values clear a field in a merge patch)."""
    return {
        "phase": status.phase.value,
        "observedGeneration": status.observed_generation,
        "stableRevision": status.stable_revision,
        "promotedRevision": status.promoted_revision,
        "step": status.step,
        "weight": status.weight,
        "verdict": status.verdict.value if status.verdict else None,
        "message": status.message,
        "failures": status.failures,
        "extensions": status.extensions,
        "stepStartedAt": format_time(status.step_started_at),
        "lastAnalysisAt": format_time(status.last_analysis_at),
        "copiesCreatedAt": format_time(status.copies_created_at),
        "pausedReason": status.paused_reason,
        "lastAction": status.last_action,
        "conditions": [
            {
                "type": c.type,
                "status": c.status,
                "reason": c.reason,
                "message": c.message,
                "lastTransitionTime": format_time(c.last_transition_time),
            }
            for c in status.conditions
        ],
        "analysis": [_record_dict(r) for r in status.analysis],
    }


def _record_dict(record: AnalysisRecord) -> dict[str, Any]:
    return {
        "time": format_time(record.time),
        "step": record.step,
        "weight": record.weight,
        "verdict": record.verdict.value,
        "metrics": [
            {
                "name": m.name,
                "verdict": m.verdict,
                "canary": m.canary,
                "baseline": m.baseline,
                "pValue": m.p_value,
                "ciLow": m.ci_low,
                "ciHigh": m.ci_high,
                "effect": m.effect,
                "samples": dict(m.samples),
                "query": m.query,
                "message": m.message,
            }
            for m in record.metrics
        ],
        **({"judgedAt": format_precise_time(record.judged_at)} if record.judged_at else {}),
    }
