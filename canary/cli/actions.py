"""`kubectl canary promote|abort|pause|resume|retry NAME`: ask the controller for a manual action.

The request is the `rudder.dev/action` annotation, written as a JSON merge patch of that one annotation:
the spec is untouched, so a GitOps tool that owns the spec sees no drift, and the controller removes the
annotation once it has acted. With `--wait` the command waits for that removal and reports whether the
controller performed the action or refused it (a Warning event says why, e.g. "resume: not paused").

Exit codes: 0 requested (or performed, with --wait), 1 refused by the controller, 2 timed out waiting for
the controller, 4 error.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from canary.cli.common import add_subcommand, canary_events, canary_ref, get_canary, require_canary
from canary.cli.outcome import ExitCode
from canary.models import ACTION_ANNOTATION, Action
from rudder.cli.connection import connect, resolve_namespace
from rudder.cli.errors import CliError
from rudder.cli.options import target_of
from rudder.cli.output import format_duration, parse_time, parse_timeout
from rudder.cli.progress import Finished, Progress, Waiting, poll
from rudder.kube.client import Kube

HELP = {
    Action.PROMOTE: "promote now, skipping the remaining steps (also approves when autoPromote is false)",
    Action.ABORT: "roll the canary back now",
    Action.PAUSE: "hold the canary at its current step",
    Action.RESUME: "continue a paused canary",
    Action.RETRY: "start a rolled-back or failed canary again from the beginning",
}
REFUSALS = ("ActionIgnored", "UnknownAction")
# Where each action takes a canary once performed (canary.domain.manual), or soon after by itself.
EFFECTS: Mapping[Action, frozenset[str]] = {
    Action.PROMOTE: frozenset({"Promoting", "Promoted"}),
    Action.ABORT: frozenset({"RollingBack", "RolledBack"}),
    Action.PAUSE: frozenset({"Paused"}),
    Action.RESUME: frozenset({"Progressing", "Promoting", "Promoted"}),
    Action.RETRY: frozenset({"Pending", "Initializing", "Progressing"}),
}


def add_parsers(subparsers: Any) -> None:
    for action, help_text in HELP.items():
        parser = add_subcommand(subparsers, action.value, help_text, (__doc__ or "").split("\n\n")[0])
        parser.add_argument("--wait", action="store_true",
                            help="wait until the controller has performed (or refused) the action")
        parser.add_argument("--timeout", default="1m", help="how long --wait waits (default 1m)")
        parser.set_defaults(handler=run, action=action)


def action_patch(action: Action) -> dict[str, Any]:
    """The whole write: one annotation, nothing else."""
    return {"metadata": {"annotations": {ACTION_ANNOTATION: action.value}}}


def run(args: argparse.Namespace) -> int:
    action: Action = args.action
    timeout = parse_timeout(args.timeout)
    target = target_of(args)
    namespace = resolve_namespace(target)
    kube = connect(target)
    where = f"CanaryRelease {namespace}/{args.name}"
    before = require_canary(kube, namespace, args.name)
    pending = ((before.get("metadata") or {}).get("annotations") or {}).get(ACTION_ANNOTATION)
    requested_at = datetime.now(UTC).replace(microsecond=0)
    kube.patch(canary_ref(namespace, args.name), action_patch(action))
    replaced = f" (replacing the pending action {pending!r})" if pending and pending != action.value else ""
    print(f"{where}: {action.value} requested{replaced}")
    if not args.wait:
        return int(ExitCode.PROMOTED)
    outcome = poll(lambda: _handled(get_canary(kube, namespace, args.name), action), timeout=timeout,
                   interval=1.0, progress=Progress())
    if not isinstance(outcome, Finished):
        raise CliError(f"timed out after {format_duration(timeout)}: the controller has not acted on "
                       f"{ACTION_ANNOTATION}={action.value} (is the canary controller running?)",
                       code=int(ExitCode.TIMEOUT))
    refusal = _refusal(kube, namespace, args.name, action, requested_at)
    if refusal and not performed(action, before, outcome.value):
        raise CliError(f"{where}: the controller refused {action.value}: {refusal}", code=int(ExitCode.FAILED))
    phase = ((outcome.value or {}).get("status") or {}).get("phase") or "-"
    print(f"{where}: {action.value} done; phase {phase}")
    return int(ExitCode.PROMOTED)


def _handled(body: Mapping[str, Any] | None, action: Action) -> Waiting | Finished[Mapping[str, Any] | None]:
    if body is None:
        return Finished(None)  # deleted: nothing more will happen to it
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    if annotations.get(ACTION_ANNOTATION) == action.value:
        return Waiting(f"waiting for the controller to {action.value}")
    return Finished(body)


def performed(action: Action, before: Mapping[str, Any], after: Mapping[str, Any] | None) -> bool:
    """Whether the status shows `action` carried out since `before`: an accepted action records itself in
    `status.lastAction` and moves the phase to its effect; a refusal changes neither. A refusal can still follow
    a performed action: the request decided a second time, against the status that already shows its effect
    ("pause: already Paused"), after a controller restart or handover between the status write and the
    annotation's removal, or by a second controller. That request was done, not refused."""
    old, new = (before.get("status") or {}), ((after or {}).get("status") or {})
    return (new.get("lastAction") == action.value and new.get("phase") != old.get("phase")
            and new.get("phase") in EFFECTS[action])


def _refusal(kube: Kube, namespace: str, name: str, action: Action, since: datetime) -> str:
    """The message of a refusal event for this request, or ''. The controller emits it before removing the
    annotation, so once the annotation is gone the event is there (Events carry one-second stamps)."""
    for event in reversed(canary_events(kube, namespace, name)):
        stamp = parse_time(event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp"))
        message = str(event.get("message") or "")
        if event.get("reason") in REFUSALS and stamp is not None and stamp >= since \
                and message.startswith((f"{action.value}:", "unknown")):
            return message.removeprefix(f"{action.value}: ")
    return ""
