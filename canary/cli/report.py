"""`kubectl canary report NAME -o report.html`: a self-contained HTML report of a canary (see report_html).

It reads the CanaryRelease and its Events from the cluster, or with `-f` a saved copy of the object
(`kubectl get canary NAME -o yaml > saved.yaml`), so a post-mortem works after the cluster has moved on.
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from canary.cli.common import add_subcommand, canary_events, require_canary
from canary.cli.report_html import render_report
from canary.models import ParseError
from rudder.cli.connection import connect, resolve_namespace
from rudder.cli.errors import EXIT_OK, CliError
from rudder.cli.options import target_of
from rudder.render import load_documents


def add_parser(subparsers: Any) -> None:
    parser = add_subcommand(subparsers, "report", "write an HTML report with plots of a canary's analysis",
                            (__doc__ or "").split("\n\n")[0], name_optional=True)
    parser.add_argument("-o", "--output", metavar="FILE.html",
                        help="where to write the report (default: NAME-report.html; '-' for stdout)")
    parser.add_argument("-f", "--file", help="read the CanaryRelease from this YAML/JSON file instead of the cluster")
    parser.set_defaults(handler=run)


def _from_file(path: str) -> dict[str, Any]:
    try:
        documents = [d for d in load_documents(Path(path).read_text(encoding="utf-8")) if d]
    except (OSError, UnicodeDecodeError) as err:
        raise CliError(f"--file {path}: {getattr(err, 'strerror', None) or err}") from None
    except yaml.YAMLError as err:
        raise CliError(f"--file {path}: not YAML or JSON ({err.__class__.__name__})") from None
    except (ValueError, RecursionError) as err:  # e.g. an integer of thousands of digits, nesting too deep
        raise CliError(f"--file {path}: unreadable ({err.__class__.__name__})") from None
    found = [d for d in documents if isinstance(d, dict) and d.get("kind") == "CanaryRelease"]
    if len(found) != 1:
        raise CliError(f"--file {path}: expected one CanaryRelease, found {len(found)}")
    return found[0]


def default_output(name: object) -> str:
    """`NAME-report.html` in the working directory: the name (from a file, anyone's) is reduced to a plain
    file name, so `../x` or `/etc/x` cannot place the report elsewhere (an explicit -o is the user's choice)."""
    safe = _UNSAFE.sub("_", str(name or ""))[:200].lstrip(".-")
    return f"{safe or 'canary'}-report.html"


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]", re.ASCII)


def run(args: argparse.Namespace) -> int:
    if args.file:
        body, events = _from_file(args.file), []
    elif not args.name:
        raise CliError("name a CanaryRelease, or give --file")
    else:
        target = target_of(args)
        namespace = resolve_namespace(target)
        kube = connect(target)
        body = require_canary(kube, namespace, args.name)
        events = canary_events(kube, namespace, args.name, (body.get("metadata") or {}).get("uid", ""))
    try:
        page = render_report(body, events, datetime.now(UTC))
    except ParseError as err:
        raise CliError(f"cannot read the CanaryRelease: {err}") from None
    metadata = body.get("metadata")
    name = (metadata.get("name") if isinstance(metadata, dict) else None) or args.name
    output = args.output or default_output(name)
    if output == "-":
        print(page, end="")
        return EXIT_OK
    try:
        Path(output).write_text(page, encoding="utf-8")
    except OSError as err:
        raise CliError(f"-o {output}: {err.strerror or err}") from None
    print(f"wrote {output}")
    return EXIT_OK
