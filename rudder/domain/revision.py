"""The revision decision: unchanged, a new revision (newest+1), or a rollback to an existing one.

Seed semantics, not Helm's: a rollback makes revision N current again without creating a revision; the
next real change is newest+1. A ReleaseHistory is written only after a successful apply, so a controller
killed mid-apply comes back to the same revision number and never writes a duplicate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from rudder.models import HistoryPhase, RollbackTo


@dataclass(frozen=True)
class HistoryRecord:
    """What the decisions need of one stored ReleaseHistory."""

    revision: int
    content_digest: str
    phase: HistoryPhase | None = None
    deployed_at: tuple[datetime, ...] = field(default=())
    ready: bool = False

    @property
    def last_deployed(self) -> datetime | None:
        """When this revision last became current; None if it never did."""
        return max(self.deployed_at) if self.deployed_at else None


class RevisionAction(StrEnum):
    """What the controller does with the desired content."""

    UNCHANGED = "Unchanged"  # same content as the current revision: zero writes (beyond drift repair)
    INSTALL = "Install"  # first revision
    UPGRADE = "Upgrade"  # new content: revision newest+1
    ROLLBACK = "Rollback"  # make an existing revision current again, applying its stored manifest
    FAILED = "Failed"  # e.g. rollback to a revision that does not exist; the running revision is untouched


@dataclass(frozen=True)
class RevisionDecision:
    """The decision and the revision it concerns.

    `history_exists` is True when the ReleaseHistory of `revision` is already stored (a restart after the
    history was written but before status was updated): apply it, do not write the history again.
    """

    action: RevisionAction
    revision: int | None
    message: str
    history_exists: bool = False

    @property
    def renders(self) -> bool:
        """True when the chart must be rendered (install/upgrade); a rollback applies a stored manifest."""
        return self.action in (RevisionAction.INSTALL, RevisionAction.UPGRADE)


def previous_deployed_revision(records: Sequence[HistoryRecord], current: int | None) -> int | None:
    """The revision that was current before `current`: the most recently deployed other, non-failed one."""
    candidates = [r for r in records if r.revision != current and r.phase is not HistoryPhase.FAILED]
    deployed = [r for r in candidates if r.last_deployed is not None]
    if deployed:
        return max(deployed, key=lambda r: (r.last_deployed, r.revision)).revision
    older = [r.revision for r in candidates if current is None or r.revision < current]
    return max(older) if older else None


def decide_revision(
    desired_digest: str,
    records: Sequence[HistoryRecord],
    *,
    current_revision: int | None,
    rollback_to: RollbackTo | None = None,
) -> RevisionDecision:
    """Decide what to do with the desired content.

    `records` are the stored histories, `current_revision` is status.revision, `rollback_to` the spec's.
    """
    by_revision = {r.revision: r for r in records}
    if rollback_to is not None:
        return _decide_rollback(rollback_to, records, by_revision, current_revision)
    current = by_revision.get(current_revision) if current_revision is not None else None
    if current is not None and current.content_digest == desired_digest:
        return RevisionDecision(RevisionAction.UNCHANGED, current.revision, "content unchanged")
    newest = max([*by_revision, current_revision or 0], default=0)
    newest_record = by_revision.get(newest)
    if (
        newest_record is not None
        and newest != current_revision
        and newest_record.content_digest == desired_digest
        and (not newest_record.deployed_at or newest_record.phase in (HistoryPhase.DEPLOYED, HistoryPhase.FAILED))
    ):
        # Stored but never made current, or made current in the histories (Deployed) while status still
        # names the older one: the previous attempt stopped between writing the history (or its status) and
        # updating the Release's status. Finish that revision instead of writing a duplicate. After a rollback
        # the newest is Superseded, so equal content there is still a new revision. A Failed newest one with
        # equal content is retried in place: retries never add histories (helm-controller#1359).
        action = RevisionAction.INSTALL if current_revision is None else RevisionAction.UPGRADE
        return RevisionDecision(action, newest, f"resuming revision {newest}", history_exists=True)
    if current_revision is None and not by_revision:
        return RevisionDecision(RevisionAction.INSTALL, 1, "initial install")
    revision = newest + 1
    return RevisionDecision(RevisionAction.UPGRADE, revision, f"content changed: revision {revision}")


def _decide_rollback(
    rollback_to: RollbackTo,
    records: Sequence[HistoryRecord],
    by_revision: Mapping[int, HistoryRecord],
    current_revision: int | None,
) -> RevisionDecision:
    target = rollback_to.revision or previous_deployed_revision(records, current_revision)
    if target is None:
        return RevisionDecision(RevisionAction.FAILED, None, "rollback: no previous deployed revision")
    if target not in by_revision:
        available = ", ".join(str(r) for r in sorted(by_revision)) or "none"
        return RevisionDecision(
            RevisionAction.FAILED, target,
            f"rollback: revision {target} does not exist (available: {available})",
        )
    return RevisionDecision(RevisionAction.ROLLBACK, target, f"rollback to revision {target}")


def rollback_spec_patch(
    history_spec: Mapping[str, Any], resource_version: str | None = None
) -> list[dict[str, Any]]:
    """A JSON Patch that restores the Release's chart, values, valuesFrom and postRender to a revision's and clears
    `rollbackTo`.

    JSON Patch rather than a merge patch: a merge patch cannot drop keys absent from the target nor keep
    explicit nulls in values. With `resource_version`, a `test` op makes a concurrent edit fail (409).
    """
    ops: list[dict[str, Any]] = []
    if resource_version is not None:
        ops.append({"op": "test", "path": "/metadata/resourceVersion", "value": resource_version})
    ops += [
        {"op": "add", "path": "/spec/chart", "value": history_spec.get("chart") or {}},
        {"op": "add", "path": "/spec/values", "value": history_spec.get("values") or {}},
        {"op": "add", "path": "/spec/valuesFrom", "value": history_spec.get("valuesFrom") or []},
        # A revision made without post-render patches drops them (the caller skips removing an absent field).
        {"op": "add", "path": "/spec/postRender", "value": history_spec["postRender"]}
        if history_spec.get("postRender") else {"op": "remove", "path": "/spec/postRender"},
        {"op": "remove", "path": "/spec/rollbackTo"},
    ]
    return ops
