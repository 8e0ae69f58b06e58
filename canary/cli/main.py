"""``kubectl-canary`` entry point: a small dispatcher over subcommand modules.

Each subcommand module provides ``add_parser(subparsers)`` (or ``add_parsers``), which registers its
arguments and sets ``handler`` (namespace -> exit code) as a parser default.

Exit codes: ``wait`` and ``watch`` follow the contract (0 promoted, 1 rolled back or failed, 2 timed out,
3 paused waiting for a decision); every subcommand except ``judge`` exits 4 when it cannot do its job
(bad arguments, not found, cluster unreachable). ``judge`` keeps its own codes (see canary.cli.judge).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from canary.cli import actions, judge, report, status, wait
from canary.cli.common import EXIT_ERROR
from rudder.cli.errors import UsageParser, run_guarded

SUBCOMMANDS = (status, wait, actions, report, judge)


def build_parser() -> UsageParser:
    parser = UsageParser(prog="kubectl-canary", description="Progressive delivery with Rudder.", usage_exit=EXIT_ERROR)
    # Subcommands get the same parser class; judge's keeps argparse's usual exit code 2 for usage errors.
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=UsageParser)
    for module in SUBCOMMANDS:
        if hasattr(module, "add_parsers"):
            module.add_parsers(subparsers)
        else:
            module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    namespace = build_parser().parse_args(argv)
    if namespace.command == "judge":
        code: int = namespace.handler(namespace)  # judge reports its own errors, as JSON
        return code
    return run_guarded(lambda: int(namespace.handler(namespace)), error_code=int(namespace.error_code))


if __name__ == "__main__":
    sys.exit(main())
