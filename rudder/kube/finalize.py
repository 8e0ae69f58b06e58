"""Uninstall on Release deletion: delete every managed object except those kept by annotation
(whose ownerReference to the Release is removed so garbage collection spares them), then the
ReleaseHistory objects and their Secrets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rudder.domain.history import history_inventory
from rudder.domain.ownership import ReleaseIdentity, orphan_patch
from rudder.domain.prune import plan_uninstall
from rudder.kube import release_io as io
from rudder.kube.client import Kube, Ref
from rudder.models import ObjectRef


def uninstall(kube: Kube, release: Mapping[str, Any]) -> list[ObjectRef]:
    """One pass of the uninstall; returns the objects still present (call again until empty)."""
    meta = release["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    owner = ReleaseIdentity(name, namespace, meta["uid"])
    histories = io.list_histories(kube, namespace, name)
    inventory: dict[tuple[str, str, str | None, str], ObjectRef] = {}
    for h in histories:
        for ref in history_inventory(h["spec"]):
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
        if ref in live:
            kube.delete(Ref(ref.api_version, ref.kind, ref.name, namespace), propagation="Foreground")
            remaining.append(ref)
    if remaining:
        return remaining
    for h in histories:
        io.delete_history(kube, namespace, h)
    return []
