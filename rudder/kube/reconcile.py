"""One level-triggered reconciliation of a Release: gather, decide (pure), execute.

The same function runs on every watch event and on every resync tick. It is idempotent: with
unchanged content and no drift it sends no write request at all. All progress lives in the
Release's status and its ReleaseHistory objects, so a restarted controller resumes from them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from rudder.domain.digest import content_digest
from rudder.domain.history import (
    history_inventory,
    history_record,
    history_status_updates,
    plan_history_prune,
)
from rudder.domain.history_auth import HistoryKey, Screened, verify_payload
from rudder.domain.history_codec import HistoryCorrupt
from rudder.domain.ownership import ReleaseIdentity
from rudder.domain.plan import plan_revision, plan_rollback, stored_objects
from rudder.domain.prune import inventory_of, plan_prune
from rudder.domain.redaction import values_from_redactor
from rudder.domain.revision import RevisionAction, RevisionDecision, decide_revision
from rudder.domain.revision_origin import with_generation
from rudder.domain.status import Failure, FailureReason
from rudder.drift_spec import ConflictPolicy
from rudder.kube import release_io as io
from rudder.kube import remediate, secrecy
from rudder.kube import status as report
from rudder.kube.applier import ApplyFailed, FieldsetCache, apply_objects, check_and_dry_run, prune
from rudder.kube.client import Kube
from rudder.kube.drift_repair import converge_drift
from rudder.models import HistoryPhase, ReleaseSpec, SpecError, ValuesSourceKind, parse_release_spec

log = logging.getLogger("rudder.release")

PROMOTION_ANNOTATION = "rudder.dev/promoted-from"
# A failure that may pass without any change we watch (RBAC granted, a webhook back, a slot freed) is
# retried this often.
FAILURE_RETRY_SECONDS = 10.0
# How often a Release reading valuesFrom Secrets re-reads them (one GET each): Secrets are not watched.
SECRET_INPUT_RECHECK_SECONDS = 30.0


@dataclass(frozen=True)
class Settings:
    """Controller-wide options the reconciliation needs."""

    allow_cluster_scoped: frozenset[str] = frozenset()
    history_key: HistoryKey | None = None  # signs and verifies ReleaseHistories; required to reconcile
    accept_unsigned_history: bool = False  # migration: owned histories from before signing are used


@dataclass
class Context:
    """Everything gathered once for one reconciliation."""

    kube: Kube  # the controller's own identity: Release, histories, status, events
    applier: Kube  # impersonates spec.serviceAccountName when set: every managed object goes through it
    release: dict[str, Any]
    spec: ReleaseSpec
    owner: ReleaseIdentity
    histories: list[dict[str, Any]]  # authentic ones only (owned by the Release's uid, signed)
    cache: FieldsetCache
    settings: Settings
    rejected: Screened | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def key(self) -> HistoryKey:
        if self.settings.history_key is None:
            raise RuntimeError("the controller has no history signing key")
        return self.settings.history_key

    def unusable(self, revision: int) -> str | None:
        """Why the history of `revision` was rejected, when one was listed but not used."""
        found = self.rejected.rejection_of(revision) if self.rejected else None
        return found.verdict.message if found else None

    @property
    def status(self) -> Mapping[str, Any]:
        return self.release.get("status") or {}

    @property
    def namespace(self) -> str:
        return self.owner.namespace

    def history(self, revision: int | None) -> dict[str, Any] | None:
        for h in self.histories:
            if int(h["spec"]["revision"]) == revision:
                return h
        return None


def reconcile(kube: Kube, namespace: str, name: str, cache: FieldsetCache, settings: Settings) -> float | None:
    """Bring one Release to its desired state and report it in status.

    Returns when to look again although nothing changed (seconds): the progress deadline of a revision
    not Ready yet, or a retry after a failure that may pass by itself (a refused apply). None: only a change
    wakes it (its own status write, an object it owns or a ConfigMap it reads; see rudder.kube.wakes).
    A Release reading valuesFrom Secrets looks again every SECRET_INPUT_RECHECK_SECONDS."""
    release = kube.get(io.release_ref(namespace, name))
    if release is None or release["metadata"].get("deletionTimestamp"):
        return None
    try:
        spec = parse_release_spec(release.get("spec") or {})
    except SpecError as err:
        report.failed(kube, release, "InvalidSpec", str(err))
        return None
    requeue = _reconcile_spec(kube, release, spec, cache, settings)
    if any(ref.kind is ValuesSourceKind.SECRET for ref in spec.values_from):
        # Secrets are never watched (the controller may only read them by name): look again for changes.
        return SECRET_INPUT_RECHECK_SECONDS if requeue is None else min(requeue, SECRET_INPUT_RECHECK_SECONDS)
    return requeue


def _reconcile_spec(
    kube: Kube, release: dict[str, Any], spec: ReleaseSpec, cache: FieldsetCache, settings: Settings
) -> float | None:
    meta = release["metadata"]
    namespace = meta["namespace"]
    applier = kube.impersonate(namespace, spec.service_account_name) if spec.service_account_name else kube
    owner = ReleaseIdentity(meta["name"], namespace, meta["uid"])
    if settings.history_key is None:
        raise RuntimeError("the controller has no history signing key")
    screened = io.screened_histories(kube, owner, settings.history_key,
                                     accept_unsigned=settings.accept_unsigned_history)
    io.warn_rejected(kube, release, screened)
    ctx = Context(
        kube=kube, applier=applier, release=release, spec=spec, owner=owner,
        histories=list(screened.accepted), cache=cache, settings=settings, rejected=screened,
    )
    force = remediate.handle_annotations(ctx)
    waiting = report.dependencies_pending(ctx)
    if waiting:
        return None
    try:
        inputs = io.fetch_inputs(kube, namespace, spec)
    except io.InputError as err:
        report.failed(kube, release, "InputMissing", str(err))
        return remediate.on_input_missing(ctx)
    secrecy.remember(values_from_redactor(spec.values_from, inputs.values_from_contents))
    digest = content_digest(spec, config_map_data=inputs.config_map_data,
                            values_from_contents=inputs.values_from_contents)
    current = ctx.status.get("revision")
    decision = decide_revision(
        digest, [history_record(h) for h in ctx.histories],
        current_revision=int(current) if current else None, rollback_to=spec.rollback_to,
    )
    if decision.renders and current and spec.rollback_to is None and ctx.status.get("contentDigest") == digest:
        # A rollback pinned these inputs (e.g. valuesFrom content newer than the restored revision):
        # the Release stays at the rolled-back revision until its inputs change again.
        decision = RevisionDecision(RevisionAction.UNCHANGED, int(current), "inputs unchanged since the rollback")
    if decision.renders and not spec.suspend and remediate.report_stalled(ctx, digest):
        return None
    if force:
        # rudder.dev/force-at takes fields other managers hold even under `drift.conflicts: report` (this pass
        # only); ignore rules still hold: those fields were handed to others on purpose.
        ctx.spec = replace(spec, drift=replace(spec.drift, conflicts=ConflictPolicy.FORCE))
    try:
        if force:
            remediate.force_reapply(ctx, reapply=decision.action is RevisionAction.UNCHANGED)
        if decision.action is RevisionAction.FAILED:
            report.failed(kube, release, "RollbackFailed", decision.message, keep_revision=True)
            return None
        if decision.action is RevisionAction.ROLLBACK:
            assert decision.revision is not None
            rollback(ctx, decision.revision, reason="RolledBack")
            return None
        if decision.renders and not spec.suspend:
            deploy(ctx, decision, inputs)
            return None
        if ctx.status.get("revision"):
            return converge(ctx)
        if spec.suspend:
            report.failed(kube, release, "Suspended", "suspended before the first install; nothing applied")
    except ApplyFailed as err:
        report.failed(kube, release, "Forbidden" if err.forbidden else "ApplyFailed", err.message,
                      keep_revision=True)
        return FAILURE_RETRY_SECONDS
    except HistoryCorrupt as err:
        report.failed(kube, release, FailureReason.HISTORY_CORRUPT, str(err), keep_revision=True)
        return FAILURE_RETRY_SECONDS
    except io.HistorySlotTaken as err:
        report.failed(kube, release, FailureReason.HISTORY_CORRUPT, str(err), keep_revision=True)
        return FAILURE_RETRY_SECONDS
    return None


# -- install / upgrade ----------------------------------------------------------------------


def deploy(ctx: Context, decision: RevisionDecision, inputs: io.Inputs) -> None:
    """Render, validate, dry-run, apply, prune, then record the revision."""
    assert decision.revision is not None
    revision = decision.revision
    current = _current_revision(ctx)
    previous = ctx.history(current)
    plan = plan_revision(
        ctx.spec, ctx.owner, revision,
        config_map_data=inputs.config_map_data, values_from_contents=inputs.values_from_contents,
        scope_of=ctx.kube.is_namespaced, allowed_cluster_kinds=ctx.settings.allow_cluster_scoped,
        previous=previous["spec"] if previous else None, previous_revision=current,
        canary_release=_promotion_source(ctx.release),
    )
    if isinstance(plan, Failure):
        report.failed(ctx.kube, ctx.release, plan.reason, plan.message, keep_revision=True)
        return
    # `rudder wait --generation G` finds the revision made for spec generation G by this annotation.
    body = with_generation(plan.history, int(ctx.release["metadata"].get("generation") or 0))
    if ctx.history(revision) is None:
        io.check_history_slot(ctx.kube, body, ctx.owner, ctx.key,
                              accept_unsigned=ctx.settings.accept_unsigned_history)
    _apply_and_prune(ctx, plan.objects, previous)
    history = io.write_history(ctx.kube, body, plan.manifest, ctx.history(revision),
                               owner=ctx.owner, key=ctx.key)
    if ctx.history(revision) is None:
        ctx.histories.append(history)
    _make_current(ctx, revision)
    report.revision_started(ctx, revision, plan.notes, plan.description, content_digest=plan.content_digest)
    reason = "Installed" if current is None else ("Promoted" if "Promoted" in plan.description else "Upgraded")
    io.emit_event(ctx.kube, ctx.release, reason, plan.description)
    _prune_histories(ctx, revision)


def _pinned_digest(ctx: Context, restored: Mapping[str, Any]) -> str | None:
    """The digest of the restored spec with the inputs as they are now: what the rollback acknowledges."""
    try:
        spec = parse_release_spec(restored.get("spec") or {})
        inputs = io.fetch_inputs(ctx.kube, ctx.namespace, spec)
    except (SpecError, io.InputError):
        return None
    return content_digest(spec, config_map_data=inputs.config_map_data,
                          values_from_contents=inputs.values_from_contents)


def _current_revision(ctx: Context) -> int | None:
    current = ctx.status.get("revision")
    return int(current) if current else None


def _promotion_source(release: Mapping[str, Any]) -> str | None:
    """The CanaryRelease named by the promotion annotation, when it was set for this very generation."""
    meta = release["metadata"]
    value = str((meta.get("annotations") or {}).get(PROMOTION_ANNOTATION, ""))
    name, _, generation = value.partition("@")
    if name and generation == str(meta.get("generation")):
        return name
    return None


def _apply_and_prune(
    ctx: Context, objects: Sequence[Mapping[str, Any]], previous: Mapping[str, Any] | None
) -> None:
    stale = None
    if previous is not None:
        try:
            stale = plan_prune(history_inventory(previous["spec"]), inventory_of(objects))
        except HistoryCorrupt as err:
            # Upgrading away from a damaged revision must stay possible; what it listed is left alone.
            io.emit_event(ctx.kube, ctx.release, "PruneSkipped",
                          f"revision {previous['spec'].get('revision')}: {err}; its objects are not pruned",
                          warning=True)
    check_and_dry_run(ctx.applier, ctx.owner, objects, ctx.spec.drift)
    apply_objects(ctx.applier, objects, ctx.cache, ctx.owner.uid, ctx.spec.drift)
    if stale is not None:
        prune(ctx.applier, [*stale.delete, *stale.keep], ctx.namespace, ctx.owner)


def _make_current(ctx: Context, revision: int, *, failed: int | None = None) -> None:
    records = [history_record(h) for h in ctx.histories]
    updates = history_status_updates(records, revision, ctx.now, became_current=True)
    if failed is not None:
        updates[failed] = {**updates.get(failed, {}), "phase": HistoryPhase.FAILED.value}
    io.write_history_statuses(ctx.kube, ctx.namespace, ctx.histories, updates)


def _prune_histories(ctx: Context, current: int) -> None:
    last_ready = ctx.status.get("lastReadyRevision")
    doomed = plan_history_prune([history_record(h) for h in ctx.histories], ctx.spec.history_limit,
                                current=current, last_ready=int(last_ready) if last_ready else None)
    for h in ctx.histories:
        if int(h["spec"]["revision"]) in doomed:
            io.delete_history(ctx.kube, ctx.namespace, h)


# -- rollback -------------------------------------------------------------------------------


def rollback(ctx: Context, target: int, *, reason: str, failed_revision: int | None = None) -> None:
    """Make revision `target` current again by applying its stored manifest exactly (no re-render)."""
    history = ctx.history(target)
    if history is None:
        rejected = ctx.unusable(target)
        if rejected:
            report.failed(ctx.kube, ctx.release, FailureReason.HISTORY_CORRUPT,
                          f"revision {target}: {rejected}; nothing applied", keep_revision=True)
            return
        report.failed(ctx.kube, ctx.release, FailureReason.ROLLBACK_FAILED,
                      f"revision {target} does not exist", keep_revision=True)
        return
    current = _current_revision(ctx)
    secret = _verified_secret_data(ctx, history)
    plan = plan_rollback(history, secret, current_revision=current, owner=ctx.owner,
                         scope_of=ctx.kube.is_namespaced, allowed_cluster_kinds=ctx.settings.allow_cluster_scoped)
    if isinstance(plan, Failure):
        report.failed(ctx.kube, ctx.release, plan.reason, plan.message, keep_revision=True)
        return
    _apply_and_prune(ctx, plan.objects, ctx.history(current))
    # The spec follows the revision, so the next reconcile sees unchanged content.
    live_spec = ctx.release.get("spec") or {}
    # Removing an absent field fails the whole patch (atomic: no rollbackTo; no postRender to drop).
    ops = [op for op in plan.spec_patch if op["op"] != "remove" or op["path"].removeprefix("/spec/") in live_spec]
    restored = io.json_patch_spec(ctx.kube, ctx.release, ops)
    _make_current(ctx, target, failed=failed_revision)
    report.revision_started(ctx, target, plan.notes, plan.description, content_digest=_pinned_digest(ctx, restored))
    io.emit_event(ctx.kube, ctx.release, reason, plan.description)


def _verified_secret_data(ctx: Context, history: Mapping[str, Any]) -> dict[str, str] | None:
    """The history's Secret data, checked against the payload digest the history was signed with."""
    revision = history["spec"].get("revision")
    try:
        secret = io.history_secret_data(ctx.kube, ctx.namespace, history)
    except HistoryCorrupt as err:
        raise HistoryCorrupt(f"revision {revision}: {err}; nothing applied") from err
    problem = verify_payload(history, secret)
    if problem:
        raise HistoryCorrupt(f"revision {revision}: {problem}; nothing applied")
    return secret


