"""JSON Patch (RFC 6902) over JSON pointers (RFC 6901): every operation, pointer escapes and array indices,
all-or-nothing application that never changes its input, and a clear error for each malformed or
inapplicable operation naming the operation and path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from rudder.postrender.json6902 import PatchError, apply_json_patch, get_value, json_equal, parse_pointer

DOC: dict[str, Any] = {"spec": {"replicas": 2, "ports": [80, 443], "a/b": {"m~n": 1}}, "flag": True}


def patched(*ops: dict[str, Any]) -> Any:
    return apply_json_patch(DOC, list(ops))


def test_pointer_escapes_and_the_root() -> None:
    assert parse_pointer("") == []
    assert parse_pointer("/a~1b/m~0n") == ["a/b", "m~n"]
    assert get_value(DOC, "/spec/a~1b/m~0n") == 1
    assert get_value(DOC, "") == DOC


@pytest.mark.parametrize("pointer", ["spec", "/a~2b", "/x~"])
def test_malformed_pointers_are_refused(pointer: str) -> None:
    with pytest.raises(PatchError, match="pointer"):
        parse_pointer(pointer)


def test_add_sets_a_key_inserts_into_an_array_and_appends_with_dash() -> None:
    out = patched({"op": "add", "path": "/spec/paused", "value": True},
                  {"op": "add", "path": "/spec/ports/1", "value": 8080},
                  {"op": "add", "path": "/spec/ports/-", "value": 9090})
    assert out["spec"]["paused"] is True
    assert out["spec"]["ports"] == [80, 8080, 443, 9090]


def test_add_replaces_an_existing_key_and_add_at_the_root_replaces_the_document() -> None:
    assert patched({"op": "add", "path": "/spec/replicas", "value": 5})["spec"]["replicas"] == 5
    assert patched({"op": "add", "path": "", "value": {"x": 1}}) == {"x": 1}


def test_remove_replace_move_copy_and_test() -> None:
    out = patched({"op": "test", "path": "/spec/replicas", "value": 2},
                  {"op": "replace", "path": "/spec/replicas", "value": 3},
                  {"op": "remove", "path": "/spec/ports/0"},
                  {"op": "copy", "from": "/spec/replicas", "path": "/spec/min"},
                  {"op": "move", "from": "/flag", "path": "/spec/flag"})
    assert out == {"spec": {"replicas": 3, "min": 3, "ports": [443], "a/b": {"m~n": 1}, "flag": True}}


def test_the_input_is_never_changed_even_when_a_later_op_fails() -> None:
    before = copy.deepcopy(DOC)
    assert patched({"op": "replace", "path": "/spec/replicas", "value": 9})["spec"]["replicas"] == 9
    with pytest.raises(PatchError):
        patched({"op": "remove", "path": "/spec/replicas"}, {"op": "remove", "path": "/nope"})
    assert before == DOC


@pytest.mark.parametrize(("op", "message"), [
    ({"op": "replace", "path": "/spec/replicass", "value": 1}, r"op 0 \(replace /spec/replicass\): .*does not exist"),
    ({"op": "remove", "path": "/spec/missing/x"}, r"/spec/missing does not exist"),
    ({"op": "add", "path": "/spec/ports/7", "value": 1}, r"index 7 is out of range \(the array has 2 items\)"),
    ({"op": "remove", "path": "/spec/ports/-"}, r"'-' is not an array index"),
    ({"op": "replace", "path": "/spec/ports/01", "value": 1}, r"'01' is not an array index"),
    ({"op": "add", "path": "/spec/replicas/x", "value": 1}, r"parent is a number"),
    ({"op": "test", "path": "/flag", "value": 1}, r"differs from the one tested"),
    ({"op": "move", "from": "/spec", "path": "/spec/inner"}, r"cannot move /spec into its own child"),
    ({"op": "remove", "path": ""}, r"cannot remove the whole document"),
    ({"op": "copy", "from": "/nope", "path": "/x"}, r"/nope does not exist"),
])
def test_inapplicable_operations_name_the_operation(op: dict[str, Any], message: str) -> None:
    with pytest.raises(PatchError, match=message):
        patched(op)


@pytest.mark.parametrize(("ops", "message"), [
    ({"op": "add"}, "must be a list of operations"),
    (["add"], "op 0: must be an object"),
    ([{"op": "merge", "path": "/a"}], "op must be one of add, remove, replace, move, copy, test"),
    ([{"op": "add", "value": 1}], r"op 0 \(add\): path is required"),
    ([{"op": "add", "path": "/a"}], r"value is required"),
    ([{"op": "move", "path": "/a"}], r"from is required"),
    ([{"op": "copy", "from": "a", "path": "/a"}], r"must be empty or start with '/'"),
])
def test_malformed_patches_are_refused_before_anything_applies(ops: Any, message: str) -> None:
    with pytest.raises(PatchError, match=message):
        apply_json_patch(DOC, ops)


def test_json_equality_keeps_booleans_apart_from_numbers() -> None:
    assert json_equal(1, 1.0)
    assert not json_equal(True, 1)
    assert json_equal({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]})
    assert not json_equal({"a": 1}, {"a": 1, "b": 2})
    assert not json_equal("1", 1)
