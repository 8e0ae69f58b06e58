"""Drift policy (`spec.drift`): which drifted fields count, what to do about them, what status says.

Ignore rules name fields by JSON pointer (RFC 6901) in the objects their target selects. An ignored field is
never reported nor repaired; and once another field manager owns it in the live object (an HPA's
`spec.replicas`, a webhook's annotation), it is left out of what Rudder applies (`strip_ignored`), so
server-side apply neither forces it back nor removes it, on drift repair, upgrade and rollback alike. While
Rudder is its only manager (the first install) the field is applied as the chart says.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rudder.domain.drift import Path, drift_paths, render_path
from rudder.domain.labels import FIELD_MANAGER, labels_of, metadata_of
from rudder.domain.timestamps import format_time
from rudder.drift_spec import DriftMode, IgnoreRule, IgnoreTarget
from rudder.models import ObjectRef
from rudder.sharding import matches, parse_shard

DRIFTED = "Drifted"
MISSING = "(missing)"
MAX_LISTED_OBJECTS = 20
MAX_LISTED_FIELDS = 10
Tokens = tuple[str, ...]


def pointer_tokens(pointer: str) -> Tokens:
    """`/metadata/annotations/a~1b` -> ("metadata", "annotations", "a/b")."""
    return tuple(part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:])


def target_matches(target: IgnoreTarget | None, obj: Mapping[str, Any]) -> bool:
    """Whether a rule's target selects `obj` (every unset field of the target matches)."""
    if target is None:
        return True
    group, _, version = str(obj.get("apiVersion") or "").rpartition("/")
    checks = ((target.group, group), (target.version, version), (target.kind, obj.get("kind")),
              (target.name, metadata_of(obj).get("name")))
    if any(wanted is not None and wanted != have for wanted, have in checks):
        return False
    if target.label_selector:
        return matches(parse_shard(target.label_selector), labels_of(obj))
    return True


def ignored_pointers(rules: Sequence[IgnoreRule], obj: Mapping[str, Any]) -> tuple[Tokens, ...]:
    """The pointers (as tokens) of every rule whose target selects `obj`."""
    return tuple(pointer_tokens(p) for rule in rules if target_matches(rule.target, obj) for p in rule.paths)


def is_ignored(path: Path, pointers: Sequence[Tokens]) -> bool:
    """A drifted path is ignored when a pointer names it or one of its parents."""
    parts = tuple(str(p) for p in path)
    return any(parts[: len(tokens)] == tokens for tokens in pointers)


def object_drift(
    desired: Mapping[str, Any], live: Mapping[str, Any] | None, rules: Sequence[IgnoreRule]
) -> tuple[str, ...]:
    """Dotted paths of the drifted fields of one object that no ignore rule covers (MISSING for a deleted one)."""
    if live is None:
        return (MISSING,)
    pointers = ignored_pointers(rules, live) + ignored_pointers(rules, desired)
    return tuple(render_path(path) for path, _, _ in drift_paths(desired, live) if not is_ignored(path, pointers))


def _list_entry(node: Mapping[str, Any], item: Any, index: int) -> Any:
    """The managedFields node of one list item: by its key fields (`k:{...}`), its value (`v:`) or index."""
    for key, child in node.items():
        if key.startswith("k:") and isinstance(item, Mapping):
            try:
                wanted = json.loads(key[2:])
            except ValueError:
                continue
            if isinstance(wanted, Mapping) and all(item.get(k) == v for k, v in wanted.items()):
                return child
        elif key.startswith("v:"):
            try:
                if json.loads(key[2:]) == item:
                    return child
            except ValueError:
                continue
        elif key == f"i:{index}":
            return child
    return None


def _node_at(fields: Any, live: Any, tokens: Tokens) -> Any:
    """The managedFields node of the field at `tokens` ({} when an atomic parent is owned whole), or None."""
    node, obj = fields, live
    for token in tokens:
        if not isinstance(node, Mapping):
            return None
        if not node or node == {".": {}}:
            return {}  # an atomic value (args, a scalar) owned whole: its parts are owned too
        if isinstance(obj, list):
            if not token.isdigit() or int(token) >= len(obj):
                return None
            node, obj = _list_entry(node, obj[int(token)], int(token)), obj[int(token)]
        else:
            node = node.get(f"f:{token}")
            obj = obj.get(token) if isinstance(obj, Mapping) else None
        if node is None:
            return None
    return node