def _stored_objects(ctx: Context, history: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    """A stored revision's objects, authenticated and validated like rendered ones (raises HistoryCorrupt)."""
    secret = _verified_secret_data(ctx, history)
    try:
        return stored_objects(history, secret, ctx.owner, scope_of=ctx.kube.is_namespaced,
                              allowed_cluster_kinds=ctx.settings.allow_cluster_scoped)
    except HistoryCorrupt as err:
        raise HistoryCorrupt(f"revision {history['spec'].get('revision')}: {err}; nothing applied") from err


stored_objects_of = _stored_objects  # for rudder.kube.remediate (retries and force-at re-apply it)


# -- steady state ---------------------------------------------------------------------------


def converge(ctx: Context) -> float | None:
    """Unchanged content: repair drift and suspend/resume, then report health; returns the requeue-after."""
    revision = int(ctx.status["revision"])
    history = ctx.history(revision)
    if history is None:
        rejected = ctx.unusable(revision)
        if rejected:
            report.failed(ctx.kube, ctx.release, FailureReason.HISTORY_CORRUPT,
                          f"revision {revision}: {rejected}; nothing applied", keep_revision=True)
            return None
        report.failed(ctx.kube, ctx.release, "HistoryMissing",
                      f"the ReleaseHistory of revision {revision} is gone", keep_revision=True)
        return None
    if remediate.uninstall_pending(ctx, history):
        remediate.finish_uninstall(ctx, revision, history, "uninstall resumed")
        return None
    inventory = history_inventory(history["spec"])
    live = report.read_live(ctx, inventory)
    if report.apply_suspension(ctx, live):
        live = report.read_live(ctx, inventory)
    if not ctx.spec.suspend:
        live = converge_drift(ctx, revision, live, lambda: _stored_objects(ctx, history),
                              lambda: report.read_live(ctx, inventory))
    outcome = report.health(ctx, revision, live)
    if outcome.revision_failed:
        # spec.install / spec.upgrade remediation (atomic is its shorthand): retry, roll back, uninstall
        requeue = remediate.on_deadline(ctx, revision, history)
        if requeue != remediate.NOT_HANDLED:
            return requeue
    if outcome.ready:
        remediate.on_ready(ctx, history)
    if outcome.revision_failed:
        io.write_history_statuses(ctx.kube, ctx.namespace, [history],
                                  {revision: {"phase": HistoryPhase.FAILED.value}}
                                  if (history.get("status") or {}).get("phase") != HistoryPhase.FAILED.value
                                  else {})
    if outcome.ready and not (history.get("status") or {}).get("ready"):
        io.write_history_statuses(ctx.kube, ctx.namespace, [history], {revision: {"ready": True}})
    return outcome.requeue_after
