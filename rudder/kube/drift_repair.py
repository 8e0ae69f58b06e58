"""Drift of an unchanged revision, under `spec.drift`: notice it, repair or report it, say so in status.

Noticing costs no request: an object is looked at only when the digest of the fields Rudder owns changed
since Rudder applied it (or is unknown, after a restart), see `FieldsetCache`. Then the stored manifest of the
revision is compared with the live objects (`rudder.domain.drift_policy`), ignore rules applied.

- `enabled`: the revision is re-applied as today (ignored fields another manager owns left out); a repair
  that changed reported fields is a `DriftRepaired` event and `Drifted=False`; with `conflicts: report` a
  conflict stops the repair (nothing applied) and is `Drifted=True/Conflict` with the API server's message.
- `warn`: nothing is applied; `Drifted=True` and a Warning event `Drifted` list the objects and fields.
- `disabled`: nothing is looked at (deleted objects are not recreated either); the condition is removed.
While a CanaryRelease of the Release runs, drift is neither repaired nor reported: it drives traffic fields.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from rudder.domain.drift_policy import DriftReport, describe_drift, drift_status, find_drift, settled
from rudder.drift_spec import DriftMode
from rudder.kube import release_io as io
from rudder.kube import status as report
from rudder.kube.applier import ApplyFailed, apply_objects, check_and_dry_run
from rudder.kube.client import Ref
from rudder.models import ObjectRef

if TYPE_CHECKING:
    from rudder.kube.reconcile import Context

log = logging.getLogger("rudder.release")

Live = dict[ObjectRef, dict[str, Any] | None]


def _desired(objects: tuple[dict[str, Any], ...]) -> dict[tuple[str, str, str], Mapping[str, Any]]:
    """The revision's objects by (group, kind, name), as `find_drift` looks them up."""
    return {(str(o.get("apiVersion", "")).rpartition("/")[0], str(o.get("kind", "")),
             str((o.get("metadata") or {}).get("name", ""))): o for o in objects}


def _write(ctx: Context, found: DriftReport) -> bool:
    """Write the drift part of the status when it changed; True when it did."""
    generation = int(ctx.release["metadata"].get("generation") or 0)
    status = drift_status(found, ctx.status, ctx.now, generation)
    if status is None or not io.patch_status(ctx.kube, ctx.release, status):
        return False
    merged = {**ctx.status, **status}
    if status.get("drifted") is None:
        merged.pop("drifted", None)
    ctx.release = {**ctx.release, "status": merged}
    return True


def converge_drift(
    ctx: Context, revision: int, live: Live,
    stored: Callable[[], tuple[dict[str, Any], ...]], reread: Callable[[], Live],
) -> Live:
    """Handle drift of the current revision under spec.drift; returns the live objects (re-read after a repair)."""
    policy = ctx.spec.drift
    if policy.mode is DriftMode.DISABLED:
        _write(ctx, DriftReport(policy.mode))
        return live
    candidates = {ref: obj for ref, obj in live.items() if ctx.cache.drifted(
        ctx.owner.uid, Ref(ref.api_version, ref.kind, ref.name, ctx.namespace), obj)}
    if candidates and report.canary_active(ctx):
        # A CanaryRelease drives traffic fields of this Release's objects (route weights): repairing or
        # reporting them would fight its traffic shift. Drift handling resumes when the canary has finished.
        return live
    if not candidates:
        _write(ctx, DriftReport(policy.mode))
        return live
    objects = stored()
    desired = _desired(objects)
    drifted = find_drift(candidates, desired, policy.ignore)
    if policy.mode is DriftMode.WARN:
        for ref, obj in candidates.items():
            want = desired.get((ref.group, ref.kind, ref.name))
            if obj is not None and want is not None and settled(want, obj, policy.ignore):
                # Nothing to report and nothing another manager could change unseen: the digest of this
                # state notices the next drift, so later passes need not read the stored manifest.
                ctx.cache.remember(ctx.owner.uid, obj)
        if _write(ctx, DriftReport(policy.mode, drifted)) and drifted:
            io.emit_event(ctx.kube, ctx.release, "Drifted", "not repaired (spec.drift.mode is warn): "
                          + describe_drift(drifted), warning=True)
        return live
    try:
        check_and_dry_run(ctx.applier, ctx.owner, objects, policy)
    except ApplyFailed as err:
        if not err.conflict:
            raise
        if _write(ctx, DriftReport(policy.mode, drifted, conflict=err.message)):
            io.emit_event(ctx.kube, ctx.release, "DriftConflict",
                          f"drift not repaired (spec.drift.conflicts is report): {err.message}", warning=True)
        return live
    apply_objects(ctx.applier, objects, ctx.cache, ctx.owner.uid, policy)
    log.info("%s/%s: re-applied revision %d (%d object(s) drifted or unknown)",
             ctx.namespace, ctx.owner.name, revision, len(candidates))
    _write(ctx, DriftReport(policy.mode, drifted, repaired=True))
    if drifted:
        io.emit_event(ctx.kube, ctx.release, "DriftRepaired", "repaired: " + describe_drift(drifted))
    return reread()
