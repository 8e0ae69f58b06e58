"""Typed models of the CanaryRelease API, parsed once at the boundary.

`parse_canary(body)` turns a raw CanaryRelease object into a `ParsedCanary`: metadata, the spec (or the
`ParseError` that names the bad field, e.g. `spec.steps[2].weight`), the status and a pending manual action.
`status_to_dict` writes a status back in its API form. Durations are float seconds, parsed with the Release's
Go-style grammar (`30s`, `2m`, `1h30m`); timestamps are aware UTC datetimes.

The vocabulary (enums) and the status model live in `canary.domain.vocabulary` and
`canary.domain.status_model` and are re-exported here: import them from `canary.models`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from canary.domain.readers import (
    ParseError,
    read_bool,
    read_duration,
    read_int,
    read_mapping,
    read_sequence,
    read_string,
    read_time,
)
from canary.domain.status_model import (
    ANALYSIS_HISTORY_LIMIT,
    AnalysisRecord,
    CanaryStatus,
    Condition,
    MetricResult,
    parse_status,
    status_to_dict,
)
from canary.domain.vocabulary import Action, OnInconclusive, Phase, RouterType, Track, Verdict

__all__ = [
    "ACTION_ANNOTATION",
    "ANALYSIS_HISTORY_LIMIT",
    "CONSECUTIVE_ERROR_LIMIT",
    "Action",
    "ActionRequest",
    "AnalysisRecord",
    "AnalysisSpec",
    "CanaryMeta",
    "CanarySpec",
    "CanaryStatus",
    "Condition",
    "MetricRef",
    "MetricResult",
    "OnInconclusive",
    "ParseError",
    "ParsedCanary",
    "PauseStep",
    "Phase",
    "RouterSpec",
    "RouterType",
    "Step",
    "Track",
    "Verdict",
    "WeightStep",
    "parse_action",
    "parse_canary",
    "parse_meta",
    "parse_spec",
    "parse_status",
    "status_to_dict",
]

ACTION_ANNOTATION = "rudder.dev/action"
DEFAULT_PROGRESS_DEADLINE = 600.0
DEFAULT_ANALYSIS_INTERVAL = 30.0
DEFAULT_MAX_EXTENSIONS = 3
CONSECUTIVE_ERROR_LIMIT = 4  # Argo Rollouts' default for provider errors in a row
MAX_PROMETHEUS_TIMEOUT = 300.0  # a query that takes longer would hold a controller worker for minutes


@dataclass(frozen=True)
class WeightStep:
    """Hold `weight`% of traffic on the canary for at least `duration` seconds, analysing while holding."""

    weight: int
    duration: float = 0.0


@dataclass(frozen=True)
class PauseStep:
    """Wait for a manual resume or promote; with `duration`, resume by itself after that many seconds."""

    duration: float | None = None


Step = WeightStep | PauseStep


@dataclass(frozen=True)
class RouterSpec:
    """`spec.router`: the type and the object it drives (which field names it depends on the type)."""

    type: RouterType = RouterType.REPLICAS
    service: str | None = None
    ingress: str | None = None
    http_route: str | None = None
    virtual_service: str | None = None
    traffic_split: str | None = None


@dataclass(frozen=True)
class MetricRef:
    """One `spec.analysis.metrics[]` entry; `critical` None means "as the policy says"."""

    policy: str
    critical: bool | None = None
    weight: float | None = None
    args: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AnalysisSpec:
    interval: float = DEFAULT_ANALYSIS_INTERVAL
    prometheus_url: str | None = None
    metrics: tuple[MetricRef, ...] = ()
    prometheus_timeout: float | None = None  # None: the provider's default
    prometheus_headers_secret: str | None = None  # `prometheus.headersFrom.secretName`
    failure_limit: int = 1  # failed analyses tolerated: the next one rolls back (Argo's failureLimit)
    on_inconclusive: OnInconclusive = OnInconclusive.PAUSE
    max_extensions: int = DEFAULT_MAX_EXTENSIONS  # `extend` gives up (pauses) after this many extensions


@dataclass(frozen=True)
class CanarySpec:
    release: str
    steps: tuple[Step, ...]
    values: Mapping[str, Any] = field(default_factory=dict)
    workloads: tuple[str, ...] | None = None  # None: every Deployment of the Release
    baseline: bool = True
    router: RouterSpec = field(default_factory=RouterSpec)
    analysis: AnalysisSpec | None = None
    progress_deadline: float = DEFAULT_PROGRESS_DEADLINE
    auto_promote: bool = True


@dataclass(frozen=True)
class CanaryMeta:
    name: str
    namespace: str
    uid: str
    generation: int = 0
    created_at: datetime | None = None
    deleting: bool = False


@dataclass(frozen=True)
class ActionRequest:
    """A pending `rudder.dev/action` annotation; `action` is None when the value is not a known action."""

    raw: str
    action: Action | None


@dataclass(frozen=True)
class ParsedCanary:
    meta: CanaryMeta
    spec: CanarySpec | ParseError
    status: CanaryStatus
    action: ActionRequest | None


def parse_canary(body: Mapping[str, Any]) -> ParsedCanary:
    """Parse a whole CanaryRelease object. A bad spec is returned as data; bad metadata or status raise."""
    meta = parse_meta(read_mapping(body.get("metadata"), "metadata"))
    try:
        spec: CanarySpec | ParseError = parse_spec(read_mapping(body.get("spec"), "spec"))
    except ParseError as exc:
        spec = exc
    status = parse_status(read_mapping(body.get("status"), "status"))
    raw_meta = read_mapping(body.get("metadata"), "metadata")
    annotations = read_mapping(raw_meta.get("annotations"), "metadata.annotations")
    return ParsedCanary(meta=meta, spec=spec, status=status, action=parse_action(annotations))


def parse_meta(raw: Mapping[str, Any]) -> CanaryMeta:
    return CanaryMeta(
        name=read_string(raw.get("name"), "metadata.name", required=True),
        namespace=read_string(raw.get("namespace"), "metadata.namespace") or "default",
        uid=read_string(raw.get("uid"), "metadata.uid"),
        generation=read_int(raw.get("generation"), "metadata.generation", default=0),
        created_at=read_time(raw.get("creationTimestamp"), "metadata.creationTimestamp"),
        deleting=raw.get("deletionTimestamp") is not None,
    )


def parse_action(annotations: Mapping[str, Any]) -> ActionRequest | None:
    raw = annotations.get(ACTION_ANNOTATION)
    if raw is None:
        return None
    text = str(raw)
    try:
        action: Action | None = Action(text.strip().lower())
    except ValueError:
        action = None
    return ActionRequest(raw=text, action=action)


def parse_spec(raw: Mapping[str, Any]) -> CanarySpec:
    """Parse `spec`; the first problem raises a ParseError naming its field."""
    steps_raw = read_sequence(raw.get("steps"), "spec.steps")
    if not steps_raw:
        raise ParseError("spec.steps", "needs at least one step (a canary without steps is a plain upgrade)")
    workloads_raw = raw.get("workloads")
    workloads: tuple[str, ...] | None = None
    if workloads_raw is not None:
        items = read_sequence(workloads_raw, "spec.workloads")
        workloads = tuple(read_string(w, f"spec.workloads[{i}]", required=True) for i, w in enumerate(items))
        if not workloads:
            raise ParseError("spec.workloads", "must name at least one workload, or be omitted for all Deployments")
        if len(set(workloads)) != len(workloads):
            raise ParseError("spec.workloads", "names a workload twice")
    analysis_raw = raw.get("analysis")
    steps = tuple(_parse_step(s, f"spec.steps[{i}]") for i, s in enumerate(steps_raw))
    _check_weights(steps)
    progress_deadline = read_duration(raw.get("progressDeadline"), "spec.progressDeadline", DEFAULT_PROGRESS_DEADLINE)
    if progress_deadline <= 0:
        raise ParseError("spec.progressDeadline", "must be longer than 0s")
    return CanarySpec(
        release=read_string(raw.get("release"), "spec.release", required=True),
        steps=steps,
        values=read_mapping(raw.get("values"), "spec.values"),
        workloads=workloads,
        baseline=read_bool(raw.get("baseline"), "spec.baseline", default=True),
        router=_parse_router(read_mapping(raw.get("router"), "spec.router")),
        analysis=None if analysis_raw is None else _parse_analysis(read_mapping(analysis_raw, "spec.analysis")),
        progress_deadline=progress_deadline,
        auto_promote=read_bool(raw.get("autoPromote"), "spec.autoPromote", default=True),
    )


def _parse_step(raw: Any, path: str) -> Step:
    step = read_mapping(raw, path)
    has_weight, has_pause = "weight" in step, "pause" in step
    if has_weight == has_pause:
        raise ParseError(path, "a step is either {weight, duration} or {pause}")
    if has_pause:
        pause = read_mapping(step.get("pause"), f"{path}.pause")
        duration = pause.get("duration")
        return PauseStep(None if duration is None else read_duration(duration, f"{path}.pause.duration", 0.0))
    weight = read_int(step.get("weight"), f"{path}.weight", default=None, minimum=0, maximum=100)
    return WeightStep(weight=weight, duration=read_duration(step.get("duration"), f"{path}.duration", 0.0))


def _check_weights(steps: tuple[Step, ...]) -> None:
    """Weights only grow, and some step sends the canary traffic: a canary that never receives traffic,
    or whose traffic shrinks again before promotion, judges nothing that promotion would ship."""
    weighted = [(i, s.weight) for i, s in enumerate(steps) if isinstance(s, WeightStep)]
    if weighted and all(weight == 0 for _, weight in weighted):
        raise ParseError("spec.steps", "every weight step has weight 0: the canary would never receive traffic")
    for (_, before), (index, weight) in itertools.pairwise(weighted):
        if weight < before:
            raise ParseError(f"spec.steps[{index}].weight",
                             f"{weight} is lower than the previous weight step's {before}: weights must not decrease")


def _parse_router(raw: Mapping[str, Any]) -> RouterSpec:
    type_raw = raw.get("type", RouterType.REPLICAS.value)
    try:
        router_type = RouterType(type_raw)
    except ValueError:
        known = ", ".join(t.value for t in RouterType)
        raise ParseError("spec.router.type", f"unknown router {type_raw!r} (known: {known})") from None
    names = {key: read_string(raw.get(key), f"spec.router.{key}") or None for key in _ROUTER_TARGET_FIELDS}
    spec = RouterSpec(
        type=router_type,
        service=names["service"],
        ingress=names["ingress"],
        http_route=names["httpRoute"],
        virtual_service=names["virtualService"],
        traffic_split=names["trafficSplit"],
    )
    required = _REQUIRED_TARGET[router_type]
    if required is not None and names[required] is None:
        raise ParseError(f"spec.router.{required}", f"required by the {router_type.value} router")
    return spec


_ROUTER_TARGET_FIELDS = ("service", "ingress", "httpRoute", "virtualService", "trafficSplit")
# The object each router drives; replicas needs none (the primary Service already selects all tracks).
_REQUIRED_TARGET: Mapping[RouterType, str | None] = {
    RouterType.REPLICAS: None,
    RouterType.SERVICE: "service",
    RouterType.NGINX: "ingress",
    RouterType.GATEWAY_API: "httpRoute",
    RouterType.ISTIO: "virtualService",
    RouterType.SMI: "service",
}


def _parse_analysis(raw: Mapping[str, Any]) -> AnalysisSpec:
    metrics_raw = read_sequence(raw.get("metrics"), "spec.analysis.metrics")
    if not metrics_raw:
        raise ParseError("spec.analysis.metrics", "needs at least one metric policy")
    interval = read_duration(raw.get("interval"), "spec.analysis.interval", DEFAULT_ANALYSIS_INTERVAL)
    if interval < 1:
        # Analysis times are kept at whole seconds in status; a shorter interval could not be told apart.
        raise ParseError("spec.analysis.interval", "must be at least 1s")
    on_inconclusive_raw = raw.get("onInconclusive", OnInconclusive.PAUSE.value)
    try:
        on_inconclusive = OnInconclusive(on_inconclusive_raw)
    except ValueError:
        raise ParseError(
            "spec.analysis.onInconclusive", f"must be pause, rollback or extend, not {on_inconclusive_raw!r}"
        ) from None
    prometheus = read_mapping(raw.get("prometheus"), "spec.analysis.prometheus")
    metrics = tuple(_parse_metric(m, f"spec.analysis.metrics[{i}]") for i, m in enumerate(metrics_raw))
    first: dict[str, int] = {}
    for index, metric in enumerate(metrics):
        if metric.policy in first:
            where = f"spec.analysis.metrics[{first[metric.policy]}]"
            raise ParseError(f"spec.analysis.metrics[{index}].policy",
                             f"policy {metric.policy} is already listed at {where}")
        first[metric.policy] = index
    timeout = None
    if prometheus.get("timeout") is not None:
        timeout = read_duration(prometheus.get("timeout"), "spec.analysis.prometheus.timeout", 0.0)
        if not 0 < timeout <= MAX_PROMETHEUS_TIMEOUT:
            raise ParseError("spec.analysis.prometheus.timeout",
                             f"must be longer than 0s and at most {MAX_PROMETHEUS_TIMEOUT:g}s")
    headers_from = read_mapping(prometheus.get("headersFrom"), "spec.analysis.prometheus.headersFrom")
    headers_secret = read_string(headers_from.get("secretName"), "spec.analysis.prometheus.headersFrom.secretName",
                                 required="headersFrom" in prometheus)
    return AnalysisSpec(
        interval=interval,
        prometheus_url=read_string(prometheus.get("url"), "spec.analysis.prometheus.url") or None,
        prometheus_timeout=timeout,
        prometheus_headers_secret=headers_secret or None,
        metrics=metrics,
        failure_limit=read_int(raw.get("failureLimit"), "spec.analysis.failureLimit", default=1, minimum=0),
        on_inconclusive=on_inconclusive,
        max_extensions=read_int(
            raw.get("maxExtensions"), "spec.analysis.maxExtensions", default=DEFAULT_MAX_EXTENSIONS, minimum=0
        ),
    )


def _parse_metric(raw: Any, path: str) -> MetricRef:
    metric = read_mapping(raw, path)
    critical = metric.get("critical")
    weight = metric.get("weight")
    if weight is not None and (isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0):
        raise ParseError(f"{path}.weight", "must be a number >= 0")
    args = read_mapping(metric.get("args"), f"{path}.args")
    for key, value in args.items():
        if isinstance(value, Mapping | list):
            raise ParseError(f"{path}.args.{key}", "must be a scalar")
    return MetricRef(
        policy=read_string(metric.get("policy"), f"{path}.policy", required=True),
        critical=None if critical is None else read_bool(critical, f"{path}.critical", default=False),
        weight=None if weight is None else float(weight),
        args={str(k): _scalar_text(v) for k, v in args.items()},
    )


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
