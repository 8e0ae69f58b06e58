"""Runs one analysis (a `RunAnalysis` action) in three parts, so that the waiting can happen off the
reconcile path (canary/kube/looks.py):

1. `plan_look`: load the metric policies and render their queries for the canary and baseline tracks
   (API reads only, no metric query);
2. measure every query of the plan through the metric provider (`measure_query`; the look pool runs them
   concurrently, `run_analysis` one after another);
3. `finish_look`: judge the measurements with the same code as `kubectl canary judge`.

Provider failures become Error measurements, never exceptions.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from canary.analysis import (
    Measurement,
    MetricEvidence,
    MetricPolicy,
    Observation,
    PolicyError,
    QueryContext,
    Track,
    evaluate_metric,
    judge_analysis,
    parse_policy,
    render_queries,
)
from canary.analysis import RenderError as QueryRenderError
from canary.analysis.measurements import MeasurementStatus
from canary.analysis.policy import MetricType, TestKind
from canary.analysis.sampling import sample_grid
from canary.domain.actions import RunAnalysis
from canary.domain.fork import ForkedWorkload
from canary.domain.labels import pod_name_regex
from canary.domain.observed import AnalysisOutcome
from canary.kube.metrics import ANALYSIS_SECONDS, VERDICTS
from canary.kube.prometheus import ProviderSetupError, provider_for
from canary.models import AnalysisRecord, CanarySpec, MetricResult, Verdict
from canary.models import Track as DomainTrack
from canary.providers import MetricProvider, QueryWindow, measure
from canary.providers.access import PrometheusAccess
from canary.providers.prometheus import PrometheusProvider
from rudder.kube.client import Kube, KubeError, Ref
from rudder.models import API_VERSION

TRACK = {"canary": Track.CANARY, "baseline": Track.BASELINE, "primary": Track.PRIMARY}
SIDES = ("canary", "baseline")


@dataclass(frozen=True)
class PolicyLookup:
    """A policy found for a metric reference, or why not."""

    policy: MetricPolicy | None
    problem: str = ""


@dataclass(frozen=True)
class Query:
    """One measurement a look needs: a rendered query over its window (None: an instant query)."""

    text: str
    window: QueryWindow | None


@dataclass(frozen=True)
class MetricPlan:
    """One metric (of one workload) of a look: its queries per side and query name, or why it cannot be
    measured (`problem`: an Error for this metric, nothing queried)."""

    policy: MetricPolicy
    critical: bool
    sides: Mapping[str, Mapping[str, Query]] = field(default_factory=dict)
    problem: str = ""


@dataclass(frozen=True)
class LookPlan:
    """Everything one look measures and how its measurements are judged."""

    action: RunAnalysis
    provider: MetricProvider | None
    metrics: tuple[MetricPlan, ...]
    problems: tuple[str, ...] = ()
    timeout: float | None = None  # the provider's per-request timeout: each query's whole budget
    started: float = field(default_factory=time.monotonic)

    def queries(self) -> tuple[Query, ...]:
        """The distinct queries to measure, in plan order."""
        seen: dict[Query, None] = {}
        for metric in self.metrics:
            for named in metric.sides.values():
                seen.update(dict.fromkeys(named.values()))
        return tuple(seen)


def find_policy(kube: Kube, namespace: str, name: str) -> PolicyLookup:
    """MetricPolicy in the namespace, else ClusterMetricPolicy (the contract's lookup order)."""
    for kind, ns in (("MetricPolicy", namespace), ("ClusterMetricPolicy", None)):
        try:
            obj = kube.get(Ref(API_VERSION, kind, name, ns))
        except KubeError as err:
            if not err.forbidden:
                raise
            continue  # a namespaced install may not read cluster-scoped policies: the message says so below
        if obj is not None:
            try:
                return PolicyLookup(parse_policy(obj))
            except PolicyError as err:
                return PolicyLookup(None, f"{kind} {name}: {err}")
    return PolicyLookup(None, f"metric policy {name} not found (no MetricPolicy in {namespace}, "
                              "no ClusterMetricPolicy)")


def _window(action: RunAnalysis) -> tuple[QueryWindow, str]:
    seconds = max(1.0, (action.until - action.since).total_seconds())
    return (QueryWindow(action.since, action.until, timedelta(seconds=seconds)), f"{round(seconds)}s")


def _sampled(window: QueryWindow, query: str) -> QueryWindow:
    """The range of a distribution query: points whose rate windows do not overlap (canary.analysis.sampling)."""
    grid = sample_grid(query, (window.end - window.start).total_seconds())
    return QueryWindow(window.start + timedelta(seconds=grid.offset), window.end, timedelta(seconds=grid.step))


def _side(policy: MetricPolicy, ctx: QueryContext, window: QueryWindow) -> dict[str, Query]:
    queries = render_queries(policy.queries, ctx)
    ranged = policy.type.value == "distribution"
    return {name: Query(query, _sampled(window, query) if ranged else None) for name, query in queries.items()}


def plan_look(kube: Kube, spec: CanarySpec, namespace: str, workloads: Sequence[ForkedWorkload],
              action: RunAnalysis, *, provider: MetricProvider | None = None,
              access: PrometheusAccess | None = None) -> LookPlan:
    """The queries of every metric of `spec.analysis` for the window of `action`; the provider is the
    canary's Prometheus as the controller's `access` allows (none allowed by default)."""
    analysis = spec.analysis
    assert analysis is not None
    setup_problem = ""
    if provider is None:
        try:
            provider = provider_for(kube, namespace, analysis, access or PrometheusAccess())
        except ProviderSetupError as err:
            setup_problem = str(err)  # every metric is an Error, and nothing is queried
    window, interval = _window(action)
    metrics: list[MetricPlan] = []
    problems: list[str] = [setup_problem] if setup_problem else []
    for ref in analysis.metrics:
        if provider is None:
            metrics.append(MetricPlan(_placeholder(ref.policy), bool(ref.critical), problem=setup_problem))
            continue
        lookup = find_policy(kube, namespace, ref.policy)
        if lookup.policy is None:
            problems.append(lookup.problem)
            metrics.append(MetricPlan(_placeholder(ref.policy), bool(ref.critical), problem=lookup.problem))
            continue
        policy = lookup.policy
        critical = policy.critical if ref.critical is None else ref.critical
        for workload in workloads:
            try:
                sides = {track: _side(policy, QueryContext(
                    namespace=namespace, workload=workload.name, track=TRACK[track],
                    pod_regex=pod_name_regex(workload.name, workload.kind, DomainTrack(track)),
                    interval=interval, args=dict(ref.args), quantile=policy.quantile), window) for track in SIDES}
            except QueryRenderError as err:
                problems.append(f"{policy.name}: {err}")
                metrics.append(MetricPlan(_placeholder(policy.name), bool(ref.critical), problem=str(err)))
                continue
            named = policy if len(workloads) == 1 else dataclasses.replace(
                policy, name=f"{policy.name}/{workload.name}")
            metrics.append(MetricPlan(named, critical, sides))
    timeout = provider.config.timeout if isinstance(provider, PrometheusProvider) else None
    return LookPlan(action, provider, tuple(metrics), tuple(problems), timeout=timeout)


def measure_query(provider: MetricProvider, query: Query, timeout: float | None = None) -> Measurement:
    """One query's Measurement; with a `timeout`, transient failures are retried only within it, so a query
    that hangs is an Error after one timeout, not after one per attempt."""
    # Labelled: a distribution judges each series (pod) as one unit, a histogram needs its buckets' "le".
    return measure(provider, query.text, query.window, labelled=True, budget=timeout)


def finish_look(plan: LookPlan, measured: Mapping[Query, Measurement]) -> AnalysisOutcome:
    """Judge a look from its measurements (one per query of `plan.queries()`)."""
    evidence: list[MetricEvidence] = []
    for metric in plan.metrics:
        if metric.problem:
            evidence.append(error_evidence(metric.policy.name, metric.problem))
            continue
        sides = {track: Observation.of(**{name: measured[q] for name, q in queries.items()})
                 for track, queries in metric.sides.items()}
        evidence.append(evaluate_metric(metric.policy, sides["canary"], sides["baseline"]))
    action = plan.action
    result = judge_analysis(evidence, action.look, [m.critical for m in plan.metrics])
    metrics = tuple(_metric_result(m.to_status()) for m in result.metrics)
    for m in metrics:
        VERDICTS.labels(metric=m.name, verdict=m.verdict).inc()
    ANALYSIS_SECONDS.observe(time.monotonic() - plan.started)
    verdict = Verdict(result.verdict.value)
    failing = next((m.name for m in metrics if m.verdict == Verdict.FAIL.value), None)
    record = AnalysisRecord(time=action.until, step=action.step, weight=action.weight, verdict=verdict,
                            metrics=metrics, judged_at=datetime.now(UTC))
    message = "; ".join(plan.problems) or _summary(metrics)
    return AnalysisOutcome(record=record, failed_metric=failing, critical=result.critical_failure,
                           message=message)


def run_analysis(kube: Kube, spec: CanarySpec, namespace: str, workloads: Sequence[ForkedWorkload],
                 action: RunAnalysis, *, provider: MetricProvider | None = None,
                 access: PrometheusAccess | None = None) -> AnalysisOutcome:
    """Plan, measure (one query after another) and judge one look, in the calling thread."""
    plan = plan_look(kube, spec, namespace, workloads, action, provider=provider, access=access)
    provider = plan.provider
    measured = {q: measure_query(provider, q, plan.timeout) for q in plan.queries()} if provider is not None else {}
    return finish_look(plan, measured)


def error_evidence(name: str, message: str) -> MetricEvidence:
    """An Error for a metric that could not even be queried (missing policy, bad query template):
    never a metric failure, and the message says why."""
    return MetricEvidence(name, _placeholder(name), MeasurementStatus.ERROR, message)


def error_outcome(action: RunAnalysis, message: str) -> AnalysisOutcome:
    """A look that could not be judged at all: an Error verdict (never a failure), saying why."""
    record = AnalysisRecord(time=action.until, step=action.step, weight=action.weight, verdict=Verdict.ERROR,
                            judged_at=datetime.now(UTC))
    return AnalysisOutcome(record=record, message=message)


def _placeholder(name: str) -> MetricPolicy:
    return MetricPolicy(name=name, type=MetricType.RATIO, test=TestKind.PROPORTION, queries={})


def _metric_result(raw: Mapping[str, Any]) -> MetricResult:
    def num(key: str) -> float | None:
        value = raw.get(key)
        return float(value) if isinstance(value, int | float) else None

    samples = raw.get("samples") or {}
    return MetricResult(
        name=str(raw.get("name", "")), verdict=str(raw.get("verdict", "")),
        canary=num("canary"), baseline=num("baseline"), p_value=num("pValue"), ci_low=num("ciLow"),
        ci_high=num("ciHigh"), effect=num("effect"),
        samples={str(k): int(v) for k, v in samples.items()}, query=str(raw.get("query", "")),
        message=str(raw.get("message", "")),
    )


def _summary(metrics: Sequence[MetricResult]) -> str:
    return ", ".join(f"{m.name}: {m.verdict}" for m in metrics)
