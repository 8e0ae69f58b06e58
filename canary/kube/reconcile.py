"""One level-triggered reconciliation of a CanaryRelease: observe, decide (pure), execute.

A `RunAnalysis` action ends its decision: the judge runs on the window it names, and `decide()`
runs again on a fresh observation that carries the outcome, in the same reconcile.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from canary.domain.fork import ForkPlan
from canary.domain.machine import decide
from canary.domain.observed import AnalysisOutcome, HistoryTrust
from canary.kube.analysis import run_analysis
from canary.kube.execute import Outcome, execute, utcnow
from canary.kube.observe import Gathered, observe
from canary.kube.prometheus import check_endpoint
from canary.models import CanarySpec
from canary.providers import MetricProvider
from canary.providers.access import PrometheusAccess
from rudder.kube.client import Kube


@dataclass
class Result:
    requeue_after: float | None = None
    deletion_allowed: bool = False
    gone: bool = False


def _observe(kube: Kube, namespace: str, name: str, trust: HistoryTrust, access: PrometheusAccess | None, *,
             analysis: AnalysisOutcome | None = None) -> Gathered | None:
    """Observe; a Prometheus URL the controller's allow-list refuses makes the spec invalid (the field
    named in status), before anything is created or queried. An injected provider skips the check."""
    gathered = observe(kube, namespace, name, trust, analysis=analysis)
    spec = gathered.observed.spec if gathered is not None else None
    if gathered is None or access is None or not isinstance(spec, CanarySpec):
        return gathered
    refused = check_endpoint(spec.analysis, access)
    if refused is None:
        return gathered
    return Gathered(gathered.parsed, gathered.body, dataclasses.replace(gathered.observed, spec=refused))


def reconcile(kube: Kube, namespace: str, name: str, trust: HistoryTrust, *,
              provider: MetricProvider | None = None, access: PrometheusAccess | None = None) -> Result:
    if provider is None and access is None:
        access = PrometheusAccess()
    gathered = _observe(kube, namespace, name, trust, access if provider is None else None)
    if gathered is None:
        return Result(gone=True)
    outcome: Outcome = execute(kube, gathered, decide(gathered.observed, utcnow()).actions)
    if outcome.analysis is not None:
        spec = gathered.observed.spec
        plan = gathered.observed.fork
        assert isinstance(spec, CanarySpec)
        assert isinstance(plan, ForkPlan)
        judged = run_analysis(kube, spec, namespace, plan.workloads, outcome.analysis, provider=provider,
                              access=access)
        gathered = _observe(kube, namespace, name, trust, access if provider is None else None, analysis=judged)
        if gathered is None:
            return Result(gone=True)
        decision = decide(gathered.observed, utcnow())
        # A second RunAnalysis in one reconcile would judge the same window again: leave it for later.
        outcome = execute(kube, gathered, tuple(a for a in decision.actions
                                                if type(a).__name__ != "RunAnalysis"))
    return Result(requeue_after=outcome.requeue_after, deletion_allowed=outcome.deletion_allowed)
