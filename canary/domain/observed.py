"""`Observed`: everything the kube layer gathers once per reconcile, for `decide()` to judge.

The kube layer fills it from the cluster; nothing in here reads the cluster itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from canary.domain.fork import ForkError, ForkPlan
from canary.domain.readers import ParseError
from canary.models import ActionRequest, AnalysisRecord, CanaryMeta, CanarySpec, CanaryStatus, Phase
from rudder.domain.describe import RevisionSource
from rudder.domain.history_auth import HistoryKey, history_revision, verify_history
from rudder.domain.ownership import ReleaseIdentity


@dataclass(frozen=True)
class ReleaseState:
    """The target Release as read now."""

    name: str
    revision: int  # status.revision: the current revision
    generation: int  # metadata.generation
    observed_generation: int  # status.observedGeneration
    ready: bool  # status.phase is Ready
    failed: bool = False  # status.phase is Failed
    suspended: bool = False  # spec.suspend
    # The CanaryRelease named as the source of the current revision by its ReleaseHistory
    # (`spec.source.canaryRelease` when `spec.source.kind` is Promotion), else None: see `promotion_source`.
    promoted_from: str | None = None
    rollback_to: int | None = None  # spec.rollbackTo.revision while a rollback is pending
    message: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)  # spec.values, to tell a no-op promotion
    deleting: bool = False  # metadata.deletionTimestamp is set: the Release is being uninstalled

    @property
    def settled(self) -> bool:
        """The Release controller has acted on the latest spec and no rollback is pending."""
        return self.observed_generation == self.generation and self.rollback_to is None


@dataclass(frozen=True)
class HistoryTrust:
    """What tells a ReleaseHistory the Release controller wrote from one a tenant wrote: its signing key, and
    its migration flag `--accept-unsigned-history` (owned but unsigned histories pass)."""

    key: HistoryKey
    accept_unsigned: bool = False


def promotion_source(
    history: Mapping[str, Any] | None, owner: ReleaseIdentity, revision: int, trust: HistoryTrust
) -> str | None:
    """The CanaryRelease that `history` names as the source of the Release's `revision`, else None.

    Only a history owned by the Release's uid and signed by its controller counts: a tenant may write
    ReleaseHistories too, and a forged source would make a canary take someone else's revision for its own
    promotion (finish it, or restore the Release over it)."""
    if history is None or history_revision(history) != revision:
        return None
    if not verify_history(history, owner, trust.key, accept_unsigned=trust.accept_unsigned).usable:
        return None
    source = history["spec"].get("source")
    if not isinstance(source, Mapping) or source.get("kind") != RevisionSource.PROMOTION.value:
        return None
    canary = source.get("canaryRelease")
    return canary if isinstance(canary, str) and canary else None


@dataclass(frozen=True)
class CopiesState:
    """The canary and baseline copies as read now (found by their `rudder.dev/canary-release` label).

    `ready` means every expected copy has observedGeneration == generation and all its replicas updated and
    ready, so a copy that was just rescaled is not ready until its controller has caught up.
    """

    present: bool  # every expected copy exists
    any_present: bool  # at least one copy (or a stray one) exists
    ready: bool
    fork_hash: str | None = None  # the `rudder.dev/fork-hash` the existing copies share; None if absent/mixed
    message: str = ""  # what is not ready, for status and events

    @classmethod
    def absent(cls) -> CopiesState:
        return cls(present=False, any_present=False, ready=False)


@dataclass(frozen=True)
class RouterState:
    """The router's view of traffic: `router.get_weight(...)`, or the RouterError it raised."""

    weight: int = 0
    problem: str | None = None


@dataclass(frozen=True)
class Competitor:
    """Another CanaryRelease of the same Release."""

    name: str
    phase: Phase
    created_at: datetime | None = None


@dataclass(frozen=True)
class AnalysisOutcome:
    """What the judge concluded for a RunAnalysis action, handed to the next `decide()` call.

    `record.step`/`record.weight` echo the RunAnalysis; `critical` is True when a critical metric failed.
    """

    record: AnalysisRecord
    failed_metric: str | None = None
    critical: bool = False
    message: str = ""


@dataclass(frozen=True)
class Observed:
    meta: CanaryMeta
    spec: CanarySpec | ParseError
    status: CanaryStatus
    action: ActionRequest | None = None
    release: ReleaseState | None = None  # None: the Release does not exist
    fork: ForkPlan | ForkError | None = None  # None: not computed (no Release to render)
    copies: CopiesState = field(default_factory=CopiesState.absent)
    router: RouterState = field(default_factory=RouterState)
    competitors: tuple[Competitor, ...] = ()  # other CanaryReleases naming the same Release
    analysis: AnalysisOutcome | None = None  # set only right after executing RunAnalysis
