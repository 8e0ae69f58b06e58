"""One level-triggered reconciliation of a CanaryRelease: observe, decide (pure), execute.

A `RunAnalysis` action ends its decision: the judge runs on the window it names, and `decide()`
runs again on a fresh observation that carries the outcome, in the same reconcile.
"""

from __future__ import annotations

from dataclasses import dataclass

from canary.domain.fork import ForkPlan
from canary.domain.machine import decide
from canary.kube.analysis import run_analysis
from canary.kube.execute import Outcome, execute, utcnow
from canary.kube.observe import observe
from canary.models import CanarySpec
from canary.providers import MetricProvider
from rudder.kube.client import Kube


@dataclass
class Result:
    requeue_after: float | None = None
    deletion_allowed: bool = False
    gone: bool = False


def reconcile(kube: Kube, namespace: str, name: str, *, provider: MetricProvider | None = None) -> Result:
    gathered = observe(kube, namespace, name)
    if gathered is None:
        return Result(gone=True)
    outcome: Outcome = execute(kube, gathered, decide(gathered.observed, utcnow()).actions)
    if outcome.analysis is not None:
        spec = gathered.observed.spec
        plan = gathered.observed.fork
        assert isinstance(spec, CanarySpec)
        assert isinstance(plan, ForkPlan)
        judged = run_analysis(kube, spec, namespace, plan.workloads, outcome.analysis, provider=provider)
        gathered = observe(kube, namespace, name, analysis=judged)
        if gathered is None:
            return Result(gone=True)
        decision = decide(gathered.observed, utcnow())
        # A second RunAnalysis in one reconcile would judge the same window again: leave it for later.
        outcome = execute(kube, gathered, tuple(a for a in decision.actions
                                                if type(a).__name__ != "RunAnalysis"))
    return Result(requeue_after=outcome.requeue_after, deletion_allowed=outcome.deletion_allowed)
