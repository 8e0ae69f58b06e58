"""Durations and deep values that the CRD schema lets through are refused as field errors (issue 11, F14):
a duration past Go's largest (2562047h), longer than 32 characters, or a non-finite number never reaches date
arithmetic (where it used to raise OverflowError on every resync), and `spec.values` nested past 100 levels
is refused before any recursive walk; the CRDs bound duration strings with maxLength.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from canary.domain.readers import ParseError
from canary.models import parse_spec
from rudder.durations import MAX_DURATION_SECONDS, parse_duration
from rudder.models import SpecError, parse_release_spec

REPO = Path(__file__).resolve().parents[3]
TOO_LONG = "duration too long: at most 2562047h (Go's largest duration)"

BAD_DURATIONS = [
    ("99999999999h", TOO_LONG),
    ("2562048h", TOO_LONG),
    ("2562047h47m17s", TOO_LONG),
    ("153722867281m", TOO_LONG),
    ("9223372037s", TOO_LONG),
    ("9223372036855ms", TOO_LONG),
    ("1000000h1000000h1000000h", TOO_LONG),
    ("9" * 400 + "h", f"invalid duration '{'9' * 32}...': longer than 32 characters"),
    ("1" * 33 + "s", f"invalid duration '{'1' * 32}...': longer than 32 characters"),
    ("1s" * 17, f"invalid duration '{'1s' * 16}...': longer than 32 characters"),
    ("0." + "9" * 40 + "s", f"invalid duration '0.{'9' * 30}...': longer than 32 characters"),
    ("1e400s", "invalid duration '1e400s': use numbers with units h, m, s or ms, e.g. 5m or 1h30m"),
    ("inf", "invalid duration 'inf': use numbers with units h, m, s or ms, e.g. 5m or 1h30m"),
    ("nans", "invalid duration 'nans': use numbers with units h, m, s or ms, e.g. 5m or 1h30m"),
]


@pytest.mark.corpus("models")
@pytest.mark.parametrize(("text", "message"), BAD_DURATIONS, ids=[t[:20] for t, _ in BAD_DURATIONS])
def test_absurd_durations_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="duration") as caught:
        parse_duration(text)
    assert str(caught.value) == message


def test_the_largest_go_duration_is_accepted() -> None:
    assert parse_duration("2562047h47m16s") == pytest.approx(MAX_DURATION_SECONDS, abs=1)
    assert parse_duration("2562047h") == 2562047 * 3600


def release(**spec: Any) -> dict[str, Any]:
    return {"chart": {"templates": {"a.yaml": "kind: ConfigMap\n"}}, **spec}


RELEASE_TIMEOUTS = [
    ("99999999999h", f"spec.timeout: {TOO_LONG}"),
    ("9" * 400 + "s", f"spec.timeout: invalid duration '{'9' * 32}...': longer than 32 characters"),
    (10**400, "spec.timeout: duration too long"),
    (10**12, f"spec.timeout: {TOO_LONG}"),
    (float("inf"), f"spec.timeout: {TOO_LONG}"),
    (float("nan"), f"spec.timeout: {TOO_LONG}"),
    (-float("inf"), f"spec.timeout: {TOO_LONG}"),
]


@pytest.mark.corpus("models")
@pytest.mark.parametrize(("timeout", "message"), RELEASE_TIMEOUTS, ids=[str(t)[:20] for t, _ in RELEASE_TIMEOUTS])
def test_release_timeouts_out_of_range_are_field_errors(timeout: object, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_release_spec(release(timeout=timeout))
    assert str(caught.value) == message


def canary(**spec: Any) -> dict[str, Any]:
    return {"release": "shop", "steps": [{"weight": 10, "duration": "1m"}], **spec}


CANARY_FIELDS = [
    ({"steps": [{"weight": 10, "duration": "99999999999h"}]}, "spec.steps[0].duration", TOO_LONG),
    ({"steps": [{"weight": 10, "duration": "1" * 400 + "s"}]}, "spec.steps[0].duration",
     f"invalid duration '{'1' * 32}...': longer than 32 characters"),
    ({"steps": [{"pause": {"duration": "99999999999h"}}]}, "spec.steps[0].pause.duration", TOO_LONG),
    ({"analysis": {"interval": "99999999999h", "metrics": [{"policy": "p"}]}}, "spec.analysis.interval", TOO_LONG),
    ({"analysis": {"interval": "9" * 400 + "ms", "metrics": [{"policy": "p"}]}}, "spec.analysis.interval",
     f"invalid duration '{'9' * 32}...': longer than 32 characters"),
    ({"progressDeadline": "99999999999h"}, "spec.progressDeadline", TOO_LONG),
    ({"progressDeadline": "3000000h"}, "spec.progressDeadline", TOO_LONG),
]


@pytest.mark.corpus("models")
@pytest.mark.parametrize(("extra", "field", "problem"), CANARY_FIELDS,
                         ids=[c[1] + "=" + str(c[0])[-24:] for c in CANARY_FIELDS])
def test_canary_durations_out_of_range_are_field_errors(extra: dict[str, Any], field: str, problem: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_spec(canary(**extra))
    assert (caught.value.field, caught.value.problem) == (field, problem)


def nested(levels: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    cursor = root
    for _ in range(levels):
        cursor["a"] = {}
        cursor = cursor["a"]
    return root


DEEP_VALUES = [
    (release(values=nested(101)), "spec.values: nested deeper than 100 levels"),
    (release(values=nested(5000)), "spec.values: nested deeper than 100 levels"),
    (release(values={"list": [[[[[[[[[[[[[[[[[[[[nested(90)]]]]]]]]]]]]]]]]]]]]}),
     "spec.values: nested deeper than 100 levels"),
    ({"chart": {"templates": {"a.yaml": "kind: A\n"}, "values": nested(3000)}},
     "spec.chart.values: nested deeper than 100 levels"),
]


@pytest.mark.corpus("models")
@pytest.mark.parametrize(("spec", "message"), DEEP_VALUES,
                         ids=["101 maps", "5000 maps", "lists and maps", "chart values"])
def test_values_nested_too_deeply_are_field_errors(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_release_spec(spec)
    assert str(caught.value) == message


def test_values_at_the_depth_bound_are_accepted() -> None:
    assert parse_release_spec(release(values=nested(99))).values == nested(99)


def _duration_schemas(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "string" and "ms|s|m|h" in str(node.get("pattern", "")):
            found.append(node)
        for value in node.values():
            found.extend(_duration_schemas(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_duration_schemas(value))
    return found


@pytest.mark.corpus("models")
@pytest.mark.parametrize(("crd", "count"), [("release.yaml", 1), ("canaryrelease.yaml", 4)])
def test_crd_duration_fields_are_bounded_in_length(crd: str, count: int) -> None:
    schemas = _duration_schemas(yaml.safe_load((REPO / "crds" / crd).read_text()))
    assert len(schemas) >= count  # every duration field, however many later changes add
    assert all(schema.get("maxLength") == 32 for schema in schemas)
