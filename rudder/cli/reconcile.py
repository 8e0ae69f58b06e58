"""`rudder reconcile NAME [--force|--reset]`: ask the controller to reconcile a Release now.

It sets the annotation `rudder.dev/reconcile-at` (`--force`: `rudder.dev/force-at`, re-apply the current
revision even if nothing drifted, taking fields back from other field managers; `--reset`:
`rudder.dev/reset-at`, clear the remediation retry counters) to a fresh timestamp. The controller handles each
value once and records it in `status.lastHandled*At`; `--wait` waits for that, then for Ready or Failed.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from rudder.cli import options
from rudder.cli.connection import connect, resolve_namespace
from rudder.cli.deploy import finish_wait
from rudder.cli.errors import EXIT_OK, CliError
from rudder.cli.output import format_duration, parse_timeout
from rudder.cli.progress import Finished, Progress, Waiting, poll
from rudder.cli.releases import get_release, require_release
from rudder.cli.waiting import POLL_INTERVAL, Goal
from rudder.domain.remediation import FORCE_AT, HANDLED_FIELDS, RECONCILE_AT, RESET_AT
from rudder.kube.release_io import release_ref


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("reconcile", help="reconcile a Release now (--force: re-apply, --reset: "
                                   "clear retry counters)", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("name", help="Release name")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--force", action="store_true",
                       help="re-apply the current revision even if unchanged, forcing server-side-apply conflicts")
    which.add_argument("--reset", action="store_true", help="clear the remediation retry counters")
    options.add_wait(parser, "the controller handled the request and the Release is Ready")
    options.add_target(parser)
    parser.set_defaults(handler=run)


def annotation_of(args: argparse.Namespace) -> str:
    return FORCE_AT if args.force else RESET_AT if args.reset else RECONCILE_AT


def run(args: argparse.Namespace) -> int:
    timeout = parse_timeout(args.timeout)
    target = options.target_of(args)
    namespace = resolve_namespace(target)
    kube = connect(target)
    require_release(kube, namespace, args.name)
    annotation = annotation_of(args)
    value = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    patched = kube.patch(release_ref(namespace, args.name), {"metadata": {"annotations": {annotation: value}}})
    where = f"Release {namespace}/{args.name}"
    if not args.wait:
        print(f"{where}: {annotation}={value} requested")
        return EXIT_OK
    field = HANDLED_FIELDS[annotation]

    def handled() -> Waiting | Finished[bool]:
        status = (get_release(kube, namespace, args.name) or {}).get("status") or {}
        if status.get(field) == value:
            return Finished(True)
        return Waiting(f"waiting for the controller to handle {annotation}={value}")

    outcome = poll(handled, timeout=timeout, interval=POLL_INTERVAL, progress=Progress())
    if isinstance(outcome, Waiting):
        raise CliError(f"timed out after {format_duration(timeout)} waiting for {where}: {outcome.text}")
    goal = Goal(int(patched["metadata"].get("generation") or 0))
    return finish_wait(kube, namespace, args.name, goal, timeout=timeout, output=None,
                       verb=f"reconciled ({annotation}={value})")
