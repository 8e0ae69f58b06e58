"""ReleaseHistory objects: building them, reading them back as records, their status transitions and the
history-limit prune plan."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rudder.domain.describe import RevisionSource
from rudder.domain.history_codec import EncodedManifest, HistoryCorrupt
from rudder.domain.labels import RELEASE_LABEL, REVISION_LABEL
from rudder.domain.objects import nested
from rudder.domain.ownership import ReleaseIdentity
from rudder.domain.revision import HistoryRecord
from rudder.domain.timestamps import format_time, parse_time
from rudder.models import API_VERSION, ChartSpec, HistoryPhase, ObjectRef, Values, ValuesFromRef


def history_name(release: str, revision: int) -> str:
    """`<release>-v<revision>`."""
    return f"{release}-v{revision}"


def history_secret_name(release: str, revision: int) -> str:
    """The Secret holding a history's secret payload."""
    return f"{history_name(release, revision)}-secret"


def history_labels(release: str, revision: int) -> dict[str, str]:
    """The labels by which histories of a Release are listed."""
    return {RELEASE_LABEL: release, REVISION_LABEL: str(revision)}


@dataclass(frozen=True, eq=False)
class HistoryContent:
    """What one revision stores besides its manifest."""

    revision: int
    chart: ChartSpec
    values: Values
    values_from: tuple[ValuesFromRef, ...]
    content_digest: str
    inventory: tuple[ObjectRef, ...]
    description: str
    source: RevisionSource
    canary_release: str | None = None
    post_render: Mapping[str, Any] | None = None  # the raw spec.postRender, when set


def history_body(
    owner: ReleaseIdentity, content: HistoryContent, manifest: EncodedManifest
) -> dict[str, Any]:
    """The ReleaseHistory object to create (its spec is immutable once written)."""
    spec: dict[str, Any] = {
        "release": owner.name,
        "revision": content.revision,
        "chart": content.chart.to_dict(),
        "values": dict(content.values),
        "valuesFrom": [ref.to_dict() for ref in content.values_from],
        "manifest": manifest.manifest,
        "manifestEncoding": manifest.encoding,
        "manifestDigest": manifest.digest,
        "contentDigest": content.content_digest,
        "inventory": [ObjectRef(r.api_version, r.kind, r.name).to_dict() for r in content.inventory],
        "description": content.description,
        "notes": manifest.notes,
        "source": {"kind": content.source.value},
    }
    if content.canary_release:
        spec["source"]["canaryRelease"] = content.canary_release
    if content.post_render:
        spec["postRender"] = dict(content.post_render)
    if manifest.secret_data is not None:
        spec["secretRef"] = {"name": history_secret_name(owner.name, content.revision)}
    return {
        "apiVersion": API_VERSION,
        "kind": "ReleaseHistory",
        "metadata": {
            "name": history_name(owner.name, content.revision),
            "namespace": owner.namespace,
            "labels": history_labels(owner.name, content.revision),
            "ownerReferences": [owner.owner_reference(controller=True)],
        },
        "spec": spec,
    }


def history_secret_body(
    owner: ReleaseIdentity, revision: int, manifest: EncodedManifest, history_uid: str
) -> dict[str, Any] | None:
    """The Secret owned by the ReleaseHistory `history_uid` that holds its payload; None when not needed."""
    if manifest.secret_data is None:
        return None
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": history_secret_name(owner.name, revision),
            "namespace": owner.namespace,
            "labels": history_labels(owner.name, revision),
            "ownerReferences": [{
                "apiVersion": API_VERSION, "kind": "ReleaseHistory",
                "name": history_name(owner.name, revision), "uid": history_uid, "controller": True,
            }],
        },
        "data": dict(manifest.secret_data),
    }


def history_record(body: Mapping[str, Any]) -> HistoryRecord:
    """The decision-relevant facts of a stored ReleaseHistory object."""
    phase_text = nested(body, "status", "phase")
    phase = HistoryPhase(phase_text) if isinstance(phase_text, str) and phase_text in {
        p.value for p in HistoryPhase} else None
    raw_stamps = nested(body, "status", "deployedAt")
    stamps = [parse_time(t) for t in raw_stamps if isinstance(t, str)] if isinstance(raw_stamps, list) else []
    revision = nested(body, "spec", "revision")
    return HistoryRecord(
        revision=revision if isinstance(revision, int) and not isinstance(revision, bool) else 0,
        content_digest=str(nested(body, "spec", "contentDigest") or ""),
        phase=phase,
        deployed_at=tuple(t for t in stamps if t is not None),
        ready=bool(nested(body, "status", "ready")),
    )


_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN = re.compile(rf"{_DNS_LABEL}(\.{_DNS_LABEL})*")
_VERSION = re.compile(r"v[0-9]+((alpha|beta)[0-9]+)?")
_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]{0,62}")
# RBAC objects' names are path segments (`system:controller:x` is valid), not DNS subdomains.
_PATH_SEGMENT_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9:._@+=-]+")
_MAX_INVENTORY = 10_000


