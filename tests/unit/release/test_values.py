"""Values layering: chart defaults, then valuesFrom in order, then spec.values; maps merge, everything
else replaces, null deletes; valuesFrom errors never quote the (possibly secret) content."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rudder.models import ValuesFromRef, ValuesSourceKind
from rudder.render import RenderError, deep_merge, merge_values, parse_values_from

SECRET = ValuesFromRef(ValuesSourceKind.SECRET, "creds", "values.yaml")
CONFIG = ValuesFromRef(ValuesSourceKind.CONFIG_MAP, "env", "values.yaml", optional=True)


def test_layers_apply_in_order() -> None:
    merged = merge_values(
        {"image": {"repo": "nginx", "tag": "1"}, "replicas": 1, "ports": [80, 443]},
        [{"image": {"tag": "2"}, "replicas": 2}, {"replicas": 3}],
        {"ports": [8080]},
    )
    assert merged == {"image": {"repo": "nginx", "tag": "2"}, "replicas": 3, "ports": [8080]}


def test_null_deletes_a_default_and_inputs_are_not_modified() -> None:
    base = {"ingress": {"host": "a"}, "x": 1}
    override = {"ingress": None, "new": {"a": None, "b": 1}}
    assert deep_merge(base, override) == {"x": 1, "new": {"b": 1}}
    assert base == {"ingress": {"host": "a"}, "x": 1}


def test_map_replaced_by_scalar_and_back() -> None:
    assert deep_merge({"a": {"b": 1}}, {"a": "flat"}) == {"a": "flat"}
    assert deep_merge({"a": "flat"}, {"a": {"b": 1}}) == {"a": {"b": 1}}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=10,
)
maps = st.dictionaries(st.text(max_size=3), json_values, max_size=4)


@given(maps, maps)
def test_every_override_key_wins_or_is_deleted(base: dict[str, object], override: dict[str, object]) -> None:
    merged = deep_merge(base, override)
    for key, value in override.items():
        if value is None:
            assert key not in merged
        elif not isinstance(value, dict):
            assert merged[key] == value
    for key in base.keys() - override.keys():
        assert merged[key] == base[key]


@given(maps)
def test_merging_an_empty_override_is_identity_without_nulls(base: dict[str, object]) -> None:
    assert deep_merge(base, {}) == base


def test_values_from_contents_are_parsed_in_order() -> None:
    layers = parse_values_from([SECRET, CONFIG], ["password: p\n", "a: 1\n"])
    assert layers == ({"password": "p"}, {"a": 1})


def test_missing_optional_reference_is_skipped_and_required_one_fails() -> None:
    assert parse_values_from([CONFIG], [None]) == ()
    error = parse_values_from([SECRET], [None])
    assert error == RenderError(
        "spec.valuesFrom[0].secretKeyRef", None, "Secret creds or its key values.yaml not found"
    )


def test_invalid_values_from_yaml_names_the_source_but_not_the_content() -> None:
    error = parse_values_from([SECRET], ["password: s3cr3t-value\n  broken: [\n"])
    assert isinstance(error, RenderError)
    assert error.template == "spec.valuesFrom[0] (Secret creds, key values.yaml)"
    assert error.line is not None
    assert "s3cr3t" not in str(error)
    assert parse_values_from([SECRET], ["- a list"]) == RenderError(
        "spec.valuesFrom[0] (Secret creds, key values.yaml)", None, "must be a YAML mapping, not list"
    )


def test_mismatched_lengths_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="valuesFrom"):
        parse_values_from([SECRET], [])
