"""`rudder uninstall NAME`: delete a Release; the controller's finalizer deletes its objects and history
first (objects annotated `rudder.dev/keep: "true"` stay)."""

from __future__ import annotations

import argparse
from typing import Any

from rudder.cli import options
from rudder.cli.connection import connect, resolve_namespace
from rudder.cli.errors import EXIT_OK, CliError
from rudder.cli.output import format_duration, parse_timeout
from rudder.cli.progress import Finished, Progress, poll
from rudder.cli.releases import ensure_crds, get_release
from rudder.cli.waiting import POLL_INTERVAL, gone_progress
from rudder.kube.release_io import release_ref


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("uninstall", help="delete a Release and the objects it manages",
                                   description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("name", help="Release name")
    options.add_wait(parser, "the Release and its objects are gone")
    options.add_target(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    timeout = parse_timeout(args.timeout)
    target = options.target_of(args)
    namespace = resolve_namespace(target)
    kube = connect(target)
    ensure_crds(kube)
    where = f"Release {namespace}/{args.name}"
    if not kube.delete(release_ref(namespace, args.name)):
        raise CliError(f"{where} not found")
    if args.wait:
        outcome = poll(lambda: gone_progress(get_release(kube, namespace, args.name)),
                       timeout=timeout, interval=POLL_INTERVAL, progress=Progress())
        if not isinstance(outcome, Finished):
            raise CliError(f"timed out after {format_duration(timeout)} waiting for {where} to be deleted: "
                           f"{outcome.text}")
        print(f"{where} uninstalled")
    else:
        print(f"{where} deleted; the controller removes its objects")
    return EXIT_OK
