"""A small in-memory world for driving `decide()` through whole canaries: it plays the kube layer (executing
actions), the Release controller (revisions, readiness, rollbackTo), the copies' pods (readiness delays), the
router (a weight) and the judge (a scripted verdict per analysis).

Every status write goes through `status_to_dict` and `parse_status`, as it would through the API server, so a
"restart" (dropping the tail of a decision) resumes from exactly what a real controller would read.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from canary.domain.actions import (
    Action,
    AllowDeletion,
    ApplyCopies,
    Decision,
    DeleteCopies,
    EmitEvent,
    FinalizeRouter,
    PatchStatus,
    PromoteRelease,
    ReconcileRouter,
    RemoveActionAnnotation,
    RestoreRelease,
    RunAnalysis,
    SetRouterWeight,
)
from canary.domain.fork import ForkError, ForkPlan, Owner, fork
from canary.domain.labels import FORK_HASH_ANNOTATION
from canary.domain.machine import decide
from canary.domain.observed import (
    AnalysisOutcome,
    Competitor,
    CopiesState,
    Observed,
    ReleaseState,
    RouterState,
)
from canary.domain.readers import ParseError
from canary.models import (
    AnalysisRecord,
    CanaryMeta,
    CanarySpec,
    CanaryStatus,
    Verdict,
    parse_action,
    parse_spec,
    parse_status,
    status_to_dict,
)
from rudder.render.values import deep_merge

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
NEVER = timedelta(days=365)


def spec(**overrides: Any) -> dict[str, Any]:
    """A CanaryRelease spec: two weight steps of 2m, analysis every 30s, failureLimit 0."""
    raw: dict[str, Any] = {
        "release": "shop",
        "values": {"image": {"tag": "2.0"}},
        "router": {"type": "replicas", "service": "web"},
        "steps": [{"weight": 10, "duration": "2m"}, {"weight": 50, "duration": "2m"}],
        "analysis": {
            "interval": "30s",
            "metrics": [{"policy": "http-error-rate"}],
            "failureLimit": 0,
            "onInconclusive": "pause",
        },
        "progressDeadline": "10m",
    }
    raw.update(overrides)
    return raw


def render(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What the Release renderer would produce for these values: a Deployment and its Service."""
    tag = values.get("image", {}).get("tag", "1.0")
    labels = {"app": "web"}
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "prod", "labels": {"rudder.dev/release": "shop"}},
            "spec": {
                "replicas": values.get("replicas", 4),
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "web", "image": f"shop:{tag}"}]},
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "prod"},
            "spec": {"selector": labels, "ports": [{"port": 80}]},
        },
    ]


Judge = Callable[[RunAnalysis], Verdict | AnalysisOutcome]


def always(verdict: Verdict) -> Judge:
    return lambda _run: verdict


@dataclass
class Release:
    """The Release as its controller would keep it."""

    name: str = "shop"
    revision: int = 4
    generation: int = 7
    observed_generation: int = 7
    values: dict[str, Any] = field(default_factory=lambda: {"image": {"tag": "1.0"}})
    history: dict[int, tuple[dict[str, Any], str | None]] = field(default_factory=dict)
    promoted_from: str | None = None
    pending_promoted_from: str | None = None
    rollback_to: int | None = None
    ready_at: datetime = T0
    ready_delay: timedelta = timedelta(seconds=20)
    fail_next: bool = False
    failed: bool = False
    deleting: bool = False  # being uninstalled: its controller no longer acts on the spec

    def __post_init__(self) -> None:
        self.history.setdefault(self.revision, (copy.deepcopy(self.values), None))

    def reconcile(self, now: datetime) -> None:
        """The Release controller acting on a changed spec."""
        if self.observed_generation == self.generation or self.deleting:
            return
        self.observed_generation = self.generation
        if self.rollback_to is not None:
            self.revision, self.rollback_to = self.rollback_to, None
            self.values = copy.deepcopy(self.history[self.revision][0])
            self.promoted_from = self.history[self.revision][1]
        elif self.values != self.history[self.revision][0]:
            self.revision = max(self.history) + 1
            self.history[self.revision] = (copy.deepcopy(self.values), self.pending_promoted_from)
            self.promoted_from = self.pending_promoted_from
        self.pending_promoted_from = None
        self.ready_at = now + self.ready_delay
        self.failed, self.fail_next = self.fail_next, False

    def state(self, now: datetime) -> ReleaseState:
        return ReleaseState(
            name=self.name,
            revision=self.revision,
            generation=self.generation,
            observed_generation=self.observed_generation,
            ready=now >= self.ready_at and not self.failed,
            failed=self.failed,
            promoted_from=self.promoted_from,
            rollback_to=self.rollback_to,
            values=copy.deepcopy(self.values),
            deleting=self.deleting,
        )


