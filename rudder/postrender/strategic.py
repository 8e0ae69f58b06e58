"""Strategic merge patches, with the semantics of the Kubernetes API server for the kinds in `schema`.

Maps merge key by key and a null deletes a key. Lists the API declares mergeable merge item by item on
their merge key (containers by `name`, ports by `containerPort`, volumeMounts by `mountPath`...), new items
appended; scalar lists with the merge strategy (finalizers) merge as sets; every other list is replaced.
Directives: `$patch: delete | replace | merge` on a map or a list item, `{$patch: replace}` as a list item
(the list becomes the patch's list), `$retainKeys`, and `$deleteFromPrimitiveList/<field>`.
Kinds without a schema (custom resources) get JSON merge patch semantics, as kustomize gives them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from rudder.postrender.json6902 import PatchError
from rudder.postrender.schema import Field, fields_of, kind_fields

PATCH = "$patch"
RETAIN_KEYS = "$retainKeys"
DELETE_FROM_PRIMITIVE = "$deleteFromPrimitiveList/"
_DELETE = object()  # a map the patch deletes


def strategic_merge(obj: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """`obj` with the strategic merge `patch` applied (a new object; `obj` is not changed)."""
    merged = _merge_map(obj, patch, kind_fields(str(obj.get("apiVersion", "")), str(obj.get("kind", ""))), "")
    if merged is _DELETE:
        raise PatchError("$patch: delete of the whole object is not supported (leave the object out instead)")
    assert isinstance(merged, dict)
    return merged


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _merge_map(original: Any, patch: Mapping[str, Any], fields: Mapping[str, Field], where: str) -> Any:
    directive = patch.get(PATCH)
    if directive not in (None, "merge", "delete", "replace"):
        raise PatchError(f"{where or 'the patch'}: $patch must be merge, delete or replace, not {directive!r}")
    if directive == "delete":
        return _DELETE
    if directive == "replace":
        return _merge_map({}, {k: v for k, v in patch.items() if k != PATCH}, fields, where)
    result: dict[str, Any] = copy.deepcopy(dict(original)) if isinstance(original, Mapping) else {}
    retain = patch.get(RETAIN_KEYS)
    for key, value in patch.items():
        if key in (PATCH, RETAIN_KEYS):
            continue
        if key.startswith(DELETE_FROM_PRIMITIVE):
            target = key[len(DELETE_FROM_PRIMITIVE):]
            if not isinstance(value, list):
                raise PatchError(f"{_at(where, key)}: must be a list of values to delete")
            current = result.get(target)
            if isinstance(current, list):
                result[target] = [item for item in current if item not in value]
            continue
        if key.startswith("$"):
            raise PatchError(f"{_at(where, key)}: the directive {key.split('/')[0]} is not supported")
        path = _at(where, key)
        if value is None:
            result.pop(key, None)
            continue
        field = fields.get(key, Field())
        if isinstance(value, Mapping):
            merged = _merge_map(result.get(key), value, fields_of(field.type), path)
            if merged is _DELETE:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, field, path)
        else:
            result[key] = copy.deepcopy(value)
    if retain is not None:
        if not isinstance(retain, list) or not all(isinstance(k, str) for k in retain):
            raise PatchError(f"{_at(where, RETAIN_KEYS)}: must be a list of field names")
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _clean(value: Any, field: Field, where: str) -> Any:
    """A patch value taken as is, with its directives processed (there is nothing to merge it with)."""
    if isinstance(value, Mapping):
        merged = _merge_map({}, value, fields_of(field.type), where)
        return {} if merged is _DELETE else merged
    return copy.deepcopy(value)


def _merge_list(original: Any, patch: list[Any], field: Field, where: str) -> list[Any]:
    replace = [item for item in patch if isinstance(item, Mapping) and dict(item) == {PATCH: "replace"}]
    items = [item for item in patch if not (isinstance(item, Mapping) and dict(item) == {PATCH: "replace"})]
    if replace or not isinstance(original, list) or not (field.merge_key or field.primitive_merge):
        if field.merge_key:
            return [_clean(item, field, f"{where}[{i}]") for i, item in enumerate(items)
                    if not (isinstance(item, Mapping) and item.get(PATCH) == "delete")]
        return [_clean(item, field, f"{where}[{i}]") for i, item in enumerate(items)]
    if field.primitive_merge:
        result = list(original)
        result.extend(item for item in items if item not in result)
        return copy.deepcopy(result)
    key = field.merge_key
    assert key is not None
    result = copy.deepcopy(original)
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise PatchError(f"{where}[{i}]: items of this list are objects merged by {key}")
        if key not in item:
            raise PatchError(f"{where}[{i}]: has no {key} (the key this list merges on)")
        label = f"{where}[{key}={item[key]}]"
        found = next((n for n, old in enumerate(result) if isinstance(old, Mapping) and old.get(key) == item[key]),
                     None)
        if item.get(PATCH) == "delete":
            result = [old for old in result if not (isinstance(old, Mapping) and old.get(key) == item[key])]
            continue
        merged = _merge_map(result[found] if found is not None else {}, item, fields_of(field.type), label)
        if found is None:
            result.append(merged)
        else:
            result[found] = merged
    return result
