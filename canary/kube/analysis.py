"""Runs one analysis (a `RunAnalysis` action): load the metric policies, render their queries for the
canary and baseline tracks, measure them through the metric provider, and judge with the same code
as `kubectl canary judge`. Provider failures become Error measurements, never exceptions."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from canary.analysis import (
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
from rudder.kube.client import Kube, KubeError, Ref
from rudder.models import API_VERSION

TRACK = {"canary": Track.CANARY, "baseline": Track.BASELINE, "primary": Track.PRIMARY}


@dataclass(frozen=True)
class PolicyLookup:
    """A policy found for a metric reference, or why not."""

    policy: MetricPolicy | None
    problem: str = ""


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


def _observe(provider: MetricProvider, policy: MetricPolicy, ctx: QueryContext,
             window: QueryWindow) -> tuple[Observation, dict[str, str]]:
    queries = render_queries(policy.queries, ctx)
    ranged = policy.type.value == "distribution"
    # Labelled: a distribution judges each series (pod) as one unit, a histogram needs its buckets' "le".
    measured = {name: measure(provider, query, _sampled(window, query) if ranged else None, labelled=True)
                for name, query in queries.items()}
    return Observation.of(**measured), queries


def run_analysis(kube: Kube, spec: CanarySpec, namespace: str, workloads: Sequence[ForkedWorkload],
                 action: RunAnalysis, *, provider: MetricProvider | None = None,
                 access: PrometheusAccess | None = None) -> AnalysisOutcome:
    """Measure and judge every metric of `spec.analysis` for the window of `action`; the provider is the
    canary's Prometheus as the controller's `access` allows (none allowed by default)."""
    started = time.monotonic()
    analysis = spec.analysis
    assert analysis is not None
    setup_problem = ""
    if provider is None:
        try:
            provider = provider_for(kube, namespace, analysis, access or PrometheusAccess())
        except ProviderSetupError as err:
            setup_problem = str(err)  # every metric is an Error, and nothing is queried
    window, interval = _window(action)
    evidence: list[MetricEvidence] = []
    critical: list[bool] = []
    problems: list[str] = [setup_problem] if setup_problem else []
    for ref in analysis.metrics:
        if provider is None:
            evidence.append(error_evidence(ref.policy, setup_problem))
            critical.append(bool(ref.critical))
            continue
        lookup = find_policy(kube, namespace, ref.policy)
        if lookup.policy is None:
            problems.append(lookup.problem)
            evidence.append(error_evidence(ref.policy, lookup.problem))
            critical.append(bool(ref.critical))
            continue
        policy = lookup.policy
        for workload in workloads:
            sides: dict[str, Observation] = {}
            try:
                for track in ("canary", "baseline"):
                    ctx = QueryContext(namespace=namespace, workload=workload.name, track=TRACK[track],
                                       pod_regex=pod_name_regex(workload.name, workload.kind, DomainTrack(track)),
                                       interval=interval, args=dict(ref.args), quantile=policy.quantile)
                    sides[track], _ = _observe(provider, policy, ctx, window)
            except QueryRenderError as err:
                problems.append(f"{policy.name}: {err}")
                evidence.append(error_evidence(policy.name, str(err)))
                critical.append(bool(ref.critical))
                continue
            named = policy if len(workloads) == 1 else dataclasses.replace(
                policy, name=f"{policy.name}/{workload.name}")
            evidence.append(evaluate_metric(named, sides["canary"], sides["baseline"]))
            critical.append(policy.critical if ref.critical is None else ref.critical)
    result = judge_analysis(evidence, action.look, critical)
    metrics = tuple(_metric_result(m.to_status()) for m in result.metrics)
    for m in metrics:
        VERDICTS.labels(metric=m.name, verdict=m.verdict).inc()
    ANALYSIS_SECONDS.observe(time.monotonic() - started)
    verdict = Verdict(result.verdict.value)
    failing = next((m.name for m in metrics if m.verdict == Verdict.FAIL.value), None)
    record = AnalysisRecord(time=action.until, step=action.step, weight=action.weight, verdict=verdict,
                            metrics=metrics)
    message = "; ".join(problems) or _summary(metrics)
    return AnalysisOutcome(record=record, failed_metric=failing, critical=result.critical_failure,
                           message=message)


def error_evidence(name: str, message: str) -> MetricEvidence:
    """An Error for a metric that could not even be queried (missing policy, bad query template):
    never a metric failure, and the message says why."""
    placeholder = MetricPolicy(name=name, type=MetricType.RATIO, test=TestKind.PROPORTION, queries={})
    return MetricEvidence(name, placeholder, MeasurementStatus.ERROR, message)


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
