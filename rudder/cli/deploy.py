"""`rudder install NAME CHART_DIR` and `rudder upgrade NAME CHART_DIR [--install]`.

Both load the chart directory, layer the values flags, render offline with the controller's code (so a
template mistake fails here, naming the file and line, before anything is written), write the Release and,
with `--wait`, follow it until it is Ready at the new revision or Failed.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rudder.cli import options
from rudder.cli.chartsource import desired_release
from rudder.cli.connection import connect, resolve_namespace
from rudder.cli.errors import EXIT_OK, CliError
from rudder.cli.output import dump, format_duration, parse_timeout, without_server_fields
from rudder.cli.progress import Progress, Waiting
from rudder.cli.releases import FIELD_MANAGER, get_release, write_release
from rudder.cli.rendering import ValuesFromUnreadable, plan_offline, read_values_from, with_live_values_from
from rudder.cli.waiting import Goal, Result, wait_for_release
from rudder.kube.client import Kube


def add_parsers(subparsers: Any) -> None:
    install = subparsers.add_parser(
        "install", help="install a chart directory as a new Release",
        description="Create a Release from a chart directory; fails if the Release already exists.",
    )
    upgrade = subparsers.add_parser(
        "upgrade", help="upgrade a Release to a chart directory and values",
        description="Set a Release's chart and values (a new revision when they change).",
    )
    upgrade.add_argument("-i", "--install", action="store_true", help="install the Release if it does not exist")
    for parser, handler in ((install, run_install), (upgrade, run_upgrade)):
        parser.add_argument("--create-namespace", action="store_true", help="create the namespace if it is missing")
        parser.add_argument("name", help="Release name")
        parser.add_argument("chart_dir", metavar="CHART_DIR",
                            help="chart directory (Chart.yaml, values.yaml, templates/)")
        options.add_values(parser)
        options.add_chart_format(parser)
        options.add_wait(parser, "the Release is Ready at the new revision")
        options.add_output(parser, "print the Release as JSON or YAML when done")
        options.add_target(parser)
        parser.set_defaults(handler=handler)


def run_install(args: argparse.Namespace) -> int:
    return _deploy(args, create=True, update=False)


def run_upgrade(args: argparse.Namespace) -> int:
    return _deploy(args, create=bool(args.install), update=True)


def _deploy(args: argparse.Namespace, *, create: bool, update: bool) -> int:
    timeout = parse_timeout(args.timeout)  # checked before anything is written, even without --wait
    target = options.target_of(args)
    namespace = resolve_namespace(target)
    loaded, body = desired_release(args, namespace, archive=args.archive)
    kube = connect(target)
    existing = get_release(kube, namespace, args.name)
    where = f"Release {namespace}/{args.name}"
    if existing is not None and not update:
        raise CliError(f"{where} already exists: use `rudder upgrade {args.name} {args.chart_dir}`")
    if existing is None and not create:
        raise CliError(f"{where} not found: use `rudder install`, or `rudder upgrade --install`")
    status = (existing or {}).get("status") or {}
    # The revision this content would get if it changes anything; only templates that print
    # `release.revision` can tell, and the controller renders again anyway.
    next_revision = int(status.get("revision") or 0) + 1
    rendered = with_live_values_from(body, existing)  # the controller renders with the kept valuesFrom
    try:
        contents = read_values_from(kube, rendered)
    except ValuesFromUnreadable as err:
        print(f"warning: {err}; skipping the offline render check (the controller renders with them)",
              file=sys.stderr)
    else:
        plan_offline(rendered, loaded.directory, revision=next_revision, values_from_contents=contents)
    if args.create_namespace and existing is None:
        kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
                   field_manager=FIELD_MANAGER)
    stored = write_release(kube, body)
    generation = int(stored["metadata"].get("generation") or 0)
    verb = "installed"
    if existing is not None:
        unchanged = generation == int(existing["metadata"].get("generation") or 0)
        verb = "unchanged (same chart and values)" if unchanged else "upgraded"
    if not args.wait:
        if args.output:
            sys.stdout.write(dump(without_server_fields(stored), args.output))
        elif verb.startswith("unchanged"):
            print(f"{where} {verb}: nothing to roll out")
        else:
            print(f"{where} {verb} (generation {generation}); the controller rolls it out. "
                  f"Follow it with: rudder status {args.name} -n {namespace}")
        return EXIT_OK
    return finish_wait(kube, namespace, args.name, Goal(generation), timeout=timeout, output=args.output, verb=verb)


def finish_wait(
    kube: Kube, namespace: str, name: str, goal: Goal, *, timeout: float, output: str | None, verb: str
) -> int:
    """Wait for `goal`, then report: the Release and its notes when Ready, a CliError otherwise."""
    where = f"Release {namespace}/{name}"
    outcome = wait_for_release(lambda: get_release(kube, namespace, name), goal, timeout=timeout, progress=Progress())
    if isinstance(outcome, Waiting):
        raise CliError(f"timed out after {format_duration(timeout)} waiting for {where}: {outcome.text}")
    if not outcome.ready:
        raise CliError(_failure_line(where, outcome))
    final = get_release(kube, namespace, name) or {}
    if output:
        sys.stdout.write(dump(without_server_fields(final), output))
        return EXIT_OK
    print(f"{where} {verb}: revision {outcome.revision} is Ready")
    notes = str((final.get("status") or {}).get("notes") or "")
    if notes:
        print(f"\nNOTES:\n{notes}")
    return EXIT_OK


def _failure_line(where: str, result: Result) -> str:
    at = f" at revision {result.revision}" if result.revision is not None else ""
    return f"{where} is {result.phase}{at}: {result.message or 'no message'}"
