"""Small accessors for plain Kubernetes object mappings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rudder.domain.labels import metadata_of
from rudder.models import ObjectRef


def ref_of(obj: Mapping[str, Any]) -> ObjectRef:
    """The identity of an object (missing fields become ''; validation reports them)."""
    meta = metadata_of(obj)
    namespace = meta.get("namespace")
    return ObjectRef(
        api_version=str(obj.get("apiVersion") or ""),
        kind=str(obj.get("kind") or ""),
        name=str(meta.get("name") or ""),
        namespace=str(namespace) if namespace else None,
    )


def nested(obj: Mapping[str, Any], *path: str) -> Any:
    """`obj[path[0]][path[1]]...`, or None as soon as a step is missing or not a mapping."""
    node: Any = obj
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def int_at(obj: Mapping[str, Any], *path: str, default: int = 0) -> int:
    """An integer field, `default` when absent or not an integer."""
    value = nested(obj, *path)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def conditions_of(obj: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    """`status.conditions` keyed by type."""
    raw = nested(obj, "status", "conditions")
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        return {}
    return {str(c.get("type")): c for c in raw if isinstance(c, Mapping)}


def condition_is(obj: Mapping[str, Any], condition_type: str, status: str = "True") -> bool:
    """True when the object has condition `condition_type` with the given status."""
    condition = conditions_of(obj).get(condition_type)
    return condition is not None and str(condition.get("status")) == status


def merge_patch_to(live: Any, wanted: Any) -> Any:
    """The JSON merge patch (RFC 7396) value that turns `live` into `wanted`: keys of a mapping that `wanted`
    no longer has are set to null, as a merge patch otherwise keeps them (a pod phase gone from
    `podStatistics` would stay for ever, and every pass would write the same status again)."""
    if not isinstance(wanted, Mapping) or not isinstance(live, Mapping):
        return wanted
    patch: dict[str, Any] = {key: None for key in live if key not in wanted}
    for key, value in wanted.items():
        patch[key] = merge_patch_to(live.get(key), value)
    return patch
