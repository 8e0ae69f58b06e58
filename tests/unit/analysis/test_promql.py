"""Strict rendering of PromQL templates and escaping of label values.

Pins down: a value with quotes, braces, backslashes, newlines or control
characters stays inside its string literal (it decodes back to exactly itself and
the query keeps its matchers), in double- and single-quoted strings alike; values
outside strings must be what their position holds (durations in ranges, numbers, metric names); raw strings refuse
backticks; a missing variable, args.* included, is an error naming it, unless it
has a ``default``.
"""

from __future__ import annotations

import ast
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canary.analysis.promql import QueryContext, RenderError, Track, escape_string_content, render_query

TEMPLATE = 'sum(rate(http_requests_total{namespace="{{ namespace }}", pod=~"{{ pod_regex }}"}[{{ interval }}]))'
HOSTILE = [
    'prod"} or vector(1) or up{x="',
    "prod\n} or up",
    'a\\"b',
    "back\\",
    "{}{}}}{{",
    "tab\there\r\x00\x1b",
    "\u00e9t\u00e9 \U0001f680",
]


def _context(namespace: str = "prod", **args: object) -> QueryContext:
    return QueryContext(
        namespace=namespace,
        workload="web",
        track=Track.CANARY,
        pod_regex="web-canary-.*",
        interval="5m",
        args=args,
    )


def _literals(query: str) -> list[str]:
    """Decode the double-quoted literals of a query (PromQL's escapes are Go's, a subset of Python's)."""
    return [ast.literal_eval(f'"{body}"') for body in re.findall(r'"((?:[^"\\]|\\.)*)"', query)]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_stay_inside_their_string(value: str) -> None:
    query = render_query(TEMPLATE, _context(value))
    assert _literals(query) == [value, "web-canary-.*"]
    outside = re.sub(r'"((?:[^"\\]|\\.)*)"', '""', query)
    assert outside == 'sum(rate(http_requests_total{namespace="", pod=~""}[5m]))'
    assert "\n" not in query


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_round_trips_through_a_double_quoted_literal(value: str) -> None:
    query = render_query('up{job="{{ args.job }}"}', _context(job=value))
    assert _literals(query) == [value]
    assert query.startswith('up{job="')
    assert query.endswith('"}')


def test_single_quoted_strings_escape_single_quotes() -> None:
    query = render_query("up{job='{{ args.job }}'}", _context(job='it\'s "fine"'))
    assert query == "up{job='it\\'s \"fine\"'}"


def test_raw_strings_refuse_backticks() -> None:
    assert render_query("up{job=`{{ args.job }}`}", _context(job="a\\b")) == "up{job=`a\\b`}"
    with pytest.raises(RenderError, match="backtick"):
        render_query("up{job=`{{ args.job }}`}", _context(job="a`b"))


@pytest.mark.parametrize(("template", "value"), [
    ("x[{{ args.v }}]", "5m"), ("x[{{ args.v }}]", "1h30m"), ("x[{{ args.v }}]", "250ms"),
    ("histogram_quantile({{ args.v }}, x)", "0.99"), ("topk({{ args.v }}, x)", "42"), ("x > {{ args.v }}", "-1e-3"),
    ("{{ args.v }}{job=\"a\"}", "http_requests_total"),
])
def test_bare_values_may_be_numbers_durations_and_identifiers(template: str, value: str) -> None:
    # Each kind of value in the position that may hold it (a range holds durations only: issue 11, F24).
    assert render_query(template, _context(v=value)) == template.replace("{{ args.v }}", value)


@pytest.mark.parametrize("value", ["5m] or up[5m", "1 + 1", "a{b}", "x\ny", ""])
def test_bare_values_that_could_change_the_query_are_refused(value: str) -> None:
    with pytest.raises(RenderError, match=r"outside a quoted string.*\{\{ args.v \}\}|\{\{ args.v \}\}.*outside"):
        render_query("x[{{ args.v }}]", _context(v=value))


def test_a_comment_does_not_hide_a_value() -> None:
    with pytest.raises(RenderError, match="outside a quoted string"):
        render_query("up # {{ namespace }}", _context("x\nor vector(1)"))


def test_missing_variables_are_named() -> None:
    with pytest.raises(RenderError, match=r"undefined variable\(s\): args\.route"):
        render_query('up{route="{{ args.route }}"}', _context())
    with pytest.raises(RenderError, match=r"args\.route"):
        render_query('up{route="{{ args["route"] }}"}', _context())
    with pytest.raises(RenderError, match=r"undefined variable.*: cluster"):
        render_query('up{c="{{ cluster }}"}', _context())


def test_defaults_make_arguments_optional() -> None:
    assert render_query('x[{{ args.w | default("1m") }}]', _context()) == "x[1m]"
    assert render_query('x[{{ args.w | default("1m") }}]', _context(w="30s")) == "x[30s]"


def test_control_flow_on_track_is_allowed_and_escaping_still_applies() -> None:
    template = 'up{ {% if track == "canary" %}canary!=""{% else %}canary=""{% endif %}, ns="{{ namespace }}"}'
    assert render_query(template, _context('a"b')) == 'up{ canary!="", ns="a\\"b"}'


def test_syntax_errors_name_the_query() -> None:
    with pytest.raises(RenderError, match=r"'errors'.*line 1"):
        render_query("{{ namespace", _context(), "errors")


def test_escape_covers_go_escapes() -> None:
    assert escape_string_content('a"b\\c\nd\te\x01', '"') == 'a\\"b\\\\c\\nd\\te\\x01'