@dataclass
class World:
    raw_spec: dict[str, Any] = field(default_factory=spec)
    judge: Judge = field(default_factory=lambda: always(Verdict.PASS))
    name: str = "shop-v2"
    now: datetime = T0
    release: Release | None = field(default_factory=Release)
    copies_ready_delay: timedelta = timedelta(seconds=15)
    status: dict[str, Any] = field(default_factory=dict)
    action: str | None = None
    deleting: bool = False
    generation: int = 1
    competitors: tuple[Competitor, ...] = ()
    copies: dict[str, dict[str, Any]] = field(default_factory=dict)
    router_weight: int = 0
    router_reconciled: bool = False
    events: list[EmitEvent] = field(default_factory=list)
    weights: list[int] = field(default_factory=list)  # every router weight set, in order
    promote_calls: int = 0
    restore_calls: int = 0
    analyses: list[RunAnalysis] = field(default_factory=list)
    released: bool = False  # the finalizer was let go
    decisions: list[Decision] = field(default_factory=list)

    # --- observation ---

    @property
    def parsed_status(self) -> CanaryStatus:
        return parse_status(self.status)

    def spec(self) -> CanarySpec | ParseError:
        try:
            return parse_spec(self.raw_spec)
        except ParseError as exc:
            return exc

    def plan(self) -> ForkPlan | ForkError | None:
        spec_ = self.spec()
        if self.release is None or isinstance(spec_, ParseError):
            return None
        try:
            return fork(
                render(self.release.values),
                render(deep_merge(self.release.values, spec_.values)),
                owner=Owner(self.name, "prod", "uid-1"),
                workloads=spec_.workloads,
                baseline=spec_.baseline,
                router=spec_.router.type,
            )
        except ForkError as exc:
            return exc

    def observe(self, analysis: AnalysisOutcome | None = None) -> Observed:
        if self.release is not None:
            self.release.reconcile(self.now)
        plan = self.plan()
        expected = {c.name for c in plan.copies} if isinstance(plan, ForkPlan) else set()
        hashes = {c["hash"] for c in self.copies.values()}
        present = bool(expected) and expected <= set(self.copies)
        ready = present and all(self.now >= c["ready_at"] for c in self.copies.values())
        return Observed(
            meta=CanaryMeta(self.name, "prod", "uid-1", self.generation, T0 - timedelta(hours=1), self.deleting),
            spec=self.spec(),
            status=self.parsed_status,
            action=parse_action({"rudder.dev/action": self.action} if self.action is not None else {}),
            release=self.release.state(self.now) if self.release is not None else None,
            fork=plan,
            copies=CopiesState(
                present=present,
                any_present=bool(self.copies),
                ready=ready,
                fork_hash=hashes.pop() if len(hashes) == 1 else None,
                message="" if ready else "copies not ready",
            ),
            # The kube layer reads the router only with a fork plan (there is no router to ask without one).
            router=RouterState(weight=self.router_weight) if isinstance(plan, ForkPlan) else RouterState(),
            competitors=self.competitors,
            analysis=analysis,
        )

    # --- execution ---

    def execute(self, decision: Decision, *, kill_after: int | None = None) -> AnalysisOutcome | None:
        """Perform the decision's actions in order; `kill_after=k` stops after k of them (a crash)."""
        self.decisions.append(decision)
        for done, action in enumerate(decision.actions):
            if kill_after is not None and done >= kill_after:
                return None
            outcome = self._perform(action)
            if outcome is not None:
                return outcome
        return None

    def _perform(self, action: Action) -> AnalysisOutcome | None:
        match action:
            case PatchStatus(status=status):
                self.status = status_to_dict(status)
            case ApplyCopies(objects=objects):
                for obj in objects:
                    name = obj["metadata"]["name"]
                    digest = obj["metadata"]["annotations"][FORK_HASH_ANNOTATION]
                    old = self.copies.get(name)
                    if old is None or old["hash"] != digest:
                        self.copies[name] = {"hash": digest, "ready_at": self.now + self.copies_ready_delay}
            case DeleteCopies():
                self.copies.clear()
            case ReconcileRouter() | SetRouterWeight() | FinalizeRouter() if not isinstance(self.plan(), ForkPlan):
                # As in the kube layer, which builds the router from the fork plan.
                raise AssertionError(f"{action} without a router (no fork plan)")
            case ReconcileRouter():
                self.router_reconciled = True
            case SetRouterWeight(weight=weight):
                self._route(weight)
            case FinalizeRouter():
                self._route(0)
            case PromoteRelease(overrides=overrides, canary=canary, from_revision=revision):
                self.promote_calls += 1
                release = self.release
                assert release is not None
                merged = deep_merge(release.values, overrides)
                if release.revision == revision and merged != release.values:
                    release.values, release.pending_promoted_from = merged, canary
                    release.generation += 1
            case RestoreRelease(revision=revision):
                self.restore_calls += 1
                assert self.release is not None
                self.release.rollback_to = revision
                self.release.generation += 1
            case RemoveActionAnnotation(value=value):
                if self.action == value:
                    self.action = None
            case EmitEvent():
                self.events.append(action)
            case AllowDeletion():
                self.released = True
            case RunAnalysis():
                self.analyses.append(action)
                return self._judge(action)
        return None

    def _route(self, weight: int) -> None:
        if not self.weights or self.weights[-1] != weight:
            self.weights.append(weight)
        self.router_weight = weight

    def _judge(self, run: RunAnalysis) -> AnalysisOutcome:
        verdict = self.judge(run)
        if isinstance(verdict, AnalysisOutcome):
            return replace(verdict, record=replace(verdict.record, time=self.now, step=run.step, weight=run.weight))
        failed = "http-error-rate" if verdict is Verdict.FAIL else None
        record = AnalysisRecord(time=self.now, step=run.step, weight=run.weight, verdict=verdict)
        return AnalysisOutcome(record=record, failed_metric=failed)

    # --- driving ---

    def reconcile(self, *, kill_after: int | None = None) -> Decision:
        """One reconcile: decide, execute; a RunAnalysis outcome is fed straight into a second decision.
        `kill_after=k` crashes the controller after k actions of this reconcile (both decisions counted)."""
        decision = decide(self.observe(), self.now)
        outcome = self.execute(decision, kill_after=kill_after)
        if kill_after is not None and kill_after <= len(decision.actions):
            return decision
        if outcome is not None:
            left = None if kill_after is None else kill_after - len(decision.actions)
            decision = decide(self.observe(outcome), self.now)
            self.execute(decision, kill_after=left)
        return decision

    def actions_per_reconcile(self) -> int:
        """How many actions the next reconcile would perform, on a copy of this world."""
        twin = copy.deepcopy(self)
        before = len(twin.decisions)
        twin.reconcile()
        return sum(len(d.actions) for d in twin.decisions[before:])

    def snapshot(self) -> str:
        """Everything a watch would see change: the canary, its copies, the router and the Release."""
        release = self.release
        return repr((self.status, self.action, sorted(self.copies.items()), self.router_weight,
                     self.router_reconciled, None if release is None else (
                         release.revision, release.generation, release.observed_generation, release.rollback_to)))

    def wake_in(self, before: str, decision: Decision) -> float | None:
        """When the controller runs again after a reconcile that started from `before`, as the watch-driven
        controller would: at once (a second, here) when something it watches changed, when the copies or the
        Release it waits on turn Ready, or at the decision's due time; None: nothing will ever wake it."""
        moments = [] if decision.requeue_after is None else [decision.requeue_after]
        if self.snapshot() != before:
            moments.append(1.0)
        pending = [c["ready_at"] for c in self.copies.values()]
        if self.release is not None:
            pending.append(self.release.ready_at)
        moments += [(t - self.now).total_seconds() for t in pending if t > self.now]
        return min(moments) if moments else None

    def step(self) -> tuple[Decision, float | None]:
        """One reconcile, and the wait until the next one (None: nothing would wake the controller)."""
        before = self.snapshot()
        decision = self.reconcile()
        return decision, self.wake_in(before, decision)

    def run(self, *, until: Callable[[World], bool] | None = None, limit: int = 400) -> World:
        """Reconcile, let time pass until the next wake-up; until `until` holds or nothing is left to do."""
        for _ in range(limit):
            if until is not None and until(self):
                return self
            _, wait = self.step()
            if wait is None:
                if until is None:
                    return self
                wait = 60.0
            self.now += timedelta(seconds=max(wait, 1.0))
        raise AssertionError(f"no end after {limit} reconciles; status {self.status.get('phase')}")

    def annotate(self, action: str) -> None:
        """A person sets `rudder.dev/action`."""
        self.action = action

    def phase(self) -> str:
        return str(self.status.get("phase", "Pending"))

    def reasons(self) -> list[str]:
        return [e.reason for e in self.events]


def in_phase(*phases: str) -> Callable[[World], bool]:
    return lambda w: w.phase() in phases
