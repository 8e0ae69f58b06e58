"""`rudder status NAME`: where a Release stands: revision, phase and message, each managed resource's
health, pods, conditions and the rendered notes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rudder.cli import options
from rudder.cli.connection import connect, resolve_namespace
from rudder.cli.errors import EXIT_OK
from rudder.cli.output import MISSING, dump, format_timestamp, parse_time, table, without_server_fields
from rudder.cli.releases import require_release


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("status", help="show a Release's status", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("name", help="Release name")
    options.add_output(parser, "print the whole Release object as JSON or YAML")
    options.add_target(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    target = options.target_of(args)
    namespace = resolve_namespace(target)
    release = require_release(connect(target), namespace, args.name)
    if args.output:
        sys.stdout.write(dump(without_server_fields(release), args.output))
    else:
        sys.stdout.write(format_status(release, datetime.now(UTC)))
    return EXIT_OK


def _pods(stats: Mapping[str, Any]) -> str:
    parts = []
    for group in ("updated", "old"):
        counts = stats.get(group) or {}
        if counts:
            parts.append(f"{group}: " + ", ".join(f"{n} {phase}" for phase, n in sorted(counts.items())))
    return "; ".join(parts) or MISSING


def format_status(release: Mapping[str, Any], now: datetime) -> str:
    """The human form of `rudder status`."""
    meta, spec = release.get("metadata") or {}, release.get("spec") or {}
    status = release.get("status") or {}
    generation, observed = meta.get("generation"), status.get("observedGeneration")
    lines = [
        f"Release:    {meta.get('namespace')}/{meta.get('name')}",
        f"Revision:   {status.get('revision') or MISSING}",
        f"Phase:      {status.get('phase') or 'Pending (not yet seen by the controller)'}",
        f"Message:    {status.get('message') or MISSING}",
        f"Ready:      {status.get('ready') or MISSING} resources",
        f"Pods:       {_pods(status.get('podStatistics') or {})}",
        f"Started:    {format_timestamp(parse_time(status.get('revisionStartedAt')), now)}",
    ]
    if observed is not None and generation is not None and observed != generation:
        lines.append(f"Note:       the controller has not yet acted on the latest change "
                     f"(generation {generation}, observed {observed})")
    if spec.get("rollbackTo") is not None:
        lines.append(f"Rollback:   to revision {(spec.get('rollbackTo') or {}).get('revision') or 'previous'} pending")
    if spec.get("suspend"):
        lines.append("Suspended:  yes (spec.suspend)")
    resources = status.get("resources") or []
    if resources:
        rows = [[f"{r.get('kind')}/{r.get('name')}", r.get("phase"), r.get("message")] for r in resources]
        lines += ["", table(["resource", "phase", "message"], rows).rstrip("\n")]
    conditions = status.get("conditions") or []
    if conditions:
        rows = [[c.get("type"), c.get("status"), c.get("reason"), c.get("message")] for c in conditions]
        lines += ["", table(["condition", "status", "reason", "message"], rows).rstrip("\n")]
    if status.get("notes"):
        lines += ["", "NOTES:", str(status["notes"])]
    return "\n".join(lines) + "\n"
