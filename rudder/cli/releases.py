"""Reading and writing Release objects from the command line, through the controller's kube I/O layer.

The CLI writes a Release with server-side apply under its own field manager, so the fields it does not set
(timeout, atomic, dependsOn, ... written by kubectl or a GitOps tool) keep their owners. A rollback leaves
the controller owning the chart and values it restored, and apply never removes fields another manager owns;
when a dry run shows such leftovers, the chart and values are replaced exactly instead (a JSON Patch guarded
by the resourceVersion), so `upgrade` means "exactly this chart with exactly these values".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rudder.cli.errors import CliError, describe_kube_error
from rudder.domain.history_auth import is_owned_history
from rudder.domain.ownership import ReleaseIdentity
from rudder.kube.client import Kube, KubeError, Ref
from rudder.kube.release_io import HISTORY_KIND, RELEASE_KIND, list_histories, release_ref
from rudder.models import API_VERSION

FIELD_MANAGER = "rudder-cli"
_INVALID = 422


def ensure_crds(kube: Kube, *kinds: str) -> None:
    """A clear error when the cluster does not serve Rudder's kinds (the CRDs are not installed)."""
    for kind in kinds or (RELEASE_KIND,):
        if kube.resource(API_VERSION, kind) is None:
            raise CliError(f"the cluster does not serve {kind} ({API_VERSION}): "
                           "install the CRDs (kubectl apply -f crds/)")


def get_release(kube: Kube, namespace: str, name: str) -> dict[str, Any] | None:
    ensure_crds(kube)
    return kube.get(release_ref(namespace, name))


def require_release(kube: Kube, namespace: str, name: str) -> dict[str, Any]:
    """The Release, or a CliError naming it."""
    release = get_release(kube, namespace, name)
    if release is None:
        raise CliError(f"Release {namespace}/{name} not found")
    return release


def histories(kube: Kube, namespace: str, name: str) -> list[dict[str, Any]]:
    """The Release's ReleaseHistory objects, oldest revision first: only those owned by the Release's uid
    (a label-only forgery is not shown; the controller also checks each one's signature)."""
    ensure_crds(kube, HISTORY_KIND)
    release = kube.get(release_ref(namespace, name))
    if release is None:
        return []
    owner = ReleaseIdentity(name, namespace, str(release["metadata"].get("uid", "")))
    return [h for h in list_histories(kube, namespace, name) if is_owned_history(h, owner)]


def write_release(kube: Kube, body: Mapping[str, Any]) -> dict[str, Any]:
    """Create or update the Release so that its chart and values are exactly `body`'s; returns it as stored.

    A server-side dry run shows first what applying would leave: if fields owned by another manager would
    survive, the chart and values are replaced outright instead, so the controller never sees (and deploys)
    a mix of the old and new values.
    """
    meta = body["metadata"]
    ref = release_ref(meta["namespace"], meta["name"])
    try:
        preview = kube.apply(body, dry_run=True, field_manager=FIELD_MANAGER)
    except KubeError as err:
        # Fields left by another manager can make the merged object invalid (inline templates and an
        # archive at once); replacing chart and values outright is then the way through.
        existing = kube.get(ref) if err.status == _INVALID else None
        if existing is None:
            raise CliError(f"cannot write {_describe(ref)}: {describe_kube_error(err)}") from None
        return _replace_content(kube, ref, existing, body)
    if _content(preview) != _content(body):
        existing = kube.get(ref)
        if existing is not None:
            return _replace_content(kube, ref, existing, body)
    try:
        return kube.apply(body, field_manager=FIELD_MANAGER)
    except KubeError as err:
        raise CliError(f"cannot write {_describe(ref)}: {describe_kube_error(err)}") from None


def _content(release: Mapping[str, Any]) -> tuple[Any, Any]:
    spec = release.get("spec") or {}
    return spec.get("chart"), spec.get("values") or {}


def _replace_content(kube: Kube, ref: Ref, live: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    chart, values = _content(body)
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": live["metadata"]["resourceVersion"]},
        {"op": "add", "path": "/spec/chart", "value": chart},
        {"op": "add", "path": "/spec/values", "value": values},
    ]
    try:
        return kube.json_patch(ref, ops)
    except KubeError as err:
        if err.conflict or (err.status == _INVALID and "test" in err.message.lower()):
            raise CliError(f"{_describe(ref)} changed while it was being written; run the command again") from None
        raise CliError(f"cannot write {_describe(ref)}: {describe_kube_error(err)}") from None


def _describe(ref: Ref) -> str:
    return f"{ref.kind} {ref.namespace}/{ref.name}"
