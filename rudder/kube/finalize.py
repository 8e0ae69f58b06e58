"""Uninstall on Release deletion: delete every managed object except those kept by annotation
(whose ownerReference to the Release is removed so garbage collection spares them), then the
ReleaseHistory objects and their Secrets.

Only authentic histories (owned by the Release's uid and signed) say what to delete, their inventory
entries must be valid object names, and an object is deleted only when its live form carries this
Release's ownership: a forged history cannot steer a DELETE anywhere else (issue 11, F1).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from rudder.domain.history import history_inventory
from rudder.domain.history_auth import HistoryKey
from rudder.domain.history_codec import HistoryCorrupt
from rudder.domain.ownership import ReleaseIdentity, orphan_patch, owned_for_delete
from rudder.domain.prune import plan_uninstall
from rudder.kube import release_io as io
from rudder.kube.client import Kube, Ref
from rudder.models import ObjectRef

log = logging.getLogger("rudder.release")


def uninstall(
    kube: Kube, release: Mapping[str, Any], key: HistoryKey, *, accept_unsigned: bool = False
) -> list[ObjectRef]:
    """One pass of the uninstall; returns the objects still present (call again until empty)."""
    meta = release["metadata"]
    namespace = meta["namespace"]
    owner = ReleaseIdentity(meta["name"], namespace, meta["uid"])
    screened = io.screened_histories(kube, owner, key, accept_unsigned=accept_unsigned)
    io.warn_rejected(kube, release, screened)
    histories = list(screened.accepted)
    inventory: dict[tuple[str, str, str | None, str], ObjectRef] = {}
    for h in histories:
        try:
            refs = history_inventory(h["spec"])
        except HistoryCorrupt as err:
            io.emit_event(kube, release, "HistoryIgnored",
                          f"ReleaseHistory {h['metadata']['name']}: {err}; its inventory is not used", warning=True)
            continue
        for ref in refs:
            inventory.setdefault(ref.identity, ref)
    live: dict[ObjectRef, dict[str, Any]] = {}
    for ref in inventory.values():
        obj = kube.get(Ref(ref.api_version, ref.kind, ref.name, namespace))
        if obj is not None:
            live[ref] = obj
    plan = plan_uninstall(list(inventory.values()), live_objects=live.values())
    for ref in plan.keep:
        obj = live.get(ref)
        patch = orphan_patch(obj, owner) if obj else None
        if patch:
            kube.patch(Ref(ref.api_version, ref.kind, ref.name, namespace), patch)
    remaining = []
    for ref in plan.delete:
        obj = live.get(ref)
        if obj is None:
            continue
        if not owned_for_delete(obj, owner, namespaced=kube.is_namespaced(ref.api_version, ref.kind) is not False):
            log.info("%s/%s: uninstall leaves %s alone: it does not carry this Release's ownership",
                     namespace, owner.name, ref)
            continue
        kube.delete(Ref(ref.api_version, ref.kind, ref.name, namespace), propagation="Foreground")
        remaining.append(ref)
    if remaining:
        return remaining
    for h in histories:
        io.delete_history(kube, namespace, h)
    return []
