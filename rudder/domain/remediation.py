"""Failure remediation decisions (pure): retry the failed revision, roll back, uninstall, or stay Failed.

The counters live in `status.remediation`, keyed by the content digest they were counted for, so they survive
a controller restart and start afresh when the content changes. A retry re-applies the failed revision (no new
ReleaseHistory: helm-controller#1359 filled etcd with one per retry); a rollback restores the last Ready
revision exactly, as `spec.rollbackTo` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from rudder.domain.timestamps import format_time, parse_time
from rudder.remediation_spec import MAX_BACKOFF_SECONDS, FinalAction, Remediation, Strategy

RECONCILE_AT = "rudder.dev/reconcile-at"
FORCE_AT = "rudder.dev/force-at"
RESET_AT = "rudder.dev/reset-at"
# annotation -> status field recording the last value handled (Flux's lastHandledReconcileAt and siblings)
HANDLED_FIELDS = {RECONCILE_AT: "lastHandledReconcileAt", FORCE_AT: "lastHandledForceAt",
                  RESET_AT: "lastHandledResetAt"}


class Phase(StrEnum):
    """Which policy applies: install (no revision was ever Ready) or upgrade."""

    INSTALL = "install"
    UPGRADE = "upgrade"


@dataclass(frozen=True)
class Counters:
    """`status.remediation`."""

    digest: str | None = None
    install_failures: int = 0
    upgrade_failures: int = 0
    next_retry_at: datetime | None = None
    remediated: FinalAction | None = None  # the final action taken: nothing more until content or reset

    @classmethod
    def from_status(cls, status: Mapping[str, Any]) -> Counters:
        raw = status.get("remediation")
        if not isinstance(raw, Mapping):
            return cls()
        remediated = raw.get("remediated")
        return cls(
            digest=raw.get("digest") if isinstance(raw.get("digest"), str) else None,
            install_failures=_count(raw.get("installFailures")),
            upgrade_failures=_count(raw.get("upgradeFailures")),
            next_retry_at=parse_time(raw.get("nextRetryAt")),
            remediated=FinalAction(remediated) if remediated in {a.value for a in FinalAction} else None,
        )

    def to_dict(self) -> dict[str, Any] | None:
        """The status body; None (the field is removed) when there is nothing to keep."""
        if self == Counters():
            return None
        out: dict[str, Any] = {"installFailures": self.install_failures, "upgradeFailures": self.upgrade_failures}
        optional = {"digest": self.digest, "remediated": self.remediated and self.remediated.value,
                    "nextRetryAt": self.next_retry_at and format_time(self.next_retry_at)}
        out.update({k: v for k, v in optional.items() if v is not None})
        return out

    def failures(self, phase: Phase) -> int:
        return self.install_failures if phase is Phase.INSTALL else self.upgrade_failures

    def counted(self, phase: Phase) -> Counters:
        if phase is Phase.INSTALL:
            return replace(self, install_failures=self.install_failures + 1)
        return replace(self, upgrade_failures=self.upgrade_failures + 1)

    def for_digest(self, digest: str | None) -> Counters:
        """These counters when they were counted for `digest`; fresh ones for other content."""
        return self if self.digest == digest else Counters(digest=digest)


def _count(raw: Any) -> int:
    return raw if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0 else 0


class Step(StrEnum):
    """What to do about a failed revision now."""

    IGNORE = "Ignore"  # no policy: stay Failed exactly as before remediation existed (nothing recorded)
    WAIT = "Wait"  # a retry is due later (backoff / retryInterval): requeue
    RETRY = "Retry"  # re-apply the failed revision and restart its deadline
    ROLLBACK = "Rollback"  # restore the last Ready revision exactly
    UNINSTALL = "Uninstall"  # delete the failed first install's objects
    STALL = "Stall"  # retries used up (or already remediated): stay Failed until content changes or reset


@dataclass(frozen=True)
class RemediationDecision:
    step: Step
    counters: Counters
    message: str
    requeue_after: float | None = None


def backoff_seconds(policy: Remediation, failures: int) -> float:
    """The wait before retry number `failures` (1-based): the base, doubled per retry, capped."""
    if policy.strategy is Strategy.RETRY_ON_FAILURE:
        return policy.retry_interval_seconds
    return float(min(policy.backoff_seconds * 2.0 ** max(failures - 1, 0), MAX_BACKOFF_SECONDS))


def phase_of(last_ready_revision: int | None) -> Phase:
    return Phase.INSTALL if last_ready_revision is None else Phase.UPGRADE


def decide_remediation(
    policy: Remediation, phase: Phase, counters: Counters, digest: str | None, *, now: datetime,
    rollback_target: int | None,
) -> RemediationDecision:
    """The next step for a revision (content `digest`) that missed its deadline.

    Each failure is counted once: counting schedules the retry (`nextRetryAt`), and the retry restarts the
    deadline, so the next failure is a new one. Past `retries` the final action runs once, then the Release
    stays Failed (Step.STALL) until its content changes or `rudder.dev/reset-at` clears the counters."""
    c = counters.for_digest(digest)
    if c.remediated is not None:
        return RemediationDecision(Step.STALL, c, f"already remediated ({c.remediated.value})")
    if policy.inert:
        return RemediationDecision(Step.IGNORE, counters, "no remediation configured")
    if c.next_retry_at is not None:
        if now < c.next_retry_at:
            return RemediationDecision(Step.WAIT, c, "retry pending",
                                       requeue_after=(c.next_retry_at - now).total_seconds())
        retry = c.failures(phase)
        return RemediationDecision(Step.RETRY, replace(c, next_retry_at=None), f"{phase.value} retry {retry}")
    c = c.counted(phase)
    failures = c.failures(phase)
    if policy.strategy is Strategy.RETRY_ON_FAILURE or failures <= policy.retries:
        wait = backoff_seconds(policy, failures)
        limit = "" if policy.strategy is Strategy.RETRY_ON_FAILURE else f" of {policy.retries}"
        return RemediationDecision(
            Step.WAIT, replace(c, next_retry_at=now + timedelta(seconds=wait)),
            f"{phase.value} failure {failures}: retry {failures}{limit} in {wait:g}s", requeue_after=wait)
    if not policy.remediates_last_failure or policy.action is FinalAction.NONE:
        return RemediationDecision(Step.STALL, replace(c, remediated=FinalAction.NONE),
                                   f"{phase.value} failed {failures} time(s); retries exhausted, left Failed")
    if policy.action is FinalAction.ROLLBACK:
        if rollback_target is None:
            return RemediationDecision(Step.STALL, replace(c, remediated=FinalAction.NONE),
                                       f"{phase.value} failed {failures} time(s); no Ready revision to roll back to")
        return RemediationDecision(Step.ROLLBACK, replace(c, remediated=FinalAction.ROLLBACK),
                                   f"{phase.value} failed {failures} time(s); rolling back to revision "
                                   f"{rollback_target}")
    return RemediationDecision(Step.UNINSTALL, replace(c, remediated=FinalAction.UNINSTALL),
                               f"{phase.value} failed {failures} time(s); uninstalling")


INPUTS_MISSING = "inputs-missing"  # the counters' key while no content digest can be computed


def count_input_failure(
    policy: Remediation, phase: Phase, counters: Counters, *, now: datetime
) -> RemediationDecision | None:
    """A missing input under `RetryOnFailure`: count one failure per `retryInterval` and look again then.
    None for other strategies (the input's creation wakes the Release; nothing is counted)."""
    if policy.strategy is not Strategy.RETRY_ON_FAILURE:
        return None
    c = counters.for_digest(INPUTS_MISSING)
    if c.next_retry_at is not None and now < c.next_retry_at:
        return RemediationDecision(Step.WAIT, c, "retry pending",
                                   requeue_after=(c.next_retry_at - now).total_seconds())
    c = c.counted(phase)
    wait = policy.retry_interval_seconds
    return RemediationDecision(Step.WAIT, replace(c, next_retry_at=now + timedelta(seconds=wait)),
                               f"{phase.value} failure {c.failures(phase)}: retry in {wait:g}s", requeue_after=wait)


def stalled(counters: Counters, digest: str | None) -> bool:
    """True when this content was already remediated: deploying it again waits for a reset."""
    return counters.digest == digest and counters.remediated is not None


def pending_annotations(annotations: Mapping[str, Any], status: Mapping[str, Any]) -> dict[str, str]:
    """The manual-request annotations whose value was not handled yet: annotation -> value."""
    out = {}
    for annotation, status_field in HANDLED_FIELDS.items():
        value = annotations.get(annotation)
        if isinstance(value, str) and value and value != status.get(status_field):
            out[annotation] = value
    return out
