"""`rudder rollback NAME [REVISION]`: make a stored revision current again (0 or omitted: the previous one).

It sets `spec.rollbackTo` and the controller does the rest: it applies that revision's stored manifest
exactly and restores its chart and values, creating no new revision. The target is resolved and checked here
first with the controller's own rule, so a revision that does not exist is an error before anything is written.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rudder.cli import options
from rudder.cli.connection import connect, resolve_namespace
from rudder.cli.deploy import finish_wait
from rudder.cli.errors import EXIT_OK, CliError
from rudder.cli.output import dump, parse_timeout, without_server_fields
from rudder.cli.releases import histories, require_release
from rudder.cli.waiting import Goal
from rudder.domain import history_record, previous_deployed_revision
from rudder.kube.release_io import release_ref


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("rollback", help="roll a Release back to a stored revision",
                                   description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("name", help="Release name")
    parser.add_argument("revision", nargs="?", type=int, default=0, help="revision (default 0: the previous one)")
    options.add_wait(parser, "the Release is Ready at that revision")
    options.add_output(parser, "print the Release as JSON or YAML when done")
    options.add_target(parser)
    parser.set_defaults(handler=run)


def resolve_target(requested: int, records: list[Any], current: int | None) -> int:
    """The revision to roll back to: `requested`, or the previous deployed one for 0."""
    available = sorted(r.revision for r in records)
    if requested < 0:
        raise CliError(f"revision {requested}: must be 0 (the previous one) or a revision number")
    if requested == 0:
        target = previous_deployed_revision(records, current)
        if target is None:
            raise CliError(f"no previous revision to roll back to (revisions: {_list(available)})")
        return target
    if requested not in available:
        raise CliError(f"revision {requested} does not exist (revisions: {_list(available)})")
    return requested


def _list(revisions: list[int]) -> str:
    return ", ".join(map(str, revisions)) or "none"


def run(args: argparse.Namespace) -> int:
    timeout = parse_timeout(args.timeout)
    target = options.target_of(args)
    namespace = resolve_namespace(target)
    kube = connect(target)
    release = require_release(kube, namespace, args.name)
    current = (release.get("status") or {}).get("revision")
    records = [history_record(h) for h in histories(kube, namespace, args.name)]
    revision = resolve_target(args.revision, records, int(current) if current else None)
    patched = kube.patch(release_ref(namespace, args.name), {"spec": {"rollbackTo": {"revision": revision}}})
    where = f"Release {namespace}/{args.name}"
    if not args.wait:
        if args.output:
            sys.stdout.write(dump(without_server_fields(patched), args.output))
        else:
            print(f"{where}: rollback to revision {revision} requested (from revision {current or '-'})")
        return EXIT_OK
    goal = Goal(int(patched["metadata"].get("generation") or 0), revision=revision)
    return finish_wait(kube, namespace, args.name, goal, timeout=timeout, output=args.output,
                       verb=f"rolled back to revision {revision}")
