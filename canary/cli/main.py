"""``kubectl-canary`` entry point: a small dispatcher over subcommand modules.

Each subcommand module provides ``add_parser(subparsers)``, which registers its
arguments and sets ``handler`` (namespace -> exit code) as a parser default.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from canary.cli import judge

SUBCOMMANDS = (judge,)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kubectl-canary", description="Progressive delivery with Rudder.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    namespace = build_parser().parse_args(argv)
    code: int = namespace.handler(namespace)
    return code


if __name__ == "__main__":
    sys.exit(main())
