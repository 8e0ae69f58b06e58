"""`rudder wait NAME --revision N | --generation G | --for-current`: for pipelines, what became of one
revision.

It returns once the awaited revision's outcome is final, with distinct exit codes (see
rudder.cli.wait_outcome): 0 Ready, 1 Failed, 2 timed out, 3 suspended, 4 cannot follow it, 5 rolled back,
6 superseded by a newer revision. `--generation G` awaits the revision made for spec generation G (as
`kubectl apply` or `rudder upgrade` wrote it), `--for-current` the one made for the generation the Release
has when the wait starts. Like `kubectl canary wait`, it reads the Release and its histories every
`--interval`; progress goes to stderr, the final line (or `-o json|yaml`: the Release) to stdout.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import urllib3.exceptions

from rudder.cli import options
from rudder.cli.connection import connect, resolve_namespace
from rudder.cli.errors import RETRIED_STATUSES, CliError, connection_problem
from rudder.cli.output import dump, format_duration, parse_timeout, without_server_fields
from rudder.cli.progress import Finished, Progress, Waiting, poll
from rudder.cli.releases import ensure_crds
from rudder.cli.wait_outcome import LABELS, Awaited, Reading, WaitCode, decide
from rudder.domain.history_auth import is_owned_history
from rudder.domain.ownership import ReleaseIdentity
from rudder.kube.client import Kube, KubeError
from rudder.kube.release_io import HISTORY_KIND, RELEASE_KIND, list_histories, release_ref

DEFAULT_TIMEOUT = "10m"  # as `kubectl canary wait`
DEFAULT_INTERVAL = "2s"
EXIT_ERROR = int(WaitCode.ERROR)  # usage errors too: argparse's 2 would read as "timed out"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "wait", help="wait for one revision's outcome (exit 0 Ready, 1 Failed, 2 timeout, 5 rolled back, "
                     "6 superseded)",
        description=(__doc__ or "").split("\n\n")[1], usage_exit=EXIT_ERROR)
    parser.add_argument("name", help="Release name")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--revision", type=int, metavar="N", help="wait for revision N")
    which.add_argument("--generation", type=int, metavar="G",
                       help="wait for the revision made for the Release's spec generation G (metadata.generation)")
    which.add_argument("--for-current", action="store_true",
                       help="wait for the revision made for the Release's spec as it is now")
    parser.add_argument("--timeout", default=DEFAULT_TIMEOUT,
                        help=f"give up after this long (default {DEFAULT_TIMEOUT})")
    parser.add_argument("--interval", default=DEFAULT_INTERVAL,
                        help=f"how often to read the Release (default {DEFAULT_INTERVAL})")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    options.add_output(parser, "print the Release as JSON or YAML when done")
    options.add_target(parser)
    parser.set_defaults(handler=run, error_code=EXIT_ERROR, usage_code=EXIT_ERROR)


@dataclass
class Follower:
    """Reads the Release and its histories and decides; keeps the last Release read (for `-o`)."""

    kube: Kube
    release: Mapping[str, Any]  # as first read: its uid tells a Release created again under the same name
    awaited: Awaited
    last: Mapping[str, Any] | None = None

    def check(self) -> Waiting | Finished[Reading]:
        meta = self.release["metadata"]
        owner = ReleaseIdentity(meta["name"], meta["namespace"], str(meta.get("uid", "")))
        try:
            live = self.kube.get(release_ref(owner.namespace, owner.name))
            if live is None or live["metadata"].get("uid") != owner.uid:
                return Finished(Reading(WaitCode.ERROR, "deleted while waiting"))
            histories = [h for h in list_histories(self.kube, owner.namespace, owner.name)
                         if is_owned_history(h, owner)]
        except KubeError as err:
            if err.status not in RETRIED_STATUSES:
                raise
            return Waiting(f"cannot read it: {err.message}")
        except urllib3.exceptions.HTTPError as err:
            return Waiting(f"cannot read it: {connection_problem(err)}")
        self.last = live
        reading = decide(live, histories, self.awaited)
        return Waiting(reading.text) if reading.code is None else Finished(reading)


def awaited_of(args: argparse.Namespace, release: Mapping[str, Any]) -> Awaited:
    for flag, value in (("--revision", args.revision), ("--generation", args.generation)):
        if value is not None and value < 1:
            raise CliError(f"{flag} {value}: must be 1 or more")
    if args.revision is not None:
        return Awaited(revision=args.revision)
    if args.generation is not None:
        return Awaited(generation=args.generation)
    return Awaited(generation=int(release["metadata"].get("generation") or 1))


def run(args: argparse.Namespace) -> int:
    timeout = parse_timeout(args.timeout)
    interval = parse_timeout(args.interval, "--interval")
    target = options.target_of(args)
    try:
        namespace = resolve_namespace(target)
    except CliError as err:  # a bad namespace is a usage error: exit 4 here, not 2 (timed out)
        raise CliError(str(err), code=EXIT_ERROR) from None
    kube = connect(target)
    ensure_crds(kube, RELEASE_KIND, HISTORY_KIND)
    where = f"Release {namespace}/{args.name}"
    release = kube.get(release_ref(namespace, args.name))
    if release is None:
        raise CliError(f"{where} not found")
    awaited = awaited_of(args, release)
    follower = Follower(kube, release, awaited)
    outcome = poll(follower.check, timeout=timeout, interval=interval, progress=Progress(quiet=args.quiet))
    reading = outcome.value if isinstance(outcome, Finished) else Reading(
        WaitCode.TIMEOUT, f"no outcome within {format_duration(timeout)}; last seen: {outcome.text}")
    assert reading.code is not None
    if args.output and follower.last is not None:
        sys.stdout.write(dump(without_server_fields(follower.last), args.output))
    else:
        print(f"{where} {awaited}: {LABELS[reading.code]}: {reading.text}")
    return int(reading.code)
