"""The flags several commands share, declared once: cluster target, values, waiting and output."""

from __future__ import annotations

import argparse

from rudder.cli.connection import Target
from rudder.cli.output import OUTPUT_FORMATS

DEFAULT_TIMEOUT = "5m"  # the Release's own default readiness deadline


def add_target(parser: argparse.ArgumentParser) -> None:
    """-n/--namespace, --kubeconfig, --context."""
    parser.add_argument("-n", "--namespace", help="namespace (default: the kubeconfig context's, else default)")
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
    parser.add_argument("--context", help="kubeconfig context to use (default: the current one)")


def target_of(args: argparse.Namespace) -> Target:
    return Target(
        kubeconfig=getattr(args, "kubeconfig", None),
        context=getattr(args, "context", None),
        namespace=getattr(args, "namespace", None),
    )


def add_values(parser: argparse.ArgumentParser) -> None:
    """-f/--values (repeatable, merged in order), then --set and --set-string (repeatable, in order)."""
    parser.add_argument("-f", "--values", action="append", default=[], metavar="FILE",
                        help="YAML values file, '-' for stdin (repeatable; later files win)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="set a value, e.g. image.tag=2.0 or a.b[0]=x (repeatable; wins over -f)")
    parser.add_argument("--set-string", action="append", default=[], metavar="KEY=VALUE",
                        help="like --set, but the value is always a string")


def add_chart_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--archive", action="store_true",
                        help="carry the chart as spec.chart.archive (base64 tar.gz) instead of inline templates")


def add_wait(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--wait", action="store_true", help=f"wait until {what}")
    parser.add_argument("--timeout", default=DEFAULT_TIMEOUT,
                        help=f"how long --wait waits, e.g. 90s, 5m, 1h (default {DEFAULT_TIMEOUT})")


def add_output(parser: argparse.ArgumentParser, help_text: str = "print the result as JSON or YAML") -> None:
    parser.add_argument("-o", "--output", choices=OUTPUT_FORMATS, help=help_text)
