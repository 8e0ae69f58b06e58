"""When is a canary's outcome final? The pure decision behind `kubectl canary wait` (and `watch`).

Exit codes (the API contract): 0 promoted, 1 rolled back or failed, 2 timed out, 3 paused waiting for a
decision; 4 is this command's own: it could not follow the canary (not found, deleted, forbidden, or a
finished canary whose spec changed afterwards, which will never run again).

A wait must never end on a transient state, so an observation is final only when the controller will not
move the canary on by itself (see docs/canary.md and canary/domain):

- Promoted, RolledBack and Failed are final, except a Failed canary whose reason is InvalidSpec or ForkFailed
  and whose spec changed since (the controller restarts it), and a pending `retry` action;
- Paused is final ("waiting for a decision") except at a timed pause step, which resumes by itself
  (the same test as the controller's `on_paused`);
- a pending `rudder.dev/action` annotation means the controller has a decision to carry out: never final;
- a status the controller wrote for an older generation (`observedGeneration` behind) may be about to change:
  a Paused or restartable Failed one only counts once it has stayed the same for `settle` seconds, which is
  how long the controller is given to react to the new spec (it does not rewrite a Paused status when the
  change needs nothing from it);
- every other phase (Pending, Initializing, Progressing, Promoting, RollingBack) is in motion.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from canary.domain.status import rollback_reason
from canary.models import CanarySpec, CanaryStatus, ParsedCanary, ParseError, PauseStep, Phase, parse_canary
from rudder.cli.output import format_duration

SETTLE_SECONDS = 30.0
_RESTARTABLE = frozenset({"InvalidSpec", "ForkFailed"})  # canary.domain.finish.on_terminal restarts these


class ExitCode(IntEnum):
    PROMOTED = 0
    FAILED = 1
    TIMEOUT = 2
    PAUSED = 3
    ERROR = 4


@dataclass(frozen=True)
class Reading:
    """What one observation says: a final code (or None: still moving), and in words.

    `settle`: final only once the same status has been seen for the settle time (the controller may still
    react to a spec change it has not acknowledged)."""

    code: ExitCode | None
    text: str
    settle: bool = False


def read(parsed: ParsedCanary) -> Reading:
    """Classify one observation of a CanaryRelease (see the module docstring for the rules)."""
    status, spec, meta = parsed.status, parsed.spec, parsed.meta
    describe = describe_state(status, spec)
    if parsed.action is not None:
        return Reading(None, f"{describe}; action {parsed.action.raw!r} pending: waiting for the controller")
    stale = status.observed_generation is not None and status.observed_generation != meta.generation
    phase = status.phase
    if phase in (Phase.PROMOTED, Phase.ROLLED_BACK) and stale:
        return Reading(ExitCode.ERROR, f"{describe}; its spec changed afterwards (generation {meta.generation}, "
                       f"observed {status.observed_generation}), and a finished CanaryRelease never runs again: "
                       "create a new one to canary the new spec")
    if phase is Phase.PROMOTED:
        return Reading(ExitCode.PROMOTED, describe)
    if phase is Phase.ROLLED_BACK:
        return Reading(ExitCode.FAILED, describe)
    if phase is Phase.FAILED:
        restart = stale and rollback_reason(status) in _RESTARTABLE
        return Reading(ExitCode.FAILED, describe + ("; the spec changed: it may start again" if restart else ""),
                       settle=restart)
    if phase is Phase.PAUSED:
        timed = timed_pause_left(status, spec)
        if timed is not None:
            return Reading(None, f"{describe}; a timed pause: it resumes by itself")
        return Reading(ExitCode.PAUSED, f"{describe}; waiting for a decision", settle=stale)
    return Reading(None, describe)


def timed_pause_left(status: CanaryStatus, spec: CanarySpec | ParseError) -> float | None:
    """The duration of the timed pause step the canary is paused at, or None when a person must act.

    Mirrors `canary.domain.progress.on_paused`: only a pause entered as the pause step itself resumes by
    itself; a manual pause, an inconclusive analysis or `autoPromote: false` wait for a person."""
    if isinstance(spec, ParseError) or status.paused_reason != "PauseStep" or status.step >= len(spec.steps):
        return None
    step = spec.steps[status.step]
    return step.duration if isinstance(step, PauseStep) and step.duration is not None else None


def describe_state(status: CanaryStatus, spec: CanarySpec | ParseError) -> str:
    """`Progressing at step 2/3 (50%): analysis passed at step 2/3 at 50%`."""
    where = ""
    if not isinstance(spec, ParseError) and status.phase in (Phase.PROGRESSING, Phase.PAUSED):
        total = len(spec.steps)
        where = f" at step {min(status.step + 1, total)}/{total} ({status.weight}%)"
    reason = status.paused_reason or rollback_reason(status)
    reason_text = f" ({reason})" if reason and status.phase in (Phase.PAUSED, Phase.ROLLED_BACK, Phase.FAILED,
                                                                  Phase.ROLLING_BACK) else ""
    message = f": {status.message}" if status.message else ""
    return f"{status.phase.value}{reason_text}{where}{message}"


@dataclass(frozen=True)
class Verdict:
    """The waiter's answer after an observation: a final exit code, or None to keep waiting."""

    code: ExitCode | None
    text: str


@dataclass
class Waiter:
    """Folds observations (with the time they were made, in seconds) into the wait's outcome.

    `timeout` None waits for ever (`watch`); `stop_on_pause` False keeps following a canary paused for a
    decision (someone may resume it), so only Promoted/RolledBack/Failed end it.
    """

    timeout: float | None
    stop_on_pause: bool = True
    settle: float = SETTLE_SECONDS
    started: float | None = None
    seen: bool = False
    last: str = ""
    _candidate: tuple[str, float] | None = field(default=None, repr=False)

    def observe(self, body: Mapping[str, Any] | None, now: float) -> Verdict:
        """One observation: the object as read (None: it does not exist)."""
        if self.started is None:
            self.started = now
        if body is None:
            if not self.seen:
                return Verdict(ExitCode.ERROR, "not found")
            return Verdict(ExitCode.ERROR, f"deleted before its outcome was final (last seen: {self.last})")
        try:
            parsed = parse_canary(body)
        except ParseError as err:
            return self._waiting(f"unreadable status ({err})", now)
        self.seen = True
        reading = read(parsed)
        self.last = reading.text
        code = reading.code
        if code is ExitCode.PAUSED and not self.stop_on_pause:
            code = None
        if code is not None and reading.settle:
            code = self._settled(code, body, now)
        else:
            self._candidate = None
        if code is not None:
            return Verdict(code, reading.text)
        return self._waiting(reading.text, now)

    def failed_read(self, problem: str, now: float) -> Verdict:
        """A read that failed in a way worth retrying (the API server restarting, a network blip)."""
        if self.started is None:
            self.started = now
        return self._waiting(f"cannot read it: {problem}", now)

    def _settled(self, code: ExitCode, body: Mapping[str, Any], now: float) -> ExitCode | None:
        fingerprint = json.dumps([body.get("status"), (body.get("metadata") or {}).get("generation")],
                                 sort_keys=True, default=str)
        if self._candidate is None or self._candidate[0] != fingerprint:
            self._candidate = (fingerprint, now)
        return code if now - self._candidate[1] >= self.settle else None

    def _waiting(self, text: str, now: float) -> Verdict:
        assert self.started is not None
        if self.timeout is not None and now - self.started >= self.timeout:
            return Verdict(ExitCode.TIMEOUT, f"no final outcome within {format_duration(self.timeout)}; "
                                             f"last seen: {text}")
        return Verdict(None, text)
