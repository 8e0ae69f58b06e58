"""`rudder package CHART_DIR`: a chart directory as a Release manifest on stdout, for `kubectl apply` or Git.

The chart travels inline (`spec.chart.templates`, readable in review) or, with `--archive`, as a reproducible
base64 tar.gz (`spec.chart.archive`, compact; the same directory always gives the same bytes). The chart is
rendered once offline first, so a broken chart is never packaged.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rudder.cli import options
from rudder.cli.chartsource import chart_spec, collect_values, load_chart, release_body
from rudder.cli.connection import resolve_namespace
from rudder.cli.errors import EXIT_OK, EXIT_USAGE, CliError
from rudder.cli.output import dump
from rudder.cli.rendering import plan_offline
from rudder.domain.names import release_name_problem, shown


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "package", help="turn a chart directory into a Release manifest (YAML on stdout)",
        description=(__doc__ or "").split("\n\n")[0],
    )
    parser.add_argument("chart_dir", metavar="CHART_DIR", help="chart directory")
    parser.add_argument("--name", help="Release name (default: the chart's name)")
    parser.add_argument("-n", "--namespace",
                        help="set metadata.namespace (default: none, so `kubectl apply -n` decides)")
    options.add_values(parser)
    options.add_chart_format(parser)
    parser.add_argument("-o", "--output", choices=("yaml", "json"), default="yaml")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    loaded = load_chart(args.chart_dir)
    values = collect_values(args.values, args.set, args.set_string)
    name = args.name or loaded.name
    problem = release_name_problem(name)
    if problem and not args.name:  # --name itself was checked before the command ran
        raise CliError(f"the chart's name {shown(name)} cannot name a Release ({problem}); pass --name",
                       code=EXIT_USAGE)
    body = release_body(name, args.namespace, chart_spec(loaded, archive=args.archive), values)
    # Validate in the namespace it will most likely land in; the manifest itself stays namespace-free.
    namespace = args.namespace or resolve_namespace(options.target_of(args))
    check = {**body, "metadata": {"name": name, "namespace": namespace}}
    plan_offline(check, loaded.directory)
    sys.stdout.write(dump(body, args.output))
    return EXIT_OK
