"""What the kubectl-canary subcommands share: flags, the exit code of errors, and reading CanaryReleases
and their Events through the controller's kube I/O layer (the connection code is the `rudder` CLI's)."""

from __future__ import annotations

import argparse
from typing import Any

from canary.cli.outcome import ExitCode
from rudder.cli.errors import CliError
from rudder.cli.options import add_target
from rudder.kube.client import Kube, Ref
from rudder.models import API_VERSION

KIND = "CanaryRelease"
EXIT_ERROR = int(ExitCode.ERROR)  # every subcommand but judge: 4 means "could not do it"


def canary_ref(namespace: str, name: str) -> Ref:
    return Ref(API_VERSION, KIND, name, namespace)


def add_subcommand(
    subparsers: Any, name: str, help_text: str, description: str = "", *, name_optional: bool = False
) -> argparse.ArgumentParser:
    """A subcommand parser whose usage errors exit 4 (2 means a timeout for `wait`), with NAME and the
    cluster flags."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=help_text, description=description or help_text, usage_exit=EXIT_ERROR)
    parser.add_argument("name", nargs="?" if name_optional else None, help="CanaryRelease name")
    add_target(parser)
    parser.set_defaults(error_code=EXIT_ERROR)
    return parser


def ensure_crd(kube: Kube) -> None:
    if kube.resource(API_VERSION, KIND) is None:
        raise CliError(f"the cluster does not serve {KIND} ({API_VERSION}): install the CRDs (kubectl apply -f crds/)")


def get_canary(kube: Kube, namespace: str, name: str) -> dict[str, Any] | None:
    return kube.get(canary_ref(namespace, name))


def require_canary(kube: Kube, namespace: str, name: str) -> dict[str, Any]:
    ensure_crd(kube)
    body = get_canary(kube, namespace, name)
    if body is None:
        raise CliError(f"{KIND} {namespace}/{name} not found")
    return body


def canary_events(kube: Kube, namespace: str, name: str, uid: str = "") -> list[dict[str, Any]]:
    """The Events about this CanaryRelease, oldest first (the API keeps them about an hour)."""
    events = [
        e for e in kube.list_objects("v1", "Event", namespace)
        if (e.get("involvedObject") or {}).get("kind") == KIND
        and (e.get("involvedObject") or {}).get("name") == name
        and (not uid or (e.get("involvedObject") or {}).get("uid") in (uid, None, ""))
    ]
    return sorted(events, key=_event_time)


def _event_time(event: dict[str, Any]) -> str:
    return str(event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp")
               or (event.get("metadata") or {}).get("creationTimestamp") or "")
