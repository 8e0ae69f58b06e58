"""What the watch caches keep of an object: everything the controllers read, without the managedFields entries
nothing reads.

managedFields are often the largest part of an object (a Pod's or a ReplicaSet's repeat their whole spec and
status as field sets). The controllers read them only on objects Rudder applied itself: the fieldset digest of
its own entry (rudder.kube.applier) and the fields other managers own there, the HPA's `scale` entry included
(rudder.domain.drift). So an object without a Rudder entry keeps none, and entries of the `status` subresource
(never desired state) are dropped everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rudder.domain.labels import FIELD_MANAGER


def _kept(entry: Any) -> bool:
    return isinstance(entry, Mapping) and entry.get("subresource") != "status"


def slim(obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` with only the managedFields entries the controllers read (the same dict when nothing goes)."""
    meta = obj.get("metadata")
    fields = meta.get("managedFields") if isinstance(meta, dict) else None
    if not isinstance(fields, list) or not fields:
        return obj
    kept = [entry for entry in fields if _kept(entry)]
    if not any(entry.get("manager") == FIELD_MANAGER for entry in kept):
        kept = []
    if len(kept) == len(fields):
        return obj
    assert isinstance(meta, dict)
    trimmed = {key: value for key, value in meta.items() if key != "managedFields"}
    if kept:
        trimmed["managedFields"] = kept
    return {**obj, "metadata": trimmed}
