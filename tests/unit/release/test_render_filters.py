"""Helm-style filters behave as chart authors expect from Helm (toYaml without trailing newline, indent that
includes the first line, default/required semantics), within Jinja2's filter syntax."""

from __future__ import annotations

import pytest

from rudder.render import ReleaseInfo, RenderError, chart_from_files, render_chart
from rudder.render.filters import FilterInputError, b64dec, default, indent, nindent, quote, required, toyaml

RELEASE = ReleaseInfo("shop", "prod", 2)


def render_value(expression: str, values: dict[str, object] | None = None) -> object:
    chart = chart_from_files({"t.yaml": f"v: {expression}\n"})
    assert not isinstance(chart, RenderError)
    result = render_chart(chart, values or {}, RELEASE)
    assert not isinstance(result, RenderError), result
    return result.objects[0].body["v"]


def test_toyaml_nindent_embeds_a_mapping_as_block_yaml() -> None:
    chart = chart_from_files({"t.yaml": "spec:\n  res:\n    {{- values.r | toyaml | nindent(4) }}\n"})
    assert not isinstance(chart, RenderError)
    result = render_chart(chart, {"r": {"limits": {"cpu": "1"}, "list": [1, 2]}}, RELEASE)
    assert not isinstance(result, RenderError)
    assert result.objects[0].body == {"spec": {"res": {"limits": {"cpu": "1"}, "list": [1, 2]}}}


def test_toyaml_of_scalars_and_empty_maps_has_no_trailing_markers() -> None:
    assert toyaml("x") == "x"
    assert toyaml({}) == "{}"
    assert toyaml({"a": 1}) == "a: 1"


def test_tojson_is_compact_and_parses_back() -> None:
    assert render_value("'{{ values.m | tojson }}'", {"m": {"a": [1, True]}}) == '{"a":[1,true]}'


def test_base64_round_trip() -> None:
    assert render_value("{{ 'pässword' | b64enc | b64dec }}") == "pässword"
    assert render_value("{{ values.s | b64enc }}", {"s": "abc"}) == "YWJj"


def test_b64dec_of_garbage_is_a_render_error() -> None:
    chart = chart_from_files({"t.yaml": "v: {{ 'not base64!' | b64dec }}\n"})
    assert not isinstance(chart, RenderError)
    result = render_chart(chart, {}, RELEASE)
    assert isinstance(result, RenderError)
    assert result.template == "t.yaml"
    assert "b64dec" in result.message
    with pytest.raises(FilterInputError):
        b64dec("%%%")


def test_quote_makes_yaml_strings_of_anything() -> None:
    assert render_value("{{ values.x | quote }}", {"x": 8080}) == "8080"
    assert render_value("{{ true | quote }}") == "true"
    assert render_value("{{ values.s | quote }}", {"s": 'say "hi": now'}) == 'say "hi": now'
    assert quote(None) == '""'


def test_indent_includes_the_first_line_and_nindent_starts_a_new_line() -> None:
    assert indent("a\nb", 2) == "  a\n  b"
    assert indent("a\n\nb", 2) == "  a\n\n  b"
    assert nindent("a", 2) == "\n  a"


def test_sha256_is_the_hex_digest_of_the_text() -> None:
    assert (
        render_value("{{ 'abc' | sha256 }}")
        == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_default_replaces_missing_and_empty_but_keeps_false_and_zero() -> None:
    assert render_value("{{ values.missing | default('d') }}") == "d"
    assert render_value("{{ values.e | default('d') }}", {"e": ""}) == "d"
    assert default([], "d") == "d"
    assert default({}, "d") == "d"
    assert default(None, "d") == "d"
    assert render_value("{{ values.f | default(true) }}", {"f": False}) is False
    assert render_value("{{ values.z | default(5) }}", {"z": 0}) == 0


def test_required_fails_with_the_authors_message_and_passes_values_through() -> None:
    assert render_value("{{ values.host | required('host is needed') }}", {"host": "a"}) == "a"
    chart = chart_from_files({"t.yaml": "a: 1\nv: {{ values.host | required('set values.host') }}\n"})
    assert not isinstance(chart, RenderError)
    result = render_chart(chart, {}, RELEASE)
    assert result == RenderError("t.yaml", 2, "required: set values.host")
    with pytest.raises(Exception, match="empty"):
        required("", "empty")


def test_trunc_cuts_without_ellipsis() -> None:
    assert render_value("{{ ('x' * 70) | trunc(63) }}") == "x" * 63
