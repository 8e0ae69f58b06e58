"""Drift: which fields of a managed object no longer match what the revision applied.

Only the fields the manifest sets are compared (the server's defaults and status are not drift), and
fields now owned by a respected controller (the HPA's `replicas`, written by kube-controller-manager) are
left alone. Hand edits are drift: `kubectl edit` takes ownership too, but under a manager we do not respect.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from decimal import Decimal
from typing import Any

from rudder.domain.labels import FIELD_MANAGER, metadata_of

RESPECTED_MANAGERS = frozenset({
    "kube-controller-manager", "horizontal-pod-autoscaler", "vpa-recommender", "vpa-updater", "keda-operator",
})
_QUANTITY = re.compile(r"^([+-]?\d+(?:\.\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+)?$")
_SUFFIX = {
    None: Decimal(1), "m": Decimal("0.001"), "k": Decimal(10) ** 3, "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9, "T": Decimal(10) ** 12, "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
}
Path = tuple[str | int, ...]


def _quantity(value: Any) -> Decimal | None:
    # The API server canonicalises quantities ("0.5" -> "500m", 1 -> "1"), which is not drift.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    match = _QUANTITY.match(str(value))
    if match is None:
        return None
    try:
        number, suffix = Decimal(match.group(1)), match.group(2)
        if suffix and suffix[0] in "eE":
            return number * (Decimal(10) ** int(suffix[1:]))
        return number * _SUFFIX[suffix]
    except (ArithmeticError, KeyError, ValueError):
        # decimal.Overflow (`1e99999999999`), InvalidOperation, an exponent past int()'s digit limit: such a
        # value is no quantity the server canonicalises, so it compares as written.
        return None


def _same_scalar(desired: Any, live: Any) -> bool:
    if desired == live and type(desired) is type(live):
        return True
    left, right = _quantity(desired), _quantity(live)
    return left is not None and left == right


# One difference: its path, the desired value and the live one (ABSENT when the live object lacks the key).
Difference = tuple[Path, Any, Any]
ABSENT: Any = object()


def _walk(desired: Any, live: Any, path: Path) -> Iterator[Difference]:
    if isinstance(desired, Mapping):
        if not isinstance(live, Mapping):
            yield path, desired, live
            return
        for key, value in desired.items():
            if key not in live:
                if value not in (None, {}, []):
                    yield (*path, key), value, ABSENT
                continue
            yield from _walk(value, live[key], (*path, key))
    elif isinstance(desired, list):
        yield from _walk_list(desired, live, path)
    elif not _same_scalar(desired, live):
        yield path, desired, live


def _walk_list(desired: list[Any], live: Any, path: Path) -> Iterator[Difference]:
    if not isinstance(live, list):
        yield path, desired, live
        return
    keyed = desired and all(isinstance(item, Mapping) and "name" in item for item in desired)
    if keyed:
        # Containers, ports, env, volumes: matched by name, as server-side apply merges them.
        by_name = {item.get("name"): (i, item) for i, item in enumerate(live) if isinstance(item, Mapping)}
        for item in desired:
            found = by_name.get(item["name"])
            if found is None:
                yield (*path, str(item["name"])), item, ABSENT
            else:
                yield from _walk(item, found[1], (*path, found[0]))
    elif all(isinstance(item, Mapping) for item in desired):
        if len(live) < len(desired):
            yield path, desired, live
            return
        for i, item in enumerate(desired):
            yield from _walk(item, live[i], (*path, i))
    elif len(desired) != len(live) or not all(map(_same_scalar, desired, live)):
        yield path, desired, live  # scalar lists (args, command) are atomic


def _owned_paths(live: Mapping[str, Any], managers: Collection[str]) -> list[Path]:
    paths: list[Path] = []

    def collect(node: Any, prefix: Path) -> None:
        if not isinstance(node, Mapping):
            return
        for key, child in node.items():
            if key.startswith("f:"):
                sub = (*prefix, key[2:])
                if not child or child == {".": {}}:
                    paths.append(sub)
                collect(child, sub)
            elif key != ".":
                paths.append(prefix)  # inside a keyed list: the list is shared, own the prefix

    for entry in metadata_of(live).get("managedFields") or ():
        if isinstance(entry, Mapping) and entry.get("manager") in managers:
            collect(entry.get("fieldsV1") or {}, ())
    return paths


def render_path(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def drift_details(
    desired: Mapping[str, Any],
    live: Mapping[str, Any],
    *,
    field_manager: str = FIELD_MANAGER,
    respected_managers: Collection[str] = RESPECTED_MANAGERS,
) -> tuple[tuple[str, Any, Any], ...]:
    """`(path, desired value, live value)` for each drifted field of an existing object (the live value is
    ABSENT when the field is missing): what `drifted_fields` reports, with the values, for `rudder diff`."""
    found = drift_paths(desired, live, field_manager=field_manager, respected_managers=respected_managers)
    return tuple((render_path(path), want, have) for path, want, have in found)


def drift_paths(
    desired: Mapping[str, Any],
    live: Mapping[str, Any],
    *,
    field_manager: str = FIELD_MANAGER,
    respected_managers: Collection[str] = RESPECTED_MANAGERS,
) -> tuple[Difference, ...]:
    """`drift_details` with the paths as tuples (keys and list indexes), for matching ignore rules."""
    others = [m for m in respected_managers if m != field_manager]
    owned = [p for p in _owned_paths(live, others) if p]
    body = {k: v for k, v in desired.items() if k != "status"}
    drift = []
    for path, want, have in _walk(body, live, ()):
        names = tuple(p for p in path if isinstance(p, str))
        if any(names[: len(o)] == o for o in owned):
            continue
        drift.append((path, want, have))
    return tuple(drift)


def drifted_fields(
    desired: Mapping[str, Any],
    live: Mapping[str, Any] | None,
    *,
    field_manager: str = FIELD_MANAGER,
    respected_managers: Collection[str] = RESPECTED_MANAGERS,
) -> tuple[str, ...]:
    """Dotted paths of desired fields that differ in `live` (`spec.template.spec.containers[0].image`).

    A missing object is drift of everything (`("(missing)",)`). Status and metadata kept by the server
    (resourceVersion, uid, managedFields, ...) are never compared because the manifest does not set them.
    """
    if live is None:
        return ("(missing)",)
    details = drift_details(desired, live, field_manager=field_manager, respected_managers=respected_managers)
    return tuple(path for path, _, _ in details)


def needs_apply(desired: Mapping[str, Any], live: Mapping[str, Any] | None) -> bool:
    """True when the object is missing or has drifted: the only case an unchanged revision writes."""
    return bool(drifted_fields(desired, live))