def inventory_entry_problem(api_version: str, kind: str, name: str) -> str | None:
    """Why a stored inventory entry cannot name a real object (None when it can).

    Inventory entries become URL paths of GET, PATCH and DELETE requests, so anything outside the
    characters Kubernetes allows (a `/`, `..`, `?`, `%`) is refused before a request is built.
    """
    group, _, version = api_version.rpartition("/")
    if not _VERSION.fullmatch(version) or (group and (len(group) > 253 or not _DNS_SUBDOMAIN.fullmatch(group))):
        return f"apiVersion {api_version[:80]!r} is not a valid group/version"
    if not _KIND.fullmatch(kind):
        return f"kind {kind[:80]!r} is not a valid kind"
    if not name or len(name) > 253:
        return f"name {name[:80]!r} is empty or longer than 253 characters"
    if kind in _PATH_SEGMENT_KINDS:
        valid = bool(_PATH_SEGMENT.fullmatch(name)) and name not in (".", "..")
    else:
        valid = bool(_DNS_SUBDOMAIN.fullmatch(name))
    return None if valid else f"name {name[:80]!r} of {kind} is not a valid object name"


def history_inventory(spec: Mapping[str, Any]) -> tuple[ObjectRef, ...]:
    """The stored inventory of a revision: what a later revision prunes against.

    Raises HistoryCorrupt naming the entry when one is malformed: a stored name such as
    `x/../../../kube-system/secrets/cluster-ca` must never reach a request path.
    """
    entries = spec.get("inventory") if isinstance(spec, Mapping) else None
    if entries is None:
        return ()
    if not isinstance(entries, list) or len(entries) > _MAX_INVENTORY:
        raise HistoryCorrupt(f"spec.inventory is not a list of at most {_MAX_INVENTORY} entries")
    refs = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not all(
            isinstance(entry.get(k), str) for k in ("apiVersion", "kind", "name")
        ):
            raise HistoryCorrupt(f"spec.inventory[{index}] needs string apiVersion, kind and name")
        problem = inventory_entry_problem(entry["apiVersion"], entry["kind"], entry["name"])
        if problem:
            raise HistoryCorrupt(f"spec.inventory[{index}]: {problem}")
        refs.append(ObjectRef(entry["apiVersion"], entry["kind"], entry["name"]))
    return tuple(refs)


def is_history_secret_name(release: str, name: str) -> bool:
    """True for names of the form `<release>-v<N>-secret`, reserved for the Release's history Secrets."""
    return re.fullmatch(re.escape(release) + r"-v[0-9]+-secret", name) is not None


def history_status_updates(
    records: Sequence[HistoryRecord],
    current: int,
    now: datetime,
    *,
    became_current: bool,
    failed: bool = False,
    ready: bool | None = None,
    message: str = "",
) -> dict[int, dict[str, Any]]:
    """Status patches (revision -> status) for the histories, given the current revision's state.

    When `became_current` (install, upgrade or rollback), `now` is appended to the current revision's
    deployedAt and every other Deployed revision becomes Superseded (Failed ones stay Failed). The current
    one is Deployed, or Failed when `failed` (deadline passed, resources failed); `ready` records that it
    reached Ready (the last Ready revision is never pruned and is what `atomic` restores). Only records whose
    status changes get a patch, so an unchanged reconcile writes nothing.
    """
    updates: dict[int, dict[str, Any]] = {}
    target = HistoryPhase.FAILED if failed else HistoryPhase.DEPLOYED
    for record in records:
        if record.revision == current:
            ready_changed = ready is not None and ready != record.ready
            if became_current or record.phase is not target or ready_changed:
                stamps = [format_time(t) for t in record.deployed_at]
                if became_current and not (record.phase is HistoryPhase.DEPLOYED and stamps):
                    # Already Deployed with a stamp: a resumed attempt (killed before status was written), not a
                    # second deployment.
                    stamps.append(format_time(now))
                patch: dict[str, Any] = {"phase": target.value, "deployedAt": stamps}
                if ready is not None:
                    patch["ready"] = ready
                if message:
                    patch["message"] = message
                updates[record.revision] = patch
        elif record.phase is HistoryPhase.DEPLOYED:
            updates[record.revision] = {"phase": HistoryPhase.SUPERSEDED.value}
    return updates


def plan_history_prune(
    records: Sequence[HistoryRecord], limit: int, *, current: int | None, last_ready: int | None
) -> tuple[int, ...]:
    """Revisions whose histories to delete, oldest first, so that at most `limit` remain.

    The current revision and the last Ready one are never pruned, even when that leaves more than `limit`.
    """
    protected = {r for r in (current, last_ready) if r is not None}
    revisions = sorted({r.revision for r in records})
    excess = len(revisions) - max(limit, 1)
    doomed: list[int] = []
    for revision in revisions:
        if len(doomed) >= excess:
            break
        if revision not in protected:
            doomed.append(revision)
    return tuple(doomed)
