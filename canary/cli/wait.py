"""`kubectl canary wait NAME --timeout 10m` and `kubectl canary watch NAME`.

`wait` is for pipelines: it returns only once the outcome is final (see canary.cli.outcome) with the
contract's exit codes: 0 promoted, 1 rolled back or failed, 2 timed out, 3 paused waiting for a decision
(4: could not follow it). Progress goes to stderr, one line per change (a redrawn line on a terminal); the
final state goes to stdout.

`watch` is for people: it shows the status table live until the canary is promoted, rolled back or failed
(a pause for a decision does not end it: someone may resume it), or until Ctrl-C; its exit code is wait's.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

import urllib3.exceptions

from canary.cli.common import add_subcommand, ensure_crd, get_canary
from canary.cli.outcome import ExitCode, Verdict, Waiter
from canary.cli.status import format_status
from rudder.cli.connection import connect, resolve_namespace
from rudder.cli.errors import RETRIED_STATUSES, connection_problem
from rudder.cli.options import add_output, target_of
from rudder.cli.output import dump, parse_timeout, without_server_fields
from rudder.cli.progress import Progress
from rudder.kube.client import KubeError

DEFAULT_TIMEOUT = "10m"

Fetch = Callable[[], Mapping[str, Any] | None]
OnChange = Callable[[Verdict, Mapping[str, Any] | None], None]


def add_parsers(subparsers: Any) -> None:
    wait = add_subcommand(subparsers, "wait", "wait until a canary's outcome is final (exit 0/1/2/3)",
                          (__doc__ or "").split("\n\n")[1])
    wait.add_argument("--timeout", default=DEFAULT_TIMEOUT, help=f"give up after this long (default {DEFAULT_TIMEOUT})")
    wait.add_argument("--interval", default="2s", help="how often to read the canary (default 2s)")
    wait.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    add_output(wait, "print the final CanaryRelease as JSON or YAML")
    wait.set_defaults(handler=run_wait)
    watch = add_subcommand(subparsers, "watch", "follow a canary's progress live until it finishes",
                           (__doc__ or "").split("\n\n")[2])
    watch.add_argument("--interval", default="2s", help="how often to read the canary (default 2s)")
    watch.set_defaults(handler=run_watch)


@dataclass
class Follower:
    """Feeds observations into a Waiter until it gives a final code, sleeping `interval` in between."""

    fetch: Fetch
    waiter: Waiter
    interval: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def run(self, on_change: OnChange) -> tuple[Verdict, Mapping[str, Any] | None]:
        """Until a final verdict: returns it with the last object read (None when it was gone)."""
        while True:
            now = self.clock()
            body: Mapping[str, Any] | None = None
            try:
                body = self.fetch()
            except KubeError as err:
                if err.status not in RETRIED_STATUSES:
                    raise
                verdict = self.waiter.failed_read(err.message, now)
            except urllib3.exceptions.HTTPError as err:
                verdict = self.waiter.failed_read(connection_problem(err), now)
            else:
                verdict = self.waiter.observe(body, now)
            if verdict.code is not None:
                return verdict, body
            on_change(verdict, body)
            self.sleep(self._pause(now))

    def _pause(self, now: float) -> float:
        timeout, started = self.waiter.timeout, self.waiter.started
        if timeout is None or started is None:
            return self.interval
        return max(0.05, min(self.interval, started + timeout - now))


def _fetcher(args: argparse.Namespace) -> tuple[Fetch, str]:
    target = target_of(args)
    namespace = resolve_namespace(target)
    kube = connect(target)
    ensure_crd(kube)
    return (lambda: get_canary(kube, namespace, args.name)), f"CanaryRelease {namespace}/{args.name}"


def final_line(where: str, verdict: Verdict) -> str:
    labels = {
        ExitCode.PROMOTED: "promoted",
        ExitCode.FAILED: "rolled back or failed",
        ExitCode.TIMEOUT: "timed out",
        ExitCode.PAUSED: "paused, waiting for a decision (kubectl canary promote|resume|abort)",
        ExitCode.ERROR: "cannot follow it",
    }
    assert verdict.code is not None
    return f"{where}: {labels[verdict.code]}: {verdict.text}"


def run_wait(args: argparse.Namespace) -> int:
    timeout = parse_timeout(args.timeout)
    interval = parse_timeout(args.interval, "--interval")
    fetch, where = _fetcher(args)
    progress = Progress(quiet=args.quiet)
    try:
        verdict, body = Follower(fetch, Waiter(timeout=timeout), interval).run(lambda v, _b: progress.update(v.text))
    finally:
        progress.done()
    if args.output and body is not None:
        sys.stdout.write(dump(without_server_fields(body), args.output))
    else:
        print(final_line(where, verdict))
    assert verdict.code is not None
    return int(verdict.code)


@dataclass
class LiveView:
    """`watch`'s display: the status table redrawn in place on a terminal, one line per change otherwise."""

    stream: TextIO
    interactive: bool
    _last: str = ""

    def show(self, verdict: Verdict, body: Mapping[str, Any] | None) -> None:
        if self.interactive and body is not None:
            screen = format_status(body, datetime.now(UTC))
            if screen != self._last:
                self.stream.write("\x1b[H\x1b[2J" + screen)  # home + clear: a full-screen refresh
                self._last = screen
        elif verdict.text != self._last:
            self.stream.write(f"{datetime.now(UTC):%H:%M:%S} {verdict.text}\n")
            self._last = verdict.text
        self.stream.flush()


def run_watch(args: argparse.Namespace) -> int:
    interval = parse_timeout(args.interval, "--interval")
    fetch, where = _fetcher(args)
    view = LiveView(sys.stdout, sys.stdout.isatty())
    verdict, body = Follower(fetch, Waiter(timeout=None, stop_on_pause=False), interval).run(view.show)
    if body is not None:
        sys.stdout.write("\n" + format_status(body, datetime.now(UTC)))
    print(final_line(where, verdict))
    assert verdict.code is not None
    return int(verdict.code)
