"""What an upgrade would change, field by field: the rendered objects against the live ones.

Only the fields the chart sets are compared, with the controller's own drift rules (`drift_details`): server
defaults and status are not differences, quantities compare by value (`500m` is `0.5`), containers and
ports match by name, and fields a respected controller owns (the HPA's replicas) are left out.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rudder.domain.describe import changed_paths
from rudder.domain.drift import ABSENT, drift_details
from rudder.domain.labels import REVISION_ANNOTATION
from rudder.domain.objects import ref_of
from rudder.domain.redaction import EMPTY, Redactor

_MAX_VALUE = 100  # characters of a value shown inline; longer ones are cut


class Change(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class FieldChange:
    """One field: its path, the live value and the desired one (None-safe: `live_set` says if it exists)."""

    path: str
    live: Any
    desired: Any
    live_set: bool = True
    secret: bool = False  # a Secret's data: whether it changes is shown, never the values


@dataclass(frozen=True)
class ObjectDiff:
    """The change to one object, named `Kind/name`."""

    name: str
    change: Change
    fields: tuple[FieldChange, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class ReleaseDiff:
    """The whole diff: what changes in the Release's own spec, then per object."""

    chart_changed: bool
    values_changed: tuple[str, ...]
    objects: tuple[ObjectDiff, ...] = field(default=())

    @property
    def changed(self) -> bool:
        return self.chart_changed or bool(self.values_changed) or any(
            o.change is not Change.UNCHANGED for o in self.objects)


def comparable(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A rendered object without the revision annotation, which every new revision changes by design."""
    body = dict(obj)
    meta = dict(body.get("metadata") or {})
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != REVISION_ANNOTATION}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    body["metadata"] = meta
    return body


def _is_secret(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1"


def _canonical_b64(value: Any) -> Any:
    try:  # the API server's decoder skips line breaks, as PEM-style wrapped base64 has them
        return base64.b64encode(base64.b64decode("".join(str(value).split()), validate=True)).decode()
    except (TypeError, ValueError):  # not base64: compared as written (the server rejects it anyway)
        return value


def secret_as_stored(desired: Mapping[str, Any]) -> dict[str, Any]:
    """A Secret as the API server stores it: `stringData` folded into `data` (base64, winning over `data`
    keys), `data` in canonical base64. Live Secrets never have `stringData`, so comparing the rendered
    `stringData` would show a change forever."""
    body = dict(desired)
    data = body.get("data")
    folded = {k: _canonical_b64(v) for k, v in data.items()} if isinstance(data, Mapping) else {}
    string_data = body.pop("stringData", None)
    if isinstance(string_data, Mapping):
        folded.update({k: base64.b64encode(str(v).encode()).decode() for k, v in string_data.items()})
    if folded or "data" in body:
        body["data"] = folded
    return body


def _secret_path(path: str) -> bool:
    return path in ("data", "stringData") or path.startswith(("data.", "stringData.", "data[", "stringData["))


def object_diff(
    desired: Mapping[str, Any], live: Mapping[str, Any] | None, redactor: Redactor = EMPTY
) -> ObjectDiff:
    """How `live` (None: absent) differs from `desired`.

    A Secret's `data`/`stringData` fields are compared as stored and reported without values; any other
    value has the secrets `redactor` knows (valuesFrom Secrets, Secret objects' data) replaced.
    """
    name = str(ref_of(desired))
    if live is None:
        return ObjectDiff(name, Change.CREATE)
    secret = _is_secret(desired)
    wanted = comparable(secret_as_stored(desired) if secret else desired)
    fields = []
    for raw_path, want, have in drift_details(wanted, live):
        live_set = have is not ABSENT
        path = redactor.key(raw_path)  # a map key may be secret-derived
        if secret and _secret_path(path):
            fields.append(FieldChange(path, None, None, live_set=live_set, secret=True))
        else:
            fields.append(FieldChange(path, redactor.tree(None if have is ABSENT else have), redactor.tree(want),
                                      live_set=live_set))
    return ObjectDiff(name, Change.UPDATE if fields else Change.UNCHANGED, tuple(fields))


def release_diff(
    live_spec: Mapping[str, Any] | None,
    new_spec: Mapping[str, Any],
    objects: Sequence[ObjectDiff],
) -> ReleaseDiff:
    """Chart and values of the Release itself (None: it does not exist yet), and the object diffs."""
    old = live_spec or {}
    return ReleaseDiff(
        chart_changed=old.get("chart") != new_spec.get("chart"),
        values_changed=tuple(changed_paths(old.get("values") or {}, new_spec.get("values") or {})),
        objects=tuple(objects),
    )


def show(value: Any) -> str:
    """A value on one line, JSON-style, cut when long."""
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 3] + "..."


def format_diff(diff: ReleaseDiff, release: str, *, exists: bool) -> str:
    """The human form: `~` changed, `+` created, `-` deleted; unchanged objects are counted, not listed."""
    lines = []
    if not exists:
        lines.append(f"+ Release {release} (new)")
    elif diff.chart_changed or diff.values_changed:
        parts = (["chart"] if diff.chart_changed else []) + (
            [f"values ({', '.join(diff.values_changed)})"] if diff.values_changed else [])
        lines.append(f"~ Release {release}: {', '.join(parts)}")
    for item in diff.objects:
        if item.change is Change.CREATE:
            lines.append(f"+ {item.name}{f' ({item.note})' if item.note else ''}")
        elif item.change is Change.DELETE:
            lines.append(f"- {item.name}{f' ({item.note})' if item.note else ''}")
        elif item.change is Change.UPDATE:
            lines.append(f"~ {item.name}")
            for change in item.fields:
                if change.secret:
                    what = "changed" if change.live_set else "added"
                    lines.append(f"    {change.path}: (secret value {what}; not shown)")
                    continue
                before = show(change.live) if change.live_set else "(unset)"
                lines.append(f"    {change.path}: {before} -> {show(change.desired)}")
    unchanged = sum(1 for o in diff.objects if o.change is Change.UNCHANGED)
    if not lines:
        return f"no differences ({unchanged} objects up to date)\n"
    if unchanged:
        lines.append(f"({unchanged} objects unchanged)")
    return "\n".join(lines) + "\n"


def diff_dict(diff: ReleaseDiff) -> dict[str, Any]:
    """The `-o json|yaml` form."""
    return {
        "changed": diff.changed,
        "release": {"chartChanged": diff.chart_changed, "valuesChanged": list(diff.values_changed)},
        "objects": [
            {
                "object": o.name,
                "change": o.change.value,
                **({"note": o.note} if o.note else {}),
                "fields": [
                    {"path": f.path, "secret": True, "change": "changed" if f.live_set else "added"} if f.secret
                    else {"path": f.path, **({"live": f.live} if f.live_set else {}), "desired": f.desired}
                    for f in o.fields
                ],
            }
            for o in diff.objects
        ],
    }
