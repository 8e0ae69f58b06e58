"""Label helpers (valid label values, Kubernetes selector semantics, pod-name patterns per track) and the
status builders (conditions whose lastTransitionTime only moves on a change, the rollback reason and the
copies' not-Ready clock kept in conditions)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from canary.domain.labels import label_value, pod_name_regex, selector_matches
from canary.domain.status import copies_unready_since, mark_copies, rollback_reason, with_phase
from canary.models import CanaryStatus, Phase, Track

T = datetime(2026, 1, 1, tzinfo=UTC)


def test_label_values_stay_valid_and_unique() -> None:
    assert label_value("shop-v2") == "shop-v2"
    long_a, long_b = "a" * 70, "a" * 69 + "b"
    assert len(label_value(long_a)) <= 63
    assert label_value(long_a) != label_value(long_b)
    assert re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", label_value("-bad/value-"))


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ({"matchLabels": {"app": "web"}}, {"app": "web", "x": "y"}, True),
        ({"matchLabels": {"app": "web"}}, {"app": "api"}, False),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}, {"app": "api"}, True),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}, {}, True),
        ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, {"app": ""}, True),
        ({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, {"app": "x"}, False),
        ({}, {"anything": "goes"}, True),
    ],
)
def test_selector_semantics(selector: dict[str, object], labels: dict[str, str], expected: bool) -> None:
    assert selector_matches(selector, labels) is expected


def test_pod_name_patterns_keep_tracks_apart() -> None:
    primary = re.compile(pod_name_regex("web", "Deployment", Track.PRIMARY))
    canary = re.compile(pod_name_regex("web", "Deployment", Track.CANARY))
    assert primary.match("web-5d8f9c7b4-abcde")
    assert not primary.match("web-canary-5d8f9c7b4-abcde")
    assert canary.match("web-canary-5d8f9c7b4-abcde")
    stateful = re.compile(pod_name_regex("db", "StatefulSet", Track.BASELINE))
    assert stateful.match("db-baseline-0")
    assert not stateful.match("db-0")


def test_conditions_move_only_on_change() -> None:
    progressing = with_phase(CanaryStatus(), Phase.PROGRESSING, "StepStarted", "step 1", T)
    later = with_phase(progressing, Phase.PROGRESSING, "StepStarted", "step 2", T + timedelta(minutes=5))
    assert later.condition("Progressing") == progressing.condition("Progressing")
    rolled = with_phase(later, Phase.ROLLING_BACK, "AnalysisFailed", "metric x", T + timedelta(minutes=6))
    promoted = rolled.condition("Promoted")
    assert promoted is not None
    assert (promoted.status, promoted.reason, promoted.last_transition_time) == (
        "False",
        "AnalysisFailed",
        T + timedelta(minutes=6),
    )
    assert rollback_reason(rolled) == "AnalysisFailed"
    assert rollback_reason(progressing) == ""
    paused = with_phase(progressing, Phase.PAUSED, "ManualPause", "paused", T)
    assert paused.paused_reason == "ManualPause"
    assert paused.condition("Paused").status == "True"  # type: ignore[union-attr]


def test_copies_not_ready_clock() -> None:
    status = mark_copies(CanaryStatus(), False, "0/1 ready", T)
    still = mark_copies(status, False, "0/1 ready, crash looping", T + timedelta(minutes=3))
    assert copies_unready_since(still) == T
    assert copies_unready_since(mark_copies(still, True, "", T + timedelta(minutes=4))) is None
    assert copies_unready_since(CanaryStatus()) is None
