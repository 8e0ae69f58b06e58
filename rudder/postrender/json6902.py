"""JSON Patch (RFC 6902) over JSON pointers (RFC 6901), on plain JSON-like data.

`apply_json_patch` never changes its input: it works on a deep copy and returns it. Every problem is a
`PatchError` naming the operation (`op 2 (replace /spec/replicas): ...`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

OPERATIONS = ("add", "remove", "replace", "move", "copy", "test")


class PatchError(ValueError):
    """A patch that cannot be applied (or is malformed); the message says where and why."""


def parse_pointer(pointer: str) -> list[str]:
    """The reference tokens of a JSON pointer: `""` is the whole document, `/a~1b/0` is `["a/b", "0"]`."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f"pointer {pointer!r} must be empty or start with '/'")
    tokens = pointer[1:].split("/")
    for token in tokens:
        rest = token.replace("~0", "").replace("~1", "")
        if "~" in rest:
            raise PatchError(f"pointer {pointer!r} has an invalid escape (only ~0 and ~1)")
    return [t.replace("~1", "/").replace("~0", "~") for t in tokens]


def _index(token: str, size: int, *, pointer: str, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return size
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")) or not token.isascii():
        raise PatchError(f"{pointer}: {token!r} is not an array index")
    index = int(token)
    if index > size or (index == size and not allow_end):
        raise PatchError(f"{pointer}: index {index} is out of range (the array has {size} items)")
    return index


def _parent(doc: Any, tokens: list[str], pointer: str) -> Any:
    node = doc
    for depth, token in enumerate(tokens[:-1]):
        where = "/" + "/".join(tokens[: depth + 1])
        if isinstance(node, dict):
            if token not in node:
                raise PatchError(f"{pointer}: {where} does not exist")
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(token, len(node), pointer=pointer, allow_end=False)]
        else:
            raise PatchError(f"{pointer}: {where} is inside a {_kind(node)}, not an object or array")
    return node


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    names: dict[type, str] = {str: "string", dict: "object", list: "array"}
    return names.get(type(value), type(value).__name__)


def get_value(doc: Any, pointer: str) -> Any:
    """The value `pointer` names; PatchError when it does not exist."""
    tokens = parse_pointer(pointer)
    if not tokens:
        return doc
    parent, last = _parent(doc, tokens, pointer), tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"{pointer} does not exist")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(last, len(parent), pointer=pointer, allow_end=False)]
    raise PatchError(f"{pointer}: the parent is a {_kind(parent)}, not an object or array")


def _add(doc: Any, pointer: str, value: Any) -> Any:
    tokens = parse_pointer(pointer)
    if not tokens:
        return value
    parent, last = _parent(doc, tokens, pointer), tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(last, len(parent), pointer=pointer, allow_end=True), value)
    else:
        raise PatchError(f"{pointer}: the parent is a {_kind(parent)}, not an object or array")
    return doc


def _remove(doc: Any, pointer: str) -> tuple[Any, Any]:
    tokens = parse_pointer(pointer)
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent, last = _parent(doc, tokens, pointer), tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"{pointer} does not exist")
        return doc, parent.pop(last)
    if isinstance(parent, list):
        return doc, parent.pop(_index(last, len(parent), pointer=pointer, allow_end=False))
    raise PatchError(f"{pointer}: the parent is a {_kind(parent)}, not an object or array")


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON sees it: `true` is not `1`, `1` is `1.0`, objects ignore key order."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def check_operations(ops: Any) -> list[dict[str, Any]]:
    """The operations of a JSON Patch document, checked for shape (op, path, from, value); PatchError."""
    if not isinstance(ops, list | tuple):
        raise PatchError("a JSON patch must be a list of operations")
    checked = []
    for i, op in enumerate(ops):
        if not isinstance(op, Mapping):
            raise PatchError(f"op {i}: must be an object with op and path")
        name = op.get("op")
        if name not in OPERATIONS:
            raise PatchError(f"op {i}: op must be one of {', '.join(OPERATIONS)}, not {name!r}")
        path = op.get("path")
        if not isinstance(path, str):
            raise PatchError(f"op {i} ({name}): path is required and must be a string")
        _pointer_ok(path, i, name)
        if name in ("move", "copy"):
            source = op.get("from")
            if not isinstance(source, str):
                raise PatchError(f"op {i} ({name} {path}): from is required and must be a string")
            _pointer_ok(source, i, name)
        if name in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f"op {i} ({name} {path}): value is required")
        checked.append(dict(op))
    return checked


def _pointer_ok(pointer: str, i: int, name: str) -> None:
    try:
        parse_pointer(pointer)
    except PatchError as err:
        raise PatchError(f"op {i} ({name}): {err}") from None


def apply_json_patch(doc: Any, ops: Sequence[Mapping[str, Any]]) -> Any:
    """`doc` with the JSON Patch `ops` applied in order (all or nothing: the input is never changed)."""
    result = copy.deepcopy(doc)
    for i, op in enumerate(check_operations(ops)):
        name, path = op["op"], op["path"]
        try:
            result = _step(result, name, path, op)
        except PatchError as err:
            raise PatchError(f"op {i} ({name} {path}): {err}") from None
    return result


def _step(doc: Any, name: str, path: str, op: Mapping[str, Any]) -> Any:
    if name == "add":
        return _add(doc, path, copy.deepcopy(op["value"]))
    if name == "remove":
        return _remove(doc, path)[0]
    if name == "replace":
        get_value(doc, path)  # must exist
        if not parse_pointer(path):
            return copy.deepcopy(op["value"])
        doc, _ = _remove(doc, path)
        return _add(doc, path, copy.deepcopy(op["value"]))
    if name == "test":
        if not json_equal(get_value(doc, path), op["value"]):
            raise PatchError("the value differs from the one tested")
        return doc
    source = op["from"]
    if name == "move":
        if path != source and path.startswith(source + "/"):
            raise PatchError(f"cannot move {source} into its own child")
        doc, value = _remove(doc, source)
        return _add(doc, path, value)
    return _add(doc, path, copy.deepcopy(get_value(doc, source)))  # copy
