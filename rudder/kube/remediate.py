"""Executing failure remediation and the manual-request annotations (decisions in rudder.domain.remediation).

A retry re-applies the failed revision's stored manifest and restarts its deadline; a rollback goes through the
one rollback path (`reconcile.rollback`, exact stored manifest, no new revision); an uninstall deletes the failed
first install's objects and leaves the Release Failed with no current revision. `rudder.dev/reconcile-at`,
`force-at` and `reset-at` are each handled once per value (recorded as status.lastHandled*At).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rudder.domain.history import history_inventory, history_record
from rudder.domain.remediation import (
    FORCE_AT,
    HANDLED_FIELDS,
    INPUTS_MISSING,
    RECONCILE_AT,
    RESET_AT,
    Counters,
    Phase,
    Step,
    count_input_failure,
    decide_remediation,
    pending_annotations,
    phase_of,
    stalled,
)
from rudder.domain.timestamps import format_time
from rudder.kube import reconcile  # a cycle by design: reconcile calls in here, this calls its rollback
from rudder.kube import release_io as io
from rudder.kube import status as report
from rudder.kube.applier import apply_objects, check_and_dry_run, prune
from rudder.models import HistoryPhase, ReleasePhase
from rudder.remediation_spec import FinalAction

if TYPE_CHECKING:
    from rudder.kube.reconcile import Context
log = logging.getLogger("rudder.release")

UNINSTALLED = {FinalAction.UNINSTALL: ": its objects were deleted", FinalAction.ROLLBACK: "", FinalAction.NONE: ""}
NOT_HANDLED = -1.0  # on_deadline: no policy, the caller keeps today's behaviour (history marked Failed)


def counters(ctx: Context) -> Counters:
    return Counters.from_status(ctx.status)


def _write(ctx: Context, status: Mapping[str, Any]) -> None:
    io.patch_status(ctx.kube, ctx.release, status)
    ctx.release = {**ctx.release, "status": {**ctx.status, **status}}


def _last_ready(ctx: Context) -> int | None:
    last_ready = ctx.status.get("lastReadyRevision")
    return int(last_ready) if last_ready else None


def on_deadline(ctx: Context, revision: int, history: Mapping[str, Any]) -> float | None:
    """Revision `revision` missed its deadline: retry, remediate or stay Failed. Returns the requeue-after,
    or NOT_HANDLED when no policy applies."""
    last_ready = _last_ready(ctx)
    phase = phase_of(last_ready)
    policy = ctx.spec.remediation.install if phase is Phase.INSTALL else ctx.spec.remediation.upgrade
    digest = history_record(history).content_digest
    decision = decide_remediation(policy, phase, counters(ctx), digest, now=ctx.now,
                                  rollback_target=last_ready if last_ready != revision else None)
    if decision.step is Step.IGNORE:
        return NOT_HANDLED
    before = counters(ctx)
    if decision.step is Step.WAIT:
        if decision.counters != before:
            _mark_failed(ctx, revision, history)
            _write(ctx, {"remediation": decision.counters.to_dict()})
            io.emit_event(ctx.kube, ctx.release, "RemediationRetryScheduled",
                          f"revision {revision}: {decision.message}", warning=True)
        return decision.requeue_after
    if decision.step is Step.RETRY:
        _reapply(ctx, history)
        io.write_history_statuses(ctx.kube, ctx.namespace, [history],
                                  {revision: {"phase": HistoryPhase.DEPLOYED.value}})
        _write(ctx, {"remediation": decision.counters.to_dict(), "revisionStartedAt": format_time(ctx.now),
                     "phase": ReleasePhase.PROGRESSING.value, "message": f"revision {revision}: {decision.message}"})
        io.emit_event(ctx.kube, ctx.release, "RemediationRetry", f"revision {revision}: {decision.message}")
        return None
    if decision.step is Step.ROLLBACK:
        assert last_ready is not None
        reason = "AtomicRollback" if ctx.spec.atomic and policy.retries == 0 else "RemediationRollback"
        # the one rollback path of rollbackTo and atomic: the stored manifest exactly, no new revision
        reconcile.rollback(ctx, last_ready, reason=reason, failed_revision=revision)
        _write(ctx, {"remediation": decision.counters.to_dict()})
        return None
    _mark_failed(ctx, revision, history)
    if decision.step is Step.UNINSTALL:
        _write(ctx, {"remediation": decision.counters.to_dict()})  # first: a restart finishes the uninstall
        finish_uninstall(ctx, revision, history, decision.message)
        return None
    if before.remediated is None:  # STALL, reported once
        _write(ctx, {"remediation": decision.counters.to_dict()})
        io.emit_event(ctx.kube, ctx.release, "RemediationExhausted", f"revision {revision}: {decision.message}",
                      warning=True)
    return None


def _mark_failed(ctx: Context, revision: int, history: Mapping[str, Any]) -> None:
    if (history.get("status") or {}).get("phase") != HistoryPhase.FAILED.value:
        io.write_history_statuses(ctx.kube, ctx.namespace, [history], {revision: {"phase": HistoryPhase.FAILED.value}})


def _reapply(ctx: Context, history: Mapping[str, Any]) -> None:
    objects = reconcile.stored_objects_of(ctx, history)
    check_and_dry_run(ctx.applier, ctx.owner, objects, ctx.spec.drift)
    apply_objects(ctx.applier, objects, ctx.cache, ctx.owner.uid, ctx.spec.drift)


def uninstall_pending(ctx: Context, history: Mapping[str, Any]) -> bool:
    """True when the current revision's content was remediated by uninstall (a restart may have stopped it)."""
    c = counters(ctx)
    return c.remediated is FinalAction.UNINSTALL and stalled(c, history_record(history).content_digest)


