"""`rudder history NAME`: the Release's revisions from its ReleaseHistory objects, oldest first."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from rudder.cli import options
from rudder.cli.connection import connect, resolve_namespace
from rudder.cli.errors import EXIT_OK
from rudder.cli.output import dump, format_timestamp, parse_time, table
from rudder.cli.releases import histories, require_release


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("history", help="list a Release's revisions",
                                   description=(__doc__ or "").split("\n")[0])
    parser.add_argument("name", help="Release name")
    parser.add_argument("--max", type=int, default=0, metavar="N", help="only the N newest revisions")
    options.add_output(parser)
    options.add_target(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    target = options.target_of(args)
    namespace = resolve_namespace(target)
    kube = connect(target)
    release = require_release(kube, namespace, args.name)
    entries = history_entries(histories(kube, namespace, args.name))
    if args.max > 0:
        entries = entries[-args.max:]
    if args.output:
        sys.stdout.write(dump(entries, args.output))
    else:
        current = (release.get("status") or {}).get("revision")
        sys.stdout.write(format_history(entries, current))
    return EXIT_OK


def history_entries(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One entry per revision: revision, phase, deployedAt (every time it became current), description."""
    entries = []
    for h in sorted(items, key=lambda h: int((h.get("spec") or {}).get("revision") or 0)):
        spec, status = h.get("spec") or {}, h.get("status") or {}
        entries.append({
            "revision": int(spec.get("revision") or 0),
            "phase": status.get("phase") or "",
            "deployedAt": list(status.get("deployedAt") or []),
            "ready": bool(status.get("ready")),
            "description": spec.get("description") or "",
        })
    return entries


def format_history(entries: Sequence[Mapping[str, Any]], current: Any = None) -> str:
    """The table: revision (`*` marks the current one), phase, when it was last deployed, description."""
    if not entries:
        return "no revisions yet\n"
    rows = []
    for e in entries:
        deployed = e["deployedAt"]
        mark = "*" if e["revision"] == current else ""
        last = parse_time(deployed[-1]) if deployed else None
        rows.append([f"{e['revision']}{mark}", e["phase"], format_timestamp(last), e["description"]])
    return table(["revision", "phase", "deployed at", "description"], rows)
