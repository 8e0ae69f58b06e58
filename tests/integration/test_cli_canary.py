"""`kubectl canary` against a real API server: the annotation verbs write exactly one annotation (the spec and
generation stay untouched, so GitOps sees no drift) and `--wait` reports what the controller did; `wait` exits 0
promoted, 1 rolled back or failed, 2 timed out, 3 paused for a decision, 4 not found, and never before the outcome
is final (it sits through every transient phase, a timed pause step and a pending action); `status`, `watch` and
the HTML report read the live object.

The CanaryRelease status is written here through the status subresource, as the canary controller would: the
namespaces are `iso-` ones, which no controller of the test session touches. (The same scenarios with the real
canary controller belong to its end-to-end tests.)"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import KUBECTL_CANARY, CanaryDriver, Running, run
from tests.support.cluster import Cluster
from tests.support.wait import wait_for
from tests.unit.cli.canaries import PROGRESSING, ROLLED_BACK, SPEC, condition, with_status

pytestmark = pytest.mark.integration


@pytest.fixture
def canaries(cluster: Cluster, iso_namespace: str) -> CanaryDriver:
    return CanaryDriver(cluster, iso_namespace)


def canary(cluster: Cluster, namespace: str, *args: str) -> tuple[int, str, str]:
    done = run(KUBECTL_CANARY, cluster, *args, "-n", namespace)
    return done.returncode, done.stdout, done.stderr


def start_wait(cluster: Cluster, namespace: str, name: str, timeout: str = "90s") -> Running:
    return Running.start(KUBECTL_CANARY, cluster, "wait", name, "-n", namespace, "--timeout", timeout,
                         "--interval", "0.3s")


def phase_line(phase: str) -> Any:
    """A progress line of `wait` showing `phase` (one line per change when stderr is not a terminal)."""
    return lambda line: f" {phase}" in line


def drive(canaries: CanaryDriver, waiting: Running, name: str, steps: list[dict[str, Any]]) -> None:
    """Write each transient status and see `wait` report it and carry on."""
    for status in steps:
        canaries.set_status(name, status)
        waiting.expect_line(phase_line(status["phase"]), what=f"progress showing {status['phase']}")


TRANSIENT = [with_status(PROGRESSING, phase=p, message=f"now {p}")
             for p in ("Pending", "Initializing", "Progressing", "Promoting")]


def test_wait_sits_through_transient_phases_and_exits_0_when_promoted(
    cluster: Cluster, iso_namespace: str, canaries: CanaryDriver
) -> None:
    canaries.create("good", SPEC)
    waiting = start_wait(cluster, iso_namespace, "good")
    try:
        drive(canaries, waiting, "good", TRANSIENT)
        canaries.set_status("good", with_status(PROGRESSING, phase="Promoted", promotedRevision=5,
                                                message="promoted: Release shop is at revision 5"))
        code, out = waiting.finish()
    finally:
        waiting.stop()
    assert code == 0
    assert out.strip() == (f"CanaryRelease {iso_namespace}/good: promoted: Promoted: "
                           "promoted: Release shop is at revision 5")


@pytest.mark.parametrize(
    ("final", "reason"),
    [(ROLLED_BACK, "AnalysisFailed"),
     (with_status(ROLLED_BACK, phase="Failed", conditions=[condition("Promoted", "False", "RollbackIncomplete", 0)]),
      "RollbackIncomplete")],
    ids=["rolled-back", "failed"],
)
def test_wait_exits_1_when_rolled_back_or_failed(
    cluster: Cluster, iso_namespace: str, canaries: CanaryDriver, final: dict[str, Any], reason: str
) -> None:
    canaries.create("bad", SPEC)
    waiting = start_wait(cluster, iso_namespace, "bad")
    try:
        drive(canaries, waiting, "bad", [PROGRESSING, with_status(ROLLED_BACK, phase="RollingBack")])
        canaries.set_status("bad", final)
        code, out = waiting.finish()
    finally:
        waiting.stop()
    assert code == 1
    assert "rolled back or failed" in out and reason in out


def test_wait_exits_2_on_timeout_while_progressing(
    cluster: Cluster, iso_namespace: str, canaries: CanaryDriver
) -> None:
    canaries.create("slow", SPEC)
    canaries.set_status("slow", PROGRESSING)
    done = run(KUBECTL_CANARY, cluster, "wait", "slow", "-n", iso_namespace, "--timeout", "3s", "--interval", "0.5s")
    assert done.returncode == 2, done.stderr
    assert "timed out" in done.stdout and "Progressing" in done.stdout


def test_wait_exits_3_on_a_pause_for_a_decision_but_not_at_a_timed_pause_or_with_an_action_pending(
    cluster: Cluster, iso_namespace: str, canaries: CanaryDriver
) -> None:
    spec = dict(SPEC, steps=[{"weight": 10, "duration": "1m"}, {"pause": {"duration": "10m"}},
                             {"weight": 50, "duration": "1m"}])
    canaries.create("held", spec)
    waiting = start_wait(cluster, iso_namespace, "held")
    try:
        canaries.set_status("held", with_status(PROGRESSING, phase="Paused", step=1, pausedReason="PauseStep",
                                                message="paused at step 2/3: resumes by itself after 10m"))
        waiting.expect_line(lambda line: "timed pause" in line, what="the timed pause")
        # A person asked for a pause-breaking action: not final until the controller performed it.
        canaries.annotate("held", {"rudder.dev/action": "resume"})
        canaries.set_status("held", with_status(PROGRESSING, phase="Paused", step=2, weight=50,
                                                pausedReason="Inconclusive", message="analysis Inconclusive"))
        waiting.expect_line(lambda line: "action 'resume' pending" in line, what="the pending action")
        canaries.annotate("held", {"rudder.dev/action": None})
        code, out = waiting.finish()
    finally:
        waiting.stop()
    assert code == 3
    assert "waiting for a decision" in out and "Inconclusive" in out


def test_wait_exits_4_when_the_canary_does_not_exist(cluster: Cluster, iso_namespace: str) -> None:
    code, out, _ = canary(cluster, iso_namespace, "wait", "missing", "--timeout", "5s")
    assert code == 4
    assert "not found" in out


def test_actions_write_one_annotation_and_leave_spec_and_generation_alone(
    cluster: Cluster, iso_namespace: str, canaries: CanaryDriver
) -> None:
    before = canaries.create("manual", SPEC)
    for action in ("pause", "resume", "promote", "abort", "retry"):
        code, out, err = canary(cluster, iso_namespace, action, "manual")
        assert code == 0, err
        assert f"{action} requested" in out
        after = canaries.get("manual")
        assert after["metadata"]["annotations"]["rudder.dev/action"] == action
        assert after["spec"] == before["spec"]
        assert after["metadata"]["generation"] == before["metadata"]["generation"]
    code, _, err = canary(cluster, iso_namespace, "promote", "nobody")
    assert code == 4 and err.strip() == f"error: CanaryRelease {iso_namespace}/nobody not found"


def act_as_controller(canaries: CanaryDriver, name: str, refuse: str | None) -> threading.Thread:
    """In the background: when the annotation appears, do what the controller does with it."""

    def respond() -> None:
        wait_for(lambda: (canaries.get(name)["metadata"].get("annotations") or {}).get("rudder.dev/action"),
                 timeout=30, what="the action annotation")
        if refuse is not None:
            canaries.cluster.core.create_namespaced_event(canaries.namespace, {
                "metadata": {"generateName": f"{name}."},
                "involvedObject": {"apiVersion": "rudder.dev/v1alpha1", "kind": "CanaryRelease", "name": name,
                                   "namespace": canaries.namespace},
                "reason": "ActionIgnored", "message": refuse, "type": "Warning",
                "firstTimestamp": _now(), "lastTimestamp": _now(),
            })
        else:
            canaries.set_status(name, with_status(PROGRESSING, phase="Paused", pausedReason="ManualPause"))
        canaries.annotate(name, {"rudder.dev/action": None})

    thread = threading.Thread(target=respond, daemon=True)
    thread.start()
    return thread


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_action_wait_reports_done_refused_or_timed_out(
    cluster: Cluster, iso_namespace: str, canaries: CanaryDriver
) -> None:
    canaries.create("asked", SPEC)
    helper = act_as_controller(canaries, "asked", refuse=None)
    code, out, err = canary(cluster, iso_namespace, "pause", "asked", "--wait", "--timeout", "40s")
    helper.join(timeout=30)
    assert code == 0, err
    assert "pause done; phase Paused" in out
    helper = act_as_controller(canaries, "asked", refuse="resume: not paused (phase Progressing)")
    code, out, err = canary(cluster, iso_namespace, "resume", "asked", "--wait", "--timeout", "40s")
    helper.join(timeout=30)
    assert code == 1
    assert "refused resume: not paused (phase Progressing)" in err
    code, _, err = canary(cluster, iso_namespace, "abort", "asked", "--wait", "--timeout", "2s")
    assert code == 2 and "has not acted" in err


def test_status_watch_and_report_read_the_live_canary(
    cluster: Cluster, iso_namespace: str, canaries: CanaryDriver, tmp_path: Path
) -> None:
    canaries.create("shown", SPEC)
    canaries.set_status("shown", ROLLED_BACK)
    code, out, err = canary(cluster, iso_namespace, "status", "shown")
    assert code == 0, err
    assert "Phase:          RolledBack (AnalysisFailed)" in out
    assert next(line for line in out.splitlines() if line.startswith("http-error-rate")).split()[1] == "High"
    code, out, _ = canary(cluster, iso_namespace, "watch", "shown")
    assert code == 1 and "RolledBack" in out
    report = tmp_path / "shown.html"
    code, out, err = canary(cluster, iso_namespace, "report", "shown", "-o", str(report))
    assert code == 0, err
    page = report.read_text()
    assert page.count("<svg") == 5  # the weight timeline, then canary-vs-baseline and interval plots per metric
    assert "http-error-rate: canary vs baseline" in page and "http-latency-p99: canary vs baseline" in page
    assert "http-error-rate was High" in page and '<td class="v-High">High</td>' in page
    assert "1.2e-06" in page  # the failing verdict's p-value
