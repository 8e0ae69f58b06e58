"""`rudder template NAME CHART_DIR`: render offline with exactly the controller's renderer and planner.

No cluster is contacted. The objects come out validated, labelled and in install order, as the controller
would apply them, except for the ownerReference to the Release (its uid exists only in a cluster).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rudder.cli import options
from rudder.cli.chartsource import desired_release
from rudder.cli.connection import resolve_namespace
from rudder.cli.errors import EXIT_OK, CliError
from rudder.cli.output import dump
from rudder.cli.rendering import offline_objects, plan_offline, read_post_render
from rudder.render import dump_documents


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "template", help="render a chart directory offline, as the controller would",
        description=(__doc__ or "").split("\n\n")[0],
    )
    parser.add_argument("name", help="Release name (the templates' release.name)")
    parser.add_argument("chart_dir", metavar="CHART_DIR", help="chart directory")
    options.add_values(parser)
    parser.add_argument("--revision", type=int, default=1, help="the templates' release.revision (default 1)")
    parser.add_argument("--post-render", metavar="FILE",
                        help="a YAML file holding a Release's spec.postRender (commonMetadata, patches) to apply")
    parser.add_argument("--notes", action="store_true", help="also print the rendered NOTES.txt (to stderr)")
    parser.add_argument("-o", "--output", choices=("yaml", "json"), default="yaml",
                        help="YAML documents (default) or one JSON List")
    parser.add_argument("-n", "--namespace", help="namespace (default: the kubeconfig context's, else default)")
    parser.add_argument("--kubeconfig", help="only read for its context's namespace; never contacted")
    parser.add_argument("--context", help="kubeconfig context whose namespace to use")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.revision < 1:
        raise CliError(f"--revision {args.revision}: must be 1 or more")
    namespace = resolve_namespace(options.target_of(args))
    loaded, body = desired_release(args, namespace, archive=False)
    if args.post_render:
        body["spec"]["postRender"] = read_post_render(args.post_render)
    plan = plan_offline(body, loaded.directory, revision=args.revision)
    objects = offline_objects(plan)
    if args.output == "json":
        sys.stdout.write(dump({"apiVersion": "v1", "kind": "List", "items": objects}, "json"))
    else:
        sys.stdout.write(dump_documents(objects))
    if args.notes and plan.notes:
        sys.stderr.write(f"NOTES:\n{plan.notes}\n")
    return EXIT_OK
