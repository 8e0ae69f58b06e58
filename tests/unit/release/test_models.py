"""Parsing a Release spec once at the boundary: typed fields, defaults, and errors that name the field."""

from __future__ import annotations

import pytest

from rudder.models import (
    ArchiveChart,
    ConfigMapChartRef,
    InlineTemplates,
    ObjectRef,
    SpecError,
    ValuesSourceKind,
    parse_duration,
    parse_release_spec,
)

INLINE = {"templates": {"cm.yaml": "kind: ConfigMap"}}


def test_minimal_spec_gets_contract_defaults() -> None:
    spec = parse_release_spec({"chart": INLINE})
    assert isinstance(spec.chart.source, InlineTemplates)
    assert spec.history_limit == 10
    assert spec.timeout_seconds == 300
    assert (spec.suspend, spec.atomic, spec.rollback_to, spec.values_from) == (False, False, None, ())


def test_full_spec_is_parsed_into_typed_fields() -> None:
    spec = parse_release_spec(
        {
            "chart": {"configMapRef": {"name": "shop-chart"}, "values": {"a": 1}},
            "values": {"image": {"tag": "2"}},
            "valuesFrom": [
                {"secretKeyRef": {"name": "s", "key": "values.yaml"}},
                {"configMapKeyRef": {"name": "c", "key": "v.yaml", "optional": True}},
            ],
            "suspend": True,
            "rollbackTo": {"revision": 3},
            "historyLimit": 4,
            "serviceAccountName": "deployer",
            "dependsOn": [{"name": "mysql"}],
            "timeout": "1h30m",
            "atomic": True,
        }
    )
    assert spec.chart.source == ConfigMapChartRef("shop-chart")
    assert spec.chart.values == {"a": 1}
    assert [(r.kind, r.name, r.key, r.optional) for r in spec.values_from] == [
        (ValuesSourceKind.SECRET, "s", "values.yaml", False),
        (ValuesSourceKind.CONFIG_MAP, "c", "v.yaml", True),
    ]
    assert spec.rollback_to is not None
    assert spec.rollback_to.revision == 3
    assert spec.timeout_seconds == 5400
    assert [d.name for d in spec.depends_on] == ["mysql"]
    assert (spec.suspend, spec.atomic, spec.history_limit, spec.service_account_name) == (
        True,
        True,
        4,
        "deployer",
    )


def test_archive_source_and_round_trip_of_chart_dict() -> None:
    spec = parse_release_spec({"chart": {"archive": "H4sI", "values": {"x": 1}}})
    assert spec.chart.source == ArchiveChart("H4sI")
    assert spec.chart.to_dict() == {"archive": "H4sI", "values": {"x": 1}}
    assert parse_release_spec({"chart": INLINE}).chart.to_dict() == INLINE


@pytest.mark.parametrize(
    "chart", [{}, {**INLINE, "archive": "x"}, {"configMapRef": {"name": "a"}, "archive": "b"}]
)
def test_chart_needs_exactly_one_source(chart: dict[str, object]) -> None:
    with pytest.raises(SpecError, match=r"spec\.chart: needs exactly one of"):
        parse_release_spec({"chart": chart})


def test_errors_name_the_field_and_are_all_reported_together() -> None:
    with pytest.raises(SpecError) as caught:
        parse_release_spec(
            {
                "chart": INLINE,
                "valuesFrom": [
                    {"configMapKeyRef": {"name": "a", "key": "k"}},
                    {"secretKeyRef": {"name": "s"}},
                ],
                "historyLimit": 0,
                "timeout": "5 minutes",
                "suspend": "yes",
            }
        )
    paths = {e.path for e in caught.value.errors}
    assert paths == {
        "spec.valuesFrom[1].secretKeyRef.key",
        "spec.historyLimit",
        "spec.timeout",
        "spec.suspend",
    }
    assert "spec.valuesFrom[1].secretKeyRef.key: is required" in str(caught.value)


def test_missing_chart_and_wrong_types_are_errors() -> None:
    with pytest.raises(SpecError, match=r"spec\.chart: is required"):
        parse_release_spec({})
    with pytest.raises(SpecError, match=r"spec\.values: must be a mapping"):
        parse_release_spec({"chart": INLINE, "values": [1]})
    with pytest.raises(SpecError, match=r"spec\.chart\.templates\['a'\]: must be a string"):
        parse_release_spec({"chart": {"templates": {"a": 1}}})


def test_parsed_values_are_copies_of_the_raw_body() -> None:
    raw = {"chart": INLINE, "values": {"image": {"tag": "1"}}}
    spec = parse_release_spec(raw)
    raw["values"]["image"]["tag"] = "2"  # type: ignore[index]
    assert spec.values == {"image": {"tag": "1"}}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5m", 300),
        ("30s", 30),
        ("1h30m", 5400),
        ("1.5h", 5400),
        ("250ms", 0.25),
        ("2h0m5s", 7205),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "m", "5 m", "5x", "1h-3m", "5m junk"])
def test_bad_durations_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_object_ref_identity_ignores_the_version() -> None:
    a = ObjectRef("apps/v1", "Deployment", "web", "prod")
    b = ObjectRef("apps/v1beta2", "Deployment", "web", "prod")
    assert a.identity == b.identity
    assert a.group == "apps"
    assert ObjectRef("v1", "Service", "web").group == ""
    assert ObjectRef("v1", "Service", "web").to_dict() == {
        "apiVersion": "v1",
        "kind": "Service",
        "name": "web",
    }