def _others(live: Mapping[str, Any], field_manager: str) -> list[Any]:
    return [entry.get("fieldsV1") or {} for entry in metadata_of(live).get("managedFields") or ()
            if isinstance(entry, Mapping) and entry.get("manager") != field_manager]


def managed_by_others(live: Mapping[str, Any], tokens: Tokens, field_manager: str = FIELD_MANAGER) -> bool:
    """True when a field manager other than Rudder owns the field at `tokens` (or a field beneath it)."""
    return any(_node_at(fields, live, tokens) is not None for fields in _others(live, field_manager))


def _shared_paths(fields: Any, desired: Any, prefix: Tokens = ()) -> Iterator[Tokens]:
    """The paths (list items by their index in `desired`) of the fields `desired` sets that a managedFields
    tree owns: leaves, or whole atomic values."""
    if not isinstance(fields, Mapping) or not fields:
        yield prefix
    elif isinstance(desired, Mapping):
        for key, child in fields.items():
            if key.startswith("f:") and key[2:] in desired:
                yield from _shared_paths(child, desired[key[2:]], (*prefix, key[2:]))
    elif isinstance(desired, list):
        for i, item in enumerate(desired):
            entry = _list_entry(fields, item, i)
            if entry is not None:
                yield from _shared_paths(entry, item, (*prefix, str(i)))
    elif fields != {".": {}}:
        yield prefix  # a scalar the chart sets, owned beneath: shared


def _at(body: Any, tokens: Tokens) -> Any:
    for token in tokens:
        if isinstance(body, Mapping):
            body = body.get(token)
        elif isinstance(body, list) and token.isdigit() and int(token) < len(body):
            body = body[int(token)]
        else:
            return None
    return body


def _remove(body: Any, tokens: Tokens) -> None:
    parent, last = _at(body, tokens[:-1]), tokens[-1]
    if isinstance(parent, dict) and last in parent:
        del parent[last]
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        del parent[int(last)]


def _without(desired: Mapping[str, Any], paths: Sequence[Tokens]) -> dict[str, Any]:
    body = copy.deepcopy(dict(desired))
    # Highest list index first, so removing one list item does not shift another's index.
    for tokens in sorted(set(paths), key=lambda t: [(1, int(p), "") if p.isdigit() else (0, 0, p) for p in t],
                         reverse=True):
        _remove(body, tokens)
    return body


def strip_ignored(
    desired: Mapping[str, Any], live: Mapping[str, Any] | None, rules: Sequence[IgnoreRule],
    field_manager: str = FIELD_MANAGER,
) -> Mapping[str, Any]:
    """`desired` without the fields, under an ignore rule's pointers, that another manager owns in `live`
    (the same object when there are none). Only what another manager owns is left out: ignoring
    `/spec/template` under an injector that owns one container's `env` leaves out that `env`, not the template."""
    if live is None or not rules:
        return desired
    paths: list[Tokens] = []
    for pointer in ignored_pointers(rules, live):
        wanted = _at(desired, pointer)
        if not pointer or wanted is None:
            continue
        for fields in _others(live, field_manager):
            node = _node_at(fields, live, pointer)
            if node is not None:
                paths.extend((*pointer, *rest) for rest in _shared_paths(node, wanted))
    return _without(desired, paths) if paths else desired


def _shares(fields: Any, desired: Any) -> bool:
    """Whether a managedFields tree owns a field `desired` sets (a keyed list item's fields by its key)."""
    return next(_shared_paths(fields, desired), None) is not None


def settled(
    desired: Mapping[str, Any], live: Mapping[str, Any] | None, rules: Sequence[IgnoreRule],
    field_manager: str = FIELD_MANAGER,
) -> bool:
    """True when `live` has no drift and no other field manager owns a field the chart sets (ignored ones
    aside): then a later change of what the chart sets must change Rudder's own fieldset, and the digest of
    this state may be remembered without applying (the digest alone notices the next drift)."""
    if live is None or object_drift(desired, live, rules):
        return False
    pointers = ignored_pointers(rules, live) + ignored_pointers(rules, desired)
    body = _without({k: v for k, v in desired.items() if k != "status"}, pointers)
    for entry in metadata_of(live).get("managedFields") or ():
        if isinstance(entry, Mapping) and entry.get("manager") != field_manager \
                and _shares(entry.get("fieldsV1") or {}, body):
            return False
    return True


