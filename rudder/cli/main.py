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

from rudder.cli import deploy, diff, history, package, reconcile, rollback, status, template, uninstall, wait
from rudder.cli.errors import EXIT_FAILED, EXIT_USAGE, CliError, UsageParser, run_guarded
from rudder.domain.names import dns1123_label_problem, release_name_problem, shown
from rudder.render.limits import limits_from_environment, set_default_limits


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rudder",
        description="Install, upgrade and roll back Rudder Releases (Kubernetes-native Helm-style releases).",
    )
    # UsageParser: `wait` exits 4 on usage errors (2 means it timed out); the others keep argparse's 2.
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=UsageParser)
    deploy.add_parsers(subparsers)
    for module in (template, diff, status, history, rollback, reconcile, uninstall, package, wait):
        module.add_parser(subparsers)
    return parser


def check_names(args: argparse.Namespace) -> None:
    """The Release name and `-n` namespace are valid Kubernetes names before anything uses them (a name
    with `/` or `?` must never reach a URL, and a Release name is a label value: at most 63 characters)."""
    usage = int(getattr(args, "usage_code", EXIT_USAGE))
    name = getattr(args, "name", None)
    if isinstance(name, str):
        problem = release_name_problem(name)
        if problem:
            raise CliError(f"release name {shown(name)}: {problem}", code=usage)
    namespace = getattr(args, "namespace", None)
    if isinstance(namespace, str):
        problem = dns1123_label_problem(namespace)
        if problem:
            raise CliError(f"-n/--namespace {shown(namespace)}: {problem}", code=usage)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    error_code = int(getattr(args, "error_code", EXIT_FAILED))

    def command() -> int:
        check_names(args)
        # Offline renders get the controller's bounds (and its environment variables, when set).
        try:
            set_default_limits(limits_from_environment(os.environ))
        except ValueError as err:
            raise CliError(str(err)) from None
        return int(args.handler(args))

    return run_guarded(command, error_code=error_code)


if __name__ == "__main__":
    sys.exit(main())
