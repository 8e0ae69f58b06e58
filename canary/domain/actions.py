"""The actions a `Decision` asks the kube layer to perform, in list order.

Every action is idempotent: after a crash the controller decides again from status and may repeat the tail
of a decision, never skip it. Side effects come before the status patch that records them, except when the
status must say first that something is about to exist (Pending -> Initializing records the fork before
creating copies, so a crash never leaves copies the status does not know about).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from canary.analysis.sequential import Look
from canary.models import CanaryStatus

_A = TypeVar("_A")


class EventType(StrEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


@dataclass(frozen=True)
class ApplyCopies:
    """Server-side apply these canary/baseline copies (create or update)."""

    objects: tuple[Mapping[str, Any], ...] = field(repr=False)


@dataclass(frozen=True)
class DeleteCopies:
    """Delete every Deployment/StatefulSet labelled `rudder.dev/canary-release=<canary>` (see labels)."""

    canary: str


@dataclass(frozen=True)
class ReconcileRouter:
    """Apply `router.reconcile(ctx)`: the Services / canary Ingress / route backends the router needs."""


@dataclass(frozen=True)
class SetRouterWeight:
    """Apply `router.set_weight(ctx, weight)`."""

    weight: int


@dataclass(frozen=True)
class FinalizeRouter:
    """Apply `router.finalize(ctx)`: all traffic to the primary, router-owned objects removed."""


@dataclass(frozen=True)
class RunAnalysis:
    """Run the judge over [since, until] (the current step so far) and call `decide()` again with
    `Observed.analysis` set. Always the last action of its decision.

    `look` places this analysis in the canary's one alpha budget (`CanaryLooks`): a weight step of
    duration D analysed every I seconds plans ceil(D / I) looks, numbered after the looks of the steps
    before it; looks past that are extensions drawing on the step's share of the reserve.
    """

    step: int
    weight: int
    since: datetime
    until: datetime
    look: Look = field(default_factory=Look)
    previous: datetime | None = None  # the step's last recorded analysis before this one, if any

    @property
    def identity(self) -> LookId:
        """What stays the same for this look across reconciles (`until` and `look` move with the clock)."""
        return LookId(self.step, self.weight, self.since, self.previous)


@dataclass(frozen=True)
class LookId:
    """One look of one canary: the look after `previous` (None: the first) in the step that started at
    `since`. A result computed for another LookId is stale: the step, its clock or its history moved on."""

    step: int
    weight: int
    since: datetime
    previous: datetime | None


@dataclass(frozen=True)
class PromoteRelease:
    """Write the canary's value overrides into the Release: spec.values = deep_merge(spec.values, overrides)
    with the Release renderer's merge, and the annotation `rudder.dev/promoted-from: <canary>` so that its
    ReleaseHistory records the source. Only while the Release is still at `from_revision` (a guarded write);
    writing the same values again makes no new revision, so repeating this action is safe."""

    release: str
    overrides: Mapping[str, Any]
    canary: str
    from_revision: int


@dataclass(frozen=True)
class RestoreRelease:
    """Set the Release's spec.rollbackTo to `revision` (the stable one): the Release controller restores that
    revision exactly from its ReleaseHistory."""

    release: str
    revision: int


@dataclass(frozen=True)
class PatchStatus:
    """Replace the status subresource with `status` (serialise with `canary.models.status_to_dict`)."""

    status: CanaryStatus = field(repr=False)


@dataclass(frozen=True)
class RemoveActionAnnotation:
    """Remove `rudder.dev/action` if it still holds `value` (a test-and-remove, so a newer one survives)."""

    value: str


@dataclass(frozen=True)
class EmitEvent:
    type: EventType
    reason: str
    message: str


@dataclass(frozen=True)
class AllowDeletion:
    """Clean-up is complete: the finalizer may be removed (the kopf delete handler returns)."""


@dataclass(frozen=True)
class Requeue:
    """Reconcile again at `at`, `after` seconds from the decision's time, if nothing else triggers it sooner
    (a change to a watched object). The last action of a decision with a due time (canary.domain.timing)."""

    after: float
    at: datetime | None = None


Action = (
    ApplyCopies
    | DeleteCopies
    | ReconcileRouter
    | SetRouterWeight
    | FinalizeRouter
    | RunAnalysis
    | PromoteRelease
    | RestoreRelease
    | PatchStatus
    | RemoveActionAnnotation
    | EmitEvent
    | AllowDeletion
    | Requeue
)


@dataclass(frozen=True)
class Decision:
    """What to do now, in order. An empty decision means: nothing to do until something changes."""

    actions: tuple[Action, ...] = ()

    def of(self, kind: type[_A]) -> list[_A]:
        """The actions of one type, in order (mostly for tests and logging)."""
        return [a for a in self.actions if isinstance(a, kind)]

    @property
    def status(self) -> CanaryStatus | None:
        """The status this decision writes, if any."""
        patches = self.of(PatchStatus)
        return patches[-1].status if patches else None

    @property
    def requeue_after(self) -> float | None:
        requeues = self.of(Requeue)
        return requeues[-1].after if requeues else None
