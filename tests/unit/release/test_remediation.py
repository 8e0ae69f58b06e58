"""Failure remediation decisions: each failure counted once, retries with doubling backoff, then the final
action (rollback / uninstall / none) exactly once and a stall; RetryOnFailure never remediates; counters are
keyed by content and survive a round trip through status; `atomic` is upgrade rollback with 0 retries; the
manual annotations are pending until their value is recorded; spec errors name the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rudder.domain.remediation import (
    FORCE_AT,
    RECONCILE_AT,
    RESET_AT,
    Counters,
    Phase,
    Step,
    backoff_seconds,
    count_input_failure,
    decide_remediation,
    pending_annotations,
    phase_of,
    stalled,
)
from rudder.models import SpecError, parse_release_spec
from rudder.remediation_spec import ATOMIC_UPGRADE, FinalAction, Remediation, Strategy

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
CHART: dict[str, Any] = {"chart": {"templates": {}}}


def run_failures(policy: Remediation, phase: Phase, target: int | None = 1, rounds: int = 10) -> list[Step]:
    """Drive the decision as the controller does: each failure, then each due retry, until it settles."""
    steps: list[Step] = []
    counters, now = Counters(), NOW
    for _ in range(rounds):
        decision = decide_remediation(policy, phase, counters, "d2", now=now, rollback_target=target)
        steps.append(decision.step)
        counters = decision.counters
        if decision.step is Step.WAIT:
            assert decision.requeue_after is not None
            now += timedelta(seconds=decision.requeue_after)
        elif decision.step is not Step.RETRY:
            break
    return steps


def test_upgrade_retries_then_rolls_back_once() -> None:
    policy = Remediation(FinalAction.ROLLBACK, retries=2)
    steps = run_failures(policy, Phase.UPGRADE)
    assert steps == [Step.WAIT, Step.RETRY, Step.WAIT, Step.RETRY, Step.ROLLBACK]


def test_after_the_final_action_the_same_content_stalls() -> None:
    done = Counters(digest="d2", upgrade_failures=3, remediated=FinalAction.ROLLBACK)
    decision = decide_remediation(Remediation(FinalAction.ROLLBACK, retries=2), Phase.UPGRADE, done, "d2",
                                  now=NOW, rollback_target=1)
    assert decision.step is Step.STALL
    assert stalled(done, "d2") and not stalled(done, "d3")


def test_new_content_starts_fresh_counters() -> None:
    old = Counters(digest="d2", upgrade_failures=3, remediated=FinalAction.ROLLBACK)
    decision = decide_remediation(Remediation(FinalAction.ROLLBACK, retries=2), Phase.UPGRADE, old, "d3",
                                  now=NOW, rollback_target=1)
    assert decision.step is Step.WAIT
    assert decision.counters.digest == "d3" and decision.counters.upgrade_failures == 1


def test_install_failure_uninstalls_after_its_retries() -> None:
    policy = Remediation(FinalAction.UNINSTALL, retries=1)
    assert run_failures(policy, Phase.INSTALL, target=None) == [Step.WAIT, Step.RETRY, Step.UNINSTALL]


def test_no_policy_is_ignored_and_none_stalls() -> None:
    assert run_failures(Remediation(FinalAction.ROLLBACK), Phase.UPGRADE) == [Step.IGNORE]
    assert run_failures(Remediation(FinalAction.NONE, retries=1), Phase.UPGRADE) == [
        Step.WAIT, Step.RETRY, Step.STALL]
    # retries but remediateLastFailure false: left Failed once the retries are used up
    policy = Remediation(FinalAction.ROLLBACK, retries=1, remediate_last_failure=False)
    assert run_failures(policy, Phase.UPGRADE) == [Step.WAIT, Step.RETRY, Step.STALL]


def test_rollback_without_a_ready_revision_stalls() -> None:
    assert run_failures(ATOMIC_UPGRADE, Phase.UPGRADE, target=None) == [Step.STALL]
    assert run_failures(ATOMIC_UPGRADE, Phase.UPGRADE, target=1) == [Step.ROLLBACK]


def test_retry_on_failure_never_remediates_and_waits_the_interval() -> None:
    policy = Remediation(FinalAction.ROLLBACK, retries=1, strategy=Strategy.RETRY_ON_FAILURE,
                         retry_interval_seconds=7)
    steps = run_failures(policy, Phase.UPGRADE, rounds=8)
    assert steps == [Step.WAIT, Step.RETRY] * 4
    assert backoff_seconds(policy, 1) == backoff_seconds(policy, 9) == 7


def test_backoff_doubles_and_is_capped() -> None:
    policy = Remediation(FinalAction.ROLLBACK, retries=20, backoff_seconds=10)
    assert [backoff_seconds(policy, n) for n in (1, 2, 3, 6)] == [10, 20, 40, 300]


def test_each_failure_is_counted_once() -> None:
    policy = Remediation(FinalAction.ROLLBACK, retries=3)
    first = decide_remediation(policy, Phase.UPGRADE, Counters(), "d", now=NOW, rollback_target=1)
    again = decide_remediation(policy, Phase.UPGRADE, first.counters, "d", now=NOW + timedelta(seconds=1),
                               rollback_target=1)
    assert (first.counters.upgrade_failures, again.counters.upgrade_failures) == (1, 1)
    assert again.step is Step.WAIT and again.requeue_after == pytest.approx(9)


def test_counters_round_trip_through_status() -> None:
    counters = Counters(digest="d", install_failures=2, upgrade_failures=1, next_retry_at=NOW,
                        remediated=FinalAction.UNINSTALL)
    assert Counters.from_status({"remediation": counters.to_dict()}) == counters
    assert Counters().to_dict() is None
    assert Counters.from_status({"remediation": {"installFailures": -3, "remediated": "explode"}}) == Counters()


def test_input_failures_are_counted_only_under_retry_on_failure() -> None:
    assert count_input_failure(Remediation(FinalAction.UNINSTALL, retries=3), Phase.INSTALL, Counters(),
                               now=NOW) is None
    policy = Remediation(FinalAction.UNINSTALL, strategy=Strategy.RETRY_ON_FAILURE, retry_interval_seconds=5)
    first = count_input_failure(policy, Phase.INSTALL, Counters(), now=NOW)
    assert first is not None and first.counters.install_failures == 1 and first.requeue_after == 5
    early = count_input_failure(policy, Phase.INSTALL, first.counters, now=NOW + timedelta(seconds=2))
    assert early is not None and early.counters.install_failures == 1 and early.requeue_after == 3
    due = count_input_failure(policy, Phase.INSTALL, first.counters, now=NOW + timedelta(seconds=5))
    assert due is not None and due.counters.install_failures == 2


def test_phase_follows_the_last_ready_revision() -> None:
    assert phase_of(None) is Phase.INSTALL and phase_of(3) is Phase.UPGRADE


def test_annotations_are_pending_until_their_value_is_recorded() -> None:
    annotations = {RECONCILE_AT: "a", FORCE_AT: "b", RESET_AT: "c", "other": "x"}
    status = {"lastHandledReconcileAt": "a", "lastHandledForceAt": "old"}
    assert pending_annotations(annotations, status) == {FORCE_AT: "b", RESET_AT: "c"}
    assert pending_annotations({RESET_AT: ""}, {}) == {}


def test_spec_parsing_defaults_atomic_and_explicit_policies() -> None:
    plain = parse_release_spec(CHART).remediation
    assert plain.install.inert and plain.upgrade.inert
    assert (plain.install.action, plain.upgrade.action) == (FinalAction.UNINSTALL, FinalAction.ROLLBACK)
    assert parse_release_spec({**CHART, "atomic": True}).remediation.upgrade == ATOMIC_UPGRADE
    spec = parse_release_spec({**CHART, "atomic": True, "install": {
        "strategy": {"name": "RetryOnFailure", "retryInterval": "2s"}}, "upgrade": {
        "remediation": {"retries": 3, "backoff": "1s", "strategy": "none", "remediateLastFailure": False}}})
    install, upgrade = spec.remediation.install, spec.remediation.upgrade
    assert (install.strategy, install.retry_interval_seconds) == (Strategy.RETRY_ON_FAILURE, 2.0)
    assert (upgrade.retries, upgrade.backoff_seconds, upgrade.action, upgrade.remediates_last_failure) == (
        3, 1.0, FinalAction.NONE, False)


def test_spec_errors_name_the_field() -> None:
    with pytest.raises(SpecError) as err:
        parse_release_spec({**CHART, "install": {"remediation": {"strategy": "rollback", "retries": -1,
                                                                  "backoff": "soon"}},
                            "upgrade": {"strategy": {"name": "Sometimes", "retryInterval": 5}}})
    text = str(err.value)
    for field in ("spec.install.remediation.strategy", "spec.install.remediation.retries",
                  "spec.install.remediation.backoff", "spec.upgrade.strategy.name",
                  "spec.upgrade.strategy.retryInterval"):
        assert field in text
