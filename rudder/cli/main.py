"""`rudder` entry point: a small dispatcher over one module per verb.

Each module's `add_parser(subparsers)` (or `add_parsers`) registers its arguments and sets `handler`
(namespace -> exit code) as a parser default; a command may also set `error_code`, the exit status of
its errors (`diff` uses 2, as `kubectl diff` does).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from rudder.cli import deploy, diff, history, package, rollback, status, template, uninstall
from rudder.cli.errors import EXIT_FAILED, CliError, run_guarded
from rudder.render.limits import limits_from_environment, set_default_limits


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rudder",
        description="Install, upgrade and roll back Rudder Releases (Kubernetes-native Helm-style releases).",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    deploy.add_parsers(subparsers)
    for module in (template, diff, status, history, rollback, uninstall, package):
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    error_code = int(getattr(args, "error_code", EXIT_FAILED))
    return run_guarded(lambda: _run(args), error_code=error_code)


def _run(args: argparse.Namespace) -> int:
    # Offline renders get the controller's bounds (and its environment variables, when set).
    try:
        set_default_limits(limits_from_environment(os.environ))
    except ValueError as err:
        raise CliError(str(err)) from None
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
