"""`--wait`: follow a Release until the controller has acted on what the command wrote.

The decision is pure (`release_progress`): a status only counts once the controller has observed the
generation the command produced, so a Ready left over from the previous revision never ends the wait.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rudder.cli.progress import Finished, Progress, Waiting, poll
from rudder.models import ReleasePhase

POLL_INTERVAL = 1.0


@dataclass(frozen=True)
class Goal:
    """What the command waits for: the controller at `generation` (or later), and for a rollback the
    `revision` that must become current."""

    generation: int
    revision: int | None = None


@dataclass(frozen=True)
class Result:
    """How the wait ended: Ready, or not (Failed, Suspended, deleted), with the status message."""

    ready: bool
    phase: str
    revision: int | None
    message: str


def release_progress(release: Mapping[str, Any] | None, goal: Goal) -> Waiting | Finished[Result]:
    """Finished when the Release is Ready (or Failed) for what the command wrote; else what is awaited."""
    if release is None:
        return Finished(Result(False, "Deleted", None, "the Release was deleted while waiting"))
    meta, spec = release.get("metadata") or {}, release.get("spec") or {}
    status = release.get("status") or {}
    generation = max(int(meta.get("generation") or 0), goal.generation)
    observed = status.get("observedGeneration")
    phase = str(status.get("phase") or "")
    revision = status.get("revision")
    message = str(status.get("message") or "")
    if observed is None or int(observed) < generation:
        return Waiting(f"waiting for the controller to act on generation {generation}")
    if phase == ReleasePhase.FAILED:
        return Finished(Result(False, phase, revision, message))
    rollback_to = spec.get("rollbackTo")
    if rollback_to is not None:
        target = rollback_to.get("revision") if isinstance(rollback_to, Mapping) else None
        return Waiting(f"rolling back to revision {target or 'previous'}")
    if goal.revision is not None and revision != goal.revision:
        return Waiting(f"waiting for revision {goal.revision} to become current (now {revision})")
    if phase == ReleasePhase.READY:
        return Finished(Result(True, phase, revision, message))
    if phase == ReleasePhase.SUSPENDED:
        return Finished(Result(False, phase, revision, "the Release is suspended (spec.suspend): nothing will "
                                                        "become Ready until it is resumed"))
    ready = status.get("ready")
    detail = f", {ready} resources ready" if ready else ""
    return Waiting(f"{phase or 'Pending'} at revision {revision or '-'}{detail}: {message}".rstrip(": "))


def wait_for_release(
    fetch: Callable[[], Mapping[str, Any] | None],
    goal: Goal,
    *,
    timeout: float,
    progress: Progress,
    interval: float = POLL_INTERVAL,
) -> Result | Waiting:
    """Poll until the Release is Ready or Failed for `goal`; the last Waiting state when `timeout` passed."""
    outcome = poll(lambda: release_progress(fetch(), goal), timeout=timeout, interval=interval, progress=progress)
    return outcome.value if isinstance(outcome, Finished) else outcome


def gone_progress(release: Mapping[str, Any] | None) -> Waiting | Finished[bool]:
    """For `uninstall --wait`: finished once the Release no longer exists (its finalizer has run)."""
    if release is None:
        return Finished(True)
    return Waiting("uninstalling: the controller is deleting the Release's objects")
