"""Parsing a CanaryRelease once at the boundary: defaults, typed steps and analysis settings, durations,
manual actions, status round trips through its API form, and parse errors that name the field at fault."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from canary.domain.readers import ParseError
from canary.models import (
    Action,
    AnalysisRecord,
    CanaryStatus,
    Condition,
    MetricResult,
    OnInconclusive,
    PauseStep,
    Phase,
    RouterType,
    Verdict,
    WeightStep,
    parse_canary,
    parse_spec,
    parse_status,
    status_to_dict,
)


def minimal(**extra: Any) -> dict[str, Any]:
    return {"release": "shop", "steps": [{"weight": 10, "duration": "2m"}], **extra}


def test_defaults_follow_the_contract() -> None:
    spec = parse_spec(minimal())
    assert spec.workloads is None  # every Deployment of the Release
    assert spec.baseline is True
    assert spec.router.type is RouterType.REPLICAS
    assert spec.analysis is None
    assert spec.progress_deadline == 600
    assert spec.auto_promote is True
    assert spec.values == {}


def test_full_spec_is_typed() -> None:
    spec = parse_spec(
        minimal(
            values={"image": {"tag": "2.0"}},
            workloads=["web"],
            baseline=False,
            router={"type": "gateway-api", "httpRoute": "shop"},
            steps=[
                {"weight": 10, "duration": "1h30m"},
                {"pause": {}},
                {"pause": {"duration": "250ms"}},
                {"weight": 50},
            ],
            analysis={
                "interval": "30s",
                "prometheus": {"url": "http://prometheus:9090"},
                "metrics": [
                    {"policy": "http-error-rate"},
                    {
                        "policy": "http-latency-p99",
                        "critical": True,
                        "weight": 2,
                        "args": {"route": "/checkout", "n": 3},
                    },
                ],
                "failureLimit": 2,
                "onInconclusive": "extend",
                "maxExtensions": 5,
            },
            progressDeadline="15m",
            autoPromote=False,
        )
    )
    assert spec.steps == (WeightStep(10, 5400.0), PauseStep(None), PauseStep(0.25), WeightStep(50, 0.0))
    assert spec.router.http_route == "shop"
    analysis = spec.analysis
    assert analysis is not None
    assert (analysis.interval, analysis.prometheus_url, analysis.failure_limit) == (30.0, "http://prometheus:9090", 2)
    assert analysis.on_inconclusive is OnInconclusive.EXTEND
    assert analysis.max_extensions == 5
    latency = analysis.metrics[1]
    assert (latency.policy, latency.critical, latency.weight) == ("http-latency-p99", True, 2.0)
    assert latency.args == {"route": "/checkout", "n": "3"}
    assert analysis.metrics[0].critical is None  # as the policy says
    assert (spec.progress_deadline, spec.auto_promote, spec.workloads) == (900.0, False, ("web",))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"steps": [{"weight": 10}, {"weight": 10}, {"weight": 101}]}, "spec.steps[2].weight"),
        ({"steps": [{"weight": "ten"}]}, "spec.steps[0].weight"),
        ({"steps": [{"weight": True}]}, "spec.steps[0].weight"),
        ({"steps": [{"weight": 10, "pause": {}}]}, "spec.steps[0]"),
        ({"steps": [{"duration": "1m"}]}, "spec.steps[0]"),
        ({"steps": [{"weight": 10, "duration": "2 minutes"}]}, "spec.steps[0].duration"),
        ({"steps": [{"pause": {"duration": 30}}]}, "spec.steps[0].pause.duration"),
        ({"steps": []}, "spec.steps"),
        ({"release": ""}, "spec.release"),
        ({"workloads": []}, "spec.workloads"),
        ({"workloads": ["web", "web"]}, "spec.workloads"),
        ({"workloads": ["web", 3]}, "spec.workloads[1]"),
        ({"router": {"type": "linkerd"}}, "spec.router.type"),
        ({"router": {"type": "nginx"}}, "spec.router.ingress"),
        ({"router": {"type": "istio", "service": "web"}}, "spec.router.virtualService"),
        ({"analysis": {"metrics": []}}, "spec.analysis.metrics"),
        ({"analysis": {"metrics": [{}]}}, "spec.analysis.metrics[0].policy"),
        ({"analysis": {"metrics": [{"policy": "p", "args": {"a": {"b": 1}}}]}}, "spec.analysis.metrics[0].args.a"),
        ({"analysis": {"metrics": [{"policy": "p", "weight": -1}]}}, "spec.analysis.metrics[0].weight"),
        ({"analysis": {"metrics": [{"policy": "p"}], "onInconclusive": "ignore"}}, "spec.analysis.onInconclusive"),
        ({"analysis": {"metrics": [{"policy": "p"}], "failureLimit": -1}}, "spec.analysis.failureLimit"),
        ({"analysis": {"metrics": [{"policy": "p"}], "interval": "500ms"}}, "spec.analysis.interval"),
        ({"progressDeadline": "soon"}, "spec.progressDeadline"),
        ({"baseline": "yes"}, "spec.baseline"),
        ({"values": ["a"]}, "spec.values"),
    ],
)
def test_parse_errors_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_spec(minimal(**change))
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


@pytest.mark.parametrize(("text", "seconds"),
                         [("30s", 30), ("2m", 120), ("1h30m", 5400), ("1.5h", 5400), ("250ms", 0.25)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_spec(minimal(progressDeadline=text)).progress_deadline == seconds


def body(annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "shop-v2",
            "namespace": "prod",
            "uid": "u",
            "generation": 3,
            "creationTimestamp": "2026-01-01T12:00:00Z",
            "annotations": annotations or {},
        },
        "spec": minimal(**spec),
    }


@pytest.mark.parametrize("value", ["promote", "abort", "pause", "resume", "retry", " Resume "])
def test_manual_actions_are_parsed_from_the_annotation(value: str) -> None:
    parsed = parse_canary(body({"rudder.dev/action": value}))
    assert parsed.action is not None
    assert parsed.action.action is Action(value.strip().lower())
    assert parsed.action.raw == value


def test_an_unknown_action_is_kept_raw_for_the_machine_to_refuse() -> None:
    parsed = parse_canary(body({"rudder.dev/action": "ship-it"}))
    assert parsed.action is not None
    assert (parsed.action.action, parsed.action.raw) == (None, "ship-it")
    assert parse_canary(body()).action is None


def test_a_bad_spec_is_data_not_an_exception() -> None:
    parsed = parse_canary(body(steps=[{"weight": 200}]))
    assert isinstance(parsed.spec, ParseError)
    assert parsed.meta.name == "shop-v2"
    assert parsed.meta.created_at == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert parsed.status.phase is Phase.PENDING


def test_status_round_trips_through_its_api_form() -> None:
    t = datetime(2026, 1, 1, 12, 30, tzinfo=UTC)
    metric = MetricResult(
        "http-error-rate", "High", 0.05, 0.01, 0.001, 0.02, 0.06, 5.0, {"canary": 100, "baseline": 90}, "q", "worse"
    )
    status = CanaryStatus(
        phase=Phase.ROLLED_BACK,
        observed_generation=3,
        stable_revision=4,
        step=1,
        weight=0,
        verdict=Verdict.FAIL,
        message="rolled back",
        failures=2,
        extensions=1,
        step_started_at=t,
        last_analysis_at=t,
        copies_created_at=t,
        last_action="abort",
        conditions=(Condition("Promoted", "False", "AnalysisFailed", "m", t),),
        analysis=(AnalysisRecord(t, 1, 50, Verdict.FAIL, (metric,)),
                  AnalysisRecord(t, 1, 50, Verdict.PASS, judged_at=t.replace(second=2, microsecond=345000))),
    )
    assert parse_status(status_to_dict(status)) == status
    assert status_to_dict(status)["stepStartedAt"] == "2026-01-01T12:30:00Z"
    # The judge's moment keeps its milliseconds (verdict latency is measured against it); absent when unknown.
    assert status_to_dict(status)["analysis"][1]["judgedAt"] == "2026-01-01T12:30:02.345Z"
    assert "judgedAt" not in status_to_dict(status)["analysis"][0]
    assert parse_status({}) == CanaryStatus()


def test_a_corrupt_status_names_the_field() -> None:
    with pytest.raises(ParseError, match=r"status\.phase"):
        parse_status({"phase": "Exploding"})
    with pytest.raises(ParseError, match=r"status\.analysis\[0\]"):
        parse_status({"analysis": [{"step": 1}]})


def test_phase_groups() -> None:
    assert {p for p in Phase if p.active} == {
        Phase.INITIALIZING,
        Phase.PROGRESSING,
        Phase.PAUSED,
        Phase.PROMOTING,
        Phase.ROLLING_BACK,
    }
    assert {p for p in Phase if p.terminal} == {Phase.PROMOTED, Phase.ROLLED_BACK, Phase.FAILED}