def finish_uninstall(ctx: Context, revision: int, history: Mapping[str, Any], message: str) -> None:
    """Delete the failed install's objects (those carrying this Release's ownership; kept ones stay) and leave
    the Release Failed with no current revision; its history stays, marked Failed, for `rudder history`."""
    prune(ctx.applier, history_inventory(history["spec"]), ctx.namespace, ctx.owner)
    _write(ctx, {"revision": None, "revisionStartedAt": None, "resources": [], "ready": "0/0"})
    report.failed(ctx.kube, ctx.release, "RemediationUninstall",
                  f"revision {revision}: {message}; its objects were deleted "
                  f"(set {RESET_AT} or change the spec to install again)")
    log.info("%s/%s: uninstalled failed revision %d", ctx.namespace, ctx.owner.name, revision)


def report_stalled(ctx: Context, digest: str) -> bool:
    """Before deploying `digest`: True (and status says so) when that content was already remediated."""
    c = counters(ctx)
    if not stalled(c, digest):
        return False
    assert c.remediated is not None
    report.failed(ctx.kube, ctx.release, "RemediationExhausted",
                  f"this content failed and was remediated ({c.remediated.value}{UNINSTALLED[c.remediated]}); "
                  f"set {RESET_AT} or change the spec to try again", keep_revision=True)
    return True


def handle_annotations(ctx: Context) -> bool:
    """Handle new reconcile-at / reset-at values (force-at is applied by `force_pending`'s caller).
    Returns True when force-at asks for a forced re-apply."""
    annotations = ctx.release["metadata"].get("annotations") or {}
    pending = pending_annotations(annotations, ctx.status)
    if not pending:
        return False
    handled: dict[str, Any] = {}
    if RESET_AT in pending:
        handled["remediation"] = None
        io.emit_event(ctx.kube, ctx.release, "RemediationReset",
                      f"{RESET_AT}={pending[RESET_AT]}: retry counters cleared")
    if RECONCILE_AT in pending:
        io.emit_event(ctx.kube, ctx.release, "ReconcileRequested", f"{RECONCILE_AT}={pending[RECONCILE_AT]}")
    for annotation in (RESET_AT, RECONCILE_AT):
        if annotation in pending:
            handled[HANDLED_FIELDS[annotation]] = pending[annotation]
    if handled:
        _write(ctx, handled)
    return FORCE_AT in pending


def force_reapply(ctx: Context, *, reapply: bool) -> None:
    """`rudder.dev/force-at`: apply the current revision's stored manifest again, forced (server-side apply
    takes the fields back from any other field manager), whether or not drift was seen. With new content
    (`reapply=False`) the deploy that follows applies, forced as always: the value is only recorded."""
    value = str((ctx.release["metadata"].get("annotations") or {}).get(FORCE_AT))
    revision = ctx.status.get("revision")
    history = ctx.history(int(revision)) if revision and reapply else None
    if history is not None:
        _reapply(ctx, history)
        io.emit_event(ctx.kube, ctx.release, "ForcedApply",
                      f"{FORCE_AT}={value}: revision {revision} applied again, forced")
    _write(ctx, {HANDLED_FIELDS[FORCE_AT]: value})


def on_ready(ctx: Context, history: Mapping[str, Any]) -> None:
    """The current revision is Ready: counters kept for its content are done with (a retry healed it)."""
    c = counters(ctx)
    healed = (history_record(history).content_digest, INPUTS_MISSING)
    if c != Counters() and c.digest in healed and c.remediated is None:
        _write(ctx, {"remediation": None})
        io.emit_event(ctx.kube, ctx.release, "RemediationRecovered",
                      f"revision {history['spec'].get('revision')} is Ready after "
                      f"{c.install_failures + c.upgrade_failures} failure(s)")


def on_input_missing(ctx: Context) -> float | None:
    """An input (chart ConfigMap, valuesFrom) is missing. Its creation wakes the Release anyway; with
    `strategy.name: RetryOnFailure` the Release also looks again every `retryInterval`, counting failures."""
    phase = phase_of(_last_ready(ctx))
    policy = ctx.spec.remediation.install if phase is Phase.INSTALL else ctx.spec.remediation.upgrade
    decision = count_input_failure(policy, phase, counters(ctx), now=ctx.now)
    if decision is None:
        return None
    if decision.counters != counters(ctx):
        _write(ctx, {"remediation": decision.counters.to_dict()})
    return decision.requeue_after
