"""`spec.install` / `spec.upgrade`: what the controller does when a revision fails (parsed, pure).

Shaped after Flux's helm-controller v2 API (`install|upgrade.remediation` and `install|upgrade.strategy`) so a
HelmRelease's settings carry over; docs/release.md lists the differences (`none`, `backoff`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rudder.durations import parse_duration

DEFAULT_BACKOFF_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 300.0
DEFAULT_RETRY_INTERVAL_SECONDS = 300.0
MAX_RETRIES = 1000


class Strategy(StrEnum):
    """`strategy.name`: remediate after the retries, or keep retrying at `retryInterval` (never remediate)."""

    REMEDIATE_ON_FAILURE = "RemediateOnFailure"
    RETRY_ON_FAILURE = "RetryOnFailure"


class FinalAction(StrEnum):
    """`remediation.strategy`: the action once the retries are used up."""

    ROLLBACK = "rollback"
    UNINSTALL = "uninstall"
    NONE = "none"


@dataclass(frozen=True)
class Remediation:
    """The failure policy of one phase (install: no revision was ever current; upgrade: otherwise)."""

    action: FinalAction
    retries: int = 0
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS
    remediate_last_failure: bool | None = None  # None: True when retries > 0 (Flux's default)
    strategy: Strategy = Strategy.REMEDIATE_ON_FAILURE
    retry_interval_seconds: float = DEFAULT_RETRY_INTERVAL_SECONDS

    @property
    def remediates_last_failure(self) -> bool:
        return self.retries > 0 if self.remediate_last_failure is None else self.remediate_last_failure

    @property
    def inert(self) -> bool:
        """True when a failure just stays Failed, as before remediation existed (no counters are kept)."""
        return (self.strategy is Strategy.REMEDIATE_ON_FAILURE and self.retries == 0
                and not self.remediates_last_failure)


@dataclass(frozen=True)
class RemediationSpec:
    """Both phases' policies."""

    install: Remediation = field(default_factory=lambda: Remediation(FinalAction.UNINSTALL))
    upgrade: Remediation = field(default_factory=lambda: Remediation(FinalAction.ROLLBACK))


ATOMIC_UPGRADE = Remediation(FinalAction.ROLLBACK, retries=0, remediate_last_failure=True)


def _duration(raw: Any, path: str, default: float, errors: list[tuple[str, str]]) -> float:
    if raw is None:
        return default
    try:
        seconds = parse_duration(raw) if isinstance(raw, str) else None
    except ValueError as exc:
        errors.append((path, str(exc)))
        return default
    if seconds is None or seconds <= 0:
        errors.append((path, f"must be a positive duration such as 30s, not {raw!r}"))
        return default
    return seconds


def _phase(raw: Any, path: str, default: Remediation, errors: list[tuple[str, str]]) -> Remediation:
    if raw is None:
        return default
    if not isinstance(raw, Mapping):
        errors.append((path, f"must be a mapping, not {type(raw).__name__}"))
        return default
    strategy_raw = raw.get("strategy") or {}
    remediation_raw = raw.get("remediation") or {}
    for sub, value in (("strategy", strategy_raw), ("remediation", remediation_raw)):
        if not isinstance(value, Mapping):
            errors.append((f"{path}.{sub}", f"must be a mapping, not {type(value).__name__}"))
            return default
    name = strategy_raw.get("name", Strategy.REMEDIATE_ON_FAILURE.value)
    if name not in {s.value for s in Strategy}:
        errors.append((f"{path}.strategy.name", f"must be RemediateOnFailure or RetryOnFailure, not {name!r}"))
        name = Strategy.REMEDIATE_ON_FAILURE.value
    action = remediation_raw.get("strategy", default.action.value)
    allowed = [a.value for a in FinalAction if not (path.endswith("install") and a is FinalAction.ROLLBACK)]
    if action not in allowed:
        errors.append((f"{path}.remediation.strategy", f"must be one of {', '.join(allowed)}, not {action!r}"))
        action = default.action.value
    retries = remediation_raw.get("retries", 0)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        errors.append((f"{path}.remediation.retries", f"must be an integer from 0 to {MAX_RETRIES}, not {retries!r}"))
        retries = 0
    last = remediation_raw.get("remediateLastFailure")
    if last is not None and not isinstance(last, bool):
        errors.append((f"{path}.remediation.remediateLastFailure", f"must be true or false, not {last!r}"))
        last = None
    return Remediation(
        action=FinalAction(action), retries=retries,
        backoff_seconds=min(_duration(remediation_raw.get("backoff"), f"{path}.remediation.backoff",
                                      DEFAULT_BACKOFF_SECONDS, errors), MAX_BACKOFF_SECONDS),
        remediate_last_failure=last, strategy=Strategy(name),
        retry_interval_seconds=_duration(strategy_raw.get("retryInterval"), f"{path}.strategy.retryInterval",
                                         DEFAULT_RETRY_INTERVAL_SECONDS, errors),
    )


def parse_remediation(spec: Mapping[str, Any], *, atomic: bool) -> tuple[RemediationSpec, list[tuple[str, str]]]:
    """The policies of `spec.install` and `spec.upgrade`, and (path, problem) for each invalid field.

    `atomic: true` is a shorthand for upgrade remediation `rollback` with 0 retries; an explicit
    `spec.upgrade` wins over it."""
    errors: list[tuple[str, str]] = []
    defaults = RemediationSpec()
    upgrade_default = ATOMIC_UPGRADE if atomic else defaults.upgrade
    return RemediationSpec(
        install=_phase(spec.get("install"), "spec.install", defaults.install, errors),
        upgrade=_phase(spec.get("upgrade"), "spec.upgrade", upgrade_default, errors),
    ), errors
