"""`--set` parsing with Helm's rules: dotted keys, list indexes, escapes, `{a,b}` lists, type coercion."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rudder.render import SetSyntaxError, parse_set


def test_nested_keys_and_multiple_assignments() -> None:
    assert parse_set(["image.repo=nginx,image.tag=1.27", "replicas=3"]) == {
        "image": {"repo": "nginx", "tag": "1.27"},
        "replicas": 3,
    }


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        ("a=true", True),
        ("a=FALSE", False),
        ("a=0", 0),
        ("a=42", 42),
        ("a=-7", -7),
        ("a=0755", "0755"),
        ("a=1.5", "1.5"),
        ("a=", ""),
        ("a=null", None),
        ("a=text", "text"),
    ],
)
def test_type_coercion(expr: str, value: object) -> None:
    assert parse_set([expr]) == {"a": value}


def test_force_string_keeps_text() -> None:
    assert parse_set(["a=true,b=42"], force_string=True) == {"a": "true", "b": "42"}


def test_list_indexes_create_and_pad_lists() -> None:
    assert parse_set(["l[1]=x"]) == {"l": [None, "x"]}
    assert parse_set(["s[0].name=a,s[0].port=80", "s[1].name=b"]) == {
        "s": [{"name": "a", "port": 80}, {"name": "b"}]
    }
    assert parse_set(["m[0][1]=3"]) == {"m": [[None, 3]]}


def test_brace_lists() -> None:
    assert parse_set(["args={--a,--b,3},x=1"]) == {"args": ["--a", "--b", 3], "x": 1}


def test_escapes_keep_dots_and_commas() -> None:
    assert parse_set([r"annotations.example\.com/team=web"]) == {"annotations": {"example.com/team": "web"}}
    assert parse_set([r"hosts=a\,b"]) == {"hosts": "a,b"}


def test_value_runs_to_the_next_unescaped_comma() -> None:
    assert parse_set(["a=1 b=2,c=3"]) == {"a": "1 b=2", "c": 3}


def test_later_assignments_override_earlier_ones() -> None:
    assert parse_set(["a.b=1", "a.b=2,a.c=3"]) == {"a": {"b": 2, "c": 3}}
    assert parse_set(["a=1", "a.b=2"]) == {"a": {"b": 2}}


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("a", "has no value"),
        ("a,b=1", "has no value"),
        ("=x", "empty key"),
        ("a..b=1", "empty key"),
        ("a[x]=1", "not a non-negative integer"),
        ("a[1", "unclosed"),
        ("m={a", "unclosed"),
        ("a[99999999]=1", "larger than"),
        ("[0]=1", "empty key"),
    ],
)
def test_syntax_errors_quote_the_expression(expr: str, message: str) -> None:
    with pytest.raises(SetSyntaxError, match=message) as caught:
        parse_set([expr])
    assert repr(expr) in str(caught.value)


keys = st.text(alphabet="abcxyz", min_size=1, max_size=4)


@given(st.lists(keys, min_size=1, max_size=4), st.text(alphabet="abc ,.=\\{}", max_size=8))
def test_any_value_survives_escaping(path: list[str], value: str) -> None:
    escaped = "".join("\\" + ch if ch in ",\\{}" else ch for ch in value)
    if escaped.startswith("\\{") or not value.startswith("{"):
        result = parse_set([".".join(path) + "=" + escaped], force_string=True)
        node: object = result
        for key in path:
            assert isinstance(node, dict)
            node = node[key]
        assert node == value
