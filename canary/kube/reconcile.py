"""One level-triggered reconciliation of a CanaryRelease: observe, decide (pure), execute.

A `RunAnalysis` action ends its decision. With a look pool (the controller), the look is started in the
pool and the reconcile returns; once the look's result is ready the pool wakes the canary, and the
reconcile that claims it runs `decide()` again on a fresh observation carrying the outcome. Without one
(an injected provider), the judge runs in place and the second decision follows in the same reconcile.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from canary.domain.actions import RunAnalysis
from canary.domain.fork import ForkPlan
from canary.domain.interest import Interest
from canary.domain.machine import decide
from canary.domain.observed import AnalysisOutcome, HistoryTrust
from canary.kube.analysis import plan_look, run_analysis
from canary.kube.execute import Outcome, execute, utcnow
from canary.kube.looks import RUNNING, LookPool
from canary.kube.observe import Gathered, observe
from canary.kube.prometheus import check_endpoint
from canary.kube.wakes import interests_of
from canary.models import CanarySpec
from canary.providers import MetricProvider
from canary.providers.access import PrometheusAccess
from rudder.kube.client import Kube


@dataclass
class Result:
    requeue_after: float | None = None
    deletion_allowed: bool = False
    gone: bool = False
    reads: frozenset[Interest] = frozenset()  # what a change to wakes the canary (canary.kube.wakes)


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
              provider: MetricProvider | None = None, access: PrometheusAccess | None = None,
              looks: LookPool | None = None) -> Result:
    if provider is None and access is None:
        access = PrometheusAccess()
    gathered = _observe(kube, namespace, name, trust, access if provider is None else None)
    if gathered is None:
        return Result(gone=True)
    reads = interests_of(gathered)
    outcome: Outcome = execute(kube, gathered, decide(gathered.observed, utcnow()).actions)
    if outcome.analysis is not None:
        if looks is None:
            judged = _judge_here(kube, gathered, outcome.analysis, provider, access)
        else:
            claimed = _claim(kube, gathered, outcome.analysis, looks, provider=provider, access=access)
            if claimed is None:
                # The look runs in the pool, which wakes the canary when it is done: nothing timed to wait for.
                return Result(requeue_after=None, reads=reads)
            judged = claimed
        gathered = _observe(kube, namespace, name, trust, access if provider is None else None, analysis=judged)
        if gathered is None:
            return Result(gone=True)
        decision = decide(gathered.observed, utcnow())
        # A second RunAnalysis in one reconcile would judge the same window again: leave it for later.
        outcome = execute(kube, gathered, tuple(a for a in decision.actions
                                                if type(a).__name__ != "RunAnalysis"))
    return Result(requeue_after=outcome.requeue_after, deletion_allowed=outcome.deletion_allowed, reads=reads)


def _judge_here(kube: Kube, gathered: Gathered, action: RunAnalysis, provider: MetricProvider | None,
                access: PrometheusAccess | None) -> AnalysisOutcome:
    spec, plan = gathered.observed.spec, gathered.observed.fork
    assert isinstance(spec, CanarySpec)
    assert isinstance(plan, ForkPlan)
    meta = gathered.parsed.meta
    return run_analysis(kube, spec, meta.namespace, plan.workloads, action, provider=provider, access=access)


def _claim(kube: Kube, gathered: Gathered, action: RunAnalysis, looks: LookPool, *, provider: MetricProvider | None,
           access: PrometheusAccess | None) -> AnalysisOutcome | None:
    """The outcome of this look when the pool has it; else start it (unless already running) and None."""
    meta = gathered.parsed.meta
    held = looks.claim(meta.uid, action.identity)
    if held is RUNNING:
        return None
    if held is not None:
        return held
    spec, plan = gathered.observed.spec, gathered.observed.fork
    assert isinstance(spec, CanarySpec)
    assert isinstance(plan, ForkPlan)
    looks.start(meta.uid, meta.namespace, meta.name,
                plan_look(kube, spec, meta.namespace, plan.workloads, action, provider=provider, access=access))
    return None