@dataclass(frozen=True)
class ObjectDrift:
    """One drifted object and its drifted fields (MISSING when it was deleted)."""

    ref: ObjectRef
    fields: tuple[str, ...]

    def describe(self) -> str:
        shown = ", ".join(self.fields[:MAX_LISTED_FIELDS])
        more = f" (+{len(self.fields) - MAX_LISTED_FIELDS} more)" if len(self.fields) > MAX_LISTED_FIELDS else ""
        return f"{self.ref}: {shown}{more}"

    def to_dict(self) -> dict[str, Any]:
        return {**self.ref.to_dict(), "fields": list(self.fields[:MAX_LISTED_FIELDS])}


def find_drift(
    candidates: Mapping[ObjectRef, Mapping[str, Any] | None],
    desired: Mapping[tuple[str, str, str], Mapping[str, Any]],
    rules: Sequence[IgnoreRule],
) -> tuple[ObjectDrift, ...]:
    """The drifted objects among `candidates` (live objects by ref; desired ones by (group, kind, name))."""
    found = []
    for ref, live in candidates.items():
        want = desired.get((ref.group, ref.kind, ref.name))
        if want is None:
            continue
        fields = object_drift(want, live, rules)
        if fields:
            found.append(ObjectDrift(ref, fields))
    return tuple(found)


def describe_drift(drifted: Sequence[ObjectDrift]) -> str:
    """`Deployment/web: spec.replicas; ConfigMap/cfg: data.greeting` (bounded)."""
    text = "; ".join(d.describe() for d in drifted[:MAX_LISTED_OBJECTS])
    return text + (f" (+{len(drifted) - MAX_LISTED_OBJECTS} more)" if len(drifted) > MAX_LISTED_OBJECTS else "")


@dataclass(frozen=True)
class DriftReport:
    """What one pass found: drifted objects, whether they were repaired, a conflict that stopped the repair."""

    mode: DriftMode
    drifted: tuple[ObjectDrift, ...] = ()
    repaired: bool = False
    conflict: str | None = None  # the API server's message naming the other manager and field


def _condition(condition: tuple[bool, str, str], previous: Mapping[str, Any], now: datetime,
               generation: int) -> dict[str, Any]:
    status, reason, message = condition
    text = "True" if status else "False"
    since = previous.get("lastTransitionTime") if previous.get("status") == text else None
    return {"type": DRIFTED, "status": text, "reason": reason, "message": message,
            "lastTransitionTime": since or format_time(now), "observedGeneration": generation}


def drift_status(
    report: DriftReport, previous: Mapping[str, Any], now: datetime, generation: int
) -> dict[str, Any] | None:
    """The status fields (`conditions` with the `Drifted` condition, `drifted`) for `report`, or None when
    the status says nothing about drift and need not: `enabled` with nothing found and no condition yet."""
    conditions = [c for c in previous.get("conditions") or () if isinstance(c, Mapping)]
    before = next((c for c in conditions if c.get("type") == DRIFTED), None)
    others = [c for c in conditions if c.get("type") != DRIFTED]
    if report.mode is DriftMode.DISABLED:
        if before is None and previous.get("drifted") is None:
            return None
        return {"conditions": others, "drifted": None}
    listing = describe_drift(report.drifted)
    drifted: list[dict[str, Any]] | None = None
    if report.conflict:
        condition = (True, "Conflict", f"not repaired: {report.conflict}" + (f"; drifted: {listing}" if listing
                                                                              else ""))
        drifted = [d.to_dict() for d in report.drifted[:MAX_LISTED_OBJECTS]] or None
    elif report.drifted and report.repaired:
        condition = (False, "DriftRepaired", f"repaired: {listing}")
    elif report.drifted:
        condition = (True, "DriftDetected", f"drifted (not repaired, spec.drift.mode is warn): {listing}")
        drifted = [d.to_dict() for d in report.drifted[:MAX_LISTED_OBJECTS]]
    elif before is None and report.mode is DriftMode.ENABLED:
        return None
    elif before is not None and before.get("status") == "False":
        return {"drifted": None} if previous.get("drifted") is not None else None  # keep the last word
    else:
        condition = (False, "NoDrift", "no drift")
    new = _condition(condition, before or {}, now, generation)
    return {"conditions": [*others, new], "drifted": drifted}
