"""What became of one revision of a Release? The pure decision behind `rudder wait` (helm-controller#1422:
a pipeline must learn whether *its* revision became Ready, not whether the Release is Ready now).

Exit codes, `kubectl canary wait`'s where the meanings meet (0 done, 1 failed, 2 timed out, 3 a person must
act, 4 cannot follow it), plus two of its own:

- 0 READY: the awaited revision is Ready (or became Ready before something newer replaced it);
- 1 FAILED: it failed (deadline, a failed resource, a crash), or the awaited generation made no revision
  because the controller refused it (invalid spec, render error, an apply the API server refused ...);
- 2 TIMEOUT: none of these within `--timeout`;
- 3 SUSPENDED: `spec.suspend`: nothing becomes Ready until someone resumes it;
- 4 ERROR: not found, deleted while waiting, forbidden, bad arguments, or a revision whose history is gone;
- 5 ROLLED_BACK: it failed and an older revision was made current again (remediation, `atomic`, or by hand);
- 6 SUPERSEDED: a newer revision (or a rollback) replaced it before it became Ready.

Only what the controller records durably decides (status, and each ReleaseHistory's phase, `ready` and the
generation annotation), so a wait started late, or one that polled past a short-lived state, still gets the
answer; only states that are about to change are never final (a remediation retry, rollback or uninstall
that follows a missed deadline, a pending `spec.rollbackTo`, a revision between its history and its status).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from rudder.domain.failfast import TERMINAL_WAITING_REASONS
from rudder.domain.remediation import Counters, Phase, phase_of
from rudder.domain.revision_origin import history_generation
from rudder.models import ConditionType, HistoryPhase, ReleasePhase
from rudder.remediation_spec import parse_remediation

# Failure reasons about the running revision's own resources; any other reason is the controller refusing
# the newest spec before it made a revision of it (InvalidSpec, RenderFailed, InputMissing, Forbidden, ...).
# (Fail-fast reasons too: a terminal container state of a revision never Ready, rudder.domain.failfast.)
REVISION_FAILURES = frozenset({"ResourceFailed", "ProgressDeadlineExceeded", "CrashLoopBackOff",
                               *TERMINAL_WAITING_REASONS})
SUSPENDED_BEFORE_INSTALL = "Suspended"  # the Failed reason of a Release suspended before its first install


class WaitCode(IntEnum):
    READY = 0
    FAILED = 1
    TIMEOUT = 2
    SUSPENDED = 3
    ERROR = 4
    ROLLED_BACK = 5
    SUPERSEDED = 6


LABELS = {
    WaitCode.READY: "Ready", WaitCode.FAILED: "Failed", WaitCode.TIMEOUT: "timed out",
    WaitCode.SUSPENDED: "suspended", WaitCode.ERROR: "cannot follow it", WaitCode.ROLLED_BACK: "rolled back",
    WaitCode.SUPERSEDED: "superseded",
}


@dataclass(frozen=True)
class Awaited:
    """The revision awaited, named directly or by the Release generation it is made from."""

    revision: int | None = None
    generation: int | None = None

    def __str__(self) -> str:
        return f"revision {self.revision}" if self.revision is not None else f"generation {self.generation}"


@dataclass(frozen=True)
class Reading:
    """One observation's verdict: a final code (None: keep waiting) and what it means, in words."""

    code: WaitCode | None
    text: str


@dataclass(frozen=True)
class StoredRevision:
    """What the decision needs of one ReleaseHistory."""

    revision: int
    generation: int | None
    phase: str
    ready: bool


@dataclass(frozen=True)
class ReleaseView:
    """What the decision needs of the Release."""

    generation: int
    observed: int | None
    phase: str
    reason: str
    message: str
    revision: int | None
    last_ready: int | None
    # The remediation policy will still act on a missed deadline (a retry scheduled or due, a rollback or an
    # uninstall not yet done): the Failed it shows is about to change (rudder.domain.remediation).
    remediation_pending: bool
    rollback_pending: bool

    @classmethod
    def of(cls, release: Mapping[str, Any]) -> ReleaseView:
        meta, spec = _mapping(release.get("metadata")), _mapping(release.get("spec"))
        status = _mapping(release.get("status"))
        conditions = [c for c in status.get("conditions") or () if isinstance(c, Mapping)]
        failed = next((c for c in conditions if c.get("type") == ConditionType.FAILED and c.get("status") == "True"),
                      {})
        phase, reason = str(status.get("phase") or ""), str(failed.get("reason") or "")
        if phase == ReleasePhase.FAILED and reason == SUSPENDED_BEFORE_INSTALL:
            phase = ReleasePhase.SUSPENDED.value  # a person must resume it, as for any suspended Release
        return cls(
            generation=_int(meta.get("generation")) or 0,
            observed=_int(status.get("observedGeneration")),
            phase=phase,
            reason=reason,
            message=str(status.get("message") or ""),
            revision=_int(status.get("revision")),
            last_ready=_int(status.get("lastReadyRevision")),
            remediation_pending=_remediation_pending(spec, status),
            rollback_pending=spec.get("rollbackTo") is not None,
        )


def _remediation_pending(spec: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    """Will the controller still act on the current revision's missed deadline? Yes while a retry is scheduled,
    and while the policy has not recorded its outcome (a final action taken, or retries exhausted): the
    controller writes that in the same pass that acts (rudder.kube.remediate)."""
    counters = Counters.from_status(status)
    if counters.remediated is not None:
        return False
    if counters.next_retry_at is not None:
        return True
    policies, _ = parse_remediation(spec, atomic=spec.get("atomic") is True)
    phase = phase_of(_int(status.get("lastReadyRevision")))
    return not (policies.install if phase is Phase.INSTALL else policies.upgrade).inert


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def stored_revisions(histories: Sequence[Mapping[str, Any]]) -> dict[int, StoredRevision]:
    out = {}
    for h in histories:
        revision = _int(_mapping(h.get("spec")).get("revision"))
        if revision is None:
            continue
        status = _mapping(h.get("status"))
        out[revision] = StoredRevision(revision, history_generation(h), str(status.get("phase") or ""),
                                       status.get("ready") is True)
    return out


def decide(release: Mapping[str, Any], histories: Sequence[Mapping[str, Any]], awaited: Awaited) -> Reading:
    """Classify one observation of a Release and its ReleaseHistory objects for the awaited revision."""
    view, stored = ReleaseView.of(release), stored_revisions(histories)
    if awaited.revision is not None:
        return _follow(view, stored, awaited.revision)
    assert awaited.generation is not None
    return _by_generation(view, stored, awaited.generation)


def _by_generation(view: ReleaseView, stored: Mapping[int, StoredRevision], generation: int) -> Reading:
    made = [r.revision for r in stored.values() if r.generation == generation]
    if made:
        return _follow(view, stored, max(made))
    if view.observed is None or view.observed < generation:
        if generation > view.generation:
            return Reading(None, f"generation {generation} not written yet (the Release is at generation "
                                 f"{view.generation})")
        return Reading(None, f"waiting for the controller to act on generation {generation} "
                             f"(it has acted on {view.observed or 'none yet'})")
    newer = sorted((r.generation, r.revision) for r in stored.values()
                   if r.generation is not None and r.generation > generation)
    if newer:
        by_generation, by_revision = newer[0]
        return Reading(WaitCode.SUPERSEDED, f"generation {generation} made no revision before generation "
                                            f"{by_generation} made revision {by_revision}")
    # The controller has acted on the awaited generation (or a later one) without a revision of its own.
    if view.phase == ReleasePhase.FAILED and view.reason not in REVISION_FAILURES:
        since = f" and the Release is Failed at generation {view.observed}" if view.observed > generation else ""
        return Reading(WaitCode.FAILED, f"generation {generation} made no revision{since}: {_failure(view)}")
    if view.phase == ReleasePhase.SUSPENDED:
        return Reading(WaitCode.SUSPENDED, _suspended(view))
    if view.revision is None or view.phase == ReleasePhase.PENDING:
        return Reading(None, _state(view))
    # Same content as the running revision (e.g. only `timeout` changed, or a rollback): that one is awaited.
    return _follow(view, stored, view.revision)


def _follow(view: ReleaseView, stored: Mapping[int, StoredRevision], revision: int) -> Reading:
    record = stored.get(revision)
    current = view.revision
    if record is None and current != revision:
        return _not_stored(view, stored, revision)
    if record is not None and current != revision:
        return _replaced(record, current)
    # The awaited revision is the current one: its status says where it is.
    if view.rollback_pending:
        return Reading(None, f"revision {revision}: a rollback is pending (spec.rollbackTo)")
    if view.phase == ReleasePhase.READY:
        return Reading(WaitCode.READY, f"revision {revision} is Ready")
    if view.phase == ReleasePhase.FAILED:
        if view.reason in REVISION_FAILURES and view.remediation_pending:
            return Reading(None, f"revision {revision} failed ({view.reason}); remediation acts next (retry, "
                                 f"rollback{f' to revision {view.last_ready}' if view.last_ready else ''} or "
                                 "uninstall, per spec.install/spec.upgrade or atomic)")
        made_from = record.generation if record is not None else None
        if view.reason not in REVISION_FAILURES and made_from is not None and (view.observed or 0) > made_from:
            return Reading(WaitCode.FAILED, f"revision {revision} is still current, but the newer spec "
                                            f"(generation {view.observed}) failed: {_failure(view)}")
        return Reading(WaitCode.FAILED, f"revision {revision} failed: {_failure(view)}")
    if view.phase == ReleasePhase.SUSPENDED:
        return Reading(WaitCode.SUSPENDED, _suspended(view))
    return Reading(None, _state(view))


def _not_stored(view: ReleaseView, stored: Mapping[int, StoredRevision], revision: int) -> Reading:
    newest = max([*stored, view.revision or 0])
    if revision <= newest:
        known = ", ".join(map(str, sorted(stored))) or "none"
        return Reading(WaitCode.ERROR, f"revision {revision} has no ReleaseHistory (revisions: {known}): "
                                       "pruned by historyLimit, or never made")
    caught_up = view.observed is not None and view.observed >= view.generation
    if caught_up and view.phase == ReleasePhase.FAILED and view.reason not in REVISION_FAILURES:
        return Reading(WaitCode.FAILED, f"revision {revision} was not made: {_failure(view)}")
    if caught_up and view.phase == ReleasePhase.SUSPENDED:
        return Reading(WaitCode.SUSPENDED, _suspended(view))
    return Reading(None, f"waiting for revision {revision} to be made (newest: {newest or 'none'}); {_state(view)}")


def _replaced(record: StoredRevision, current: int | None) -> Reading:
    """The awaited revision is stored but not current: what happened to it shows in its history."""
    revision = record.revision
    now = f"the Release is at revision {current}"
    if record.phase == HistoryPhase.FAILED and current is not None and current < revision:
        return Reading(WaitCode.ROLLED_BACK, f"revision {revision} failed and revision {current} was made current "
                                             "again")
    if record.ready:
        return Reading(WaitCode.READY, f"revision {revision} became Ready ({now} since)")
    if record.phase == HistoryPhase.FAILED:
        return Reading(WaitCode.FAILED, f"revision {revision} failed ({now} since)")
    if current is not None and (record.phase == HistoryPhase.SUPERSEDED or current > revision):
        how = f"revision {current}" if current > revision else f"a rollback to revision {current}"
        return Reading(WaitCode.SUPERSEDED, f"revision {revision} was replaced by {how} before it became Ready")
    return Reading(None, f"revision {revision} is being applied ({now})")


def _failure(view: ReleaseView) -> str:
    reason = f"{view.reason}: " if view.reason else ""
    return f"{reason}{view.message or 'no message'}"


def _suspended(view: ReleaseView) -> str:
    return (f"suspended at revision {view.revision or '-'} (spec.suspend): nothing becomes Ready until it is "
            "resumed")


def _state(view: ReleaseView) -> str:
    at = f" at revision {view.revision}" if view.revision is not None else ""
    message = f": {view.message}" if view.message else ""
    return f"{view.phase or 'Pending'}{at}{message}"
