"""`rudder wait` decides what became of one revision from the Release's status and its ReleaseHistory objects:
0 Ready, 1 Failed (also a generation the controller refused before making a revision: invalid spec, render
error), 3 suspended, 4 a revision whose history is gone, 5 rolled back after failing (`atomic`), 6 superseded
by a newer revision or a rollback before it became Ready; 2 when the time is up. It never ends on a state
about to change: before the controller acted on the awaited generation, while `atomic` is about to roll
back, while `spec.rollbackTo` is pending, or between a revision's history and its status. The exit codes
and the command line's usage errors (exit 4, never 2) are pinned here too."""

from __future__ import annotations

from typing import Any

import pytest

from rudder.cli.main import main
from rudder.cli.progress import Finished, Waiting
from rudder.cli.wait import Follower
from rudder.cli.wait_outcome import Awaited, WaitCode, decide
from rudder.domain.revision_origin import GENERATION_ANNOTATION, history_generation, with_generation
from rudder.kube.client import KubeError


def release(generation: int, *, observed: int | None, phase: str = "", revision: int | None = None,
            reason: str = "", message: str = "", last_ready: int | None = None, **spec: Any) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase, "message": message}
    if observed is not None:
        status["observedGeneration"] = observed
    if revision is not None:
        status["revision"] = revision
    if last_ready is not None:
        status["lastReadyRevision"] = last_ready
    if reason:
        status["conditions"] = [{"type": "Failed", "status": "True", "reason": reason, "message": message}]
    return {"metadata": {"name": "shop", "namespace": "prod", "uid": "u1", "generation": generation},
            "spec": {"chart": {}, **spec}, "status": status}


def history(revision: int, generation: int | None, phase: str = "Deployed", *, ready: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": {"name": f"shop-v{revision}"}, "spec": {"revision": revision},
                            "status": {"phase": phase, "ready": ready}}
    return with_generation(body, generation) if generation is not None else body


def code(rel: dict[str, Any], histories: list[dict[str, Any]], **awaited: int) -> WaitCode | None:
    return decide(rel, histories, Awaited(**awaited)).code


V1_READY = history(1, 1, ready=True)


def test_exit_codes_are_the_documented_ones() -> None:
    assert {c.name: int(c) for c in WaitCode} == {
        "READY": 0, "FAILED": 1, "TIMEOUT": 2, "SUSPENDED": 3, "ERROR": 4, "ROLLED_BACK": 5, "SUPERSEDED": 6}


def test_generation_is_recorded_on_the_history_and_read_back() -> None:
    body = with_generation({"metadata": {"annotations": {"a": "b"}}, "spec": {}}, 7)
    assert body["metadata"]["annotations"] == {"a": "b", GENERATION_ANNOTATION: "7"}
    assert history_generation(body) == 7
    for junk in ("", "0", "-3", "x", "٣"):
        assert history_generation({"metadata": {"annotations": {GENERATION_ANNOTATION: junk}}}) is None


def test_generation_waits_for_the_controller_then_follows_its_revision_to_ready() -> None:
    # Generation 2 written, the controller has not acted on it yet: revision 1 being Ready is not the answer.
    assert code(release(2, observed=1, phase="Ready", revision=1), [V1_READY], generation=2) is None
    # Revision 2 made for generation 2, progressing.
    progressing = release(2, observed=2, phase="Progressing", revision=2, message="waiting for: Deployment/web")
    reading = decide(progressing, [V1_READY, history(2, 2)], Awaited(generation=2))
    assert reading.code is None and "Progressing at revision 2" in reading.text
    ready = release(2, observed=2, phase="Ready", revision=2)
    assert code(ready, [V1_READY, history(2, 2)], generation=2) is WaitCode.READY
    assert code(ready, [V1_READY, history(2, 2)], revision=2) is WaitCode.READY


def test_a_generation_not_written_yet_is_awaited() -> None:
    reading = decide(release(1, observed=1, phase="Ready", revision=1), [V1_READY], Awaited(generation=3))
    assert reading.code is None and "not written yet" in reading.text


def test_a_refused_generation_fails_with_the_controllers_message() -> None:
    invalid = release(2, observed=2, phase="Failed", revision=1, reason="InvalidSpec",
                      message="spec.timeout: not a duration")
    reading = decide(invalid, [V1_READY], Awaited(generation=2))
    assert reading.code is WaitCode.FAILED
    assert "generation 2 made no revision" in reading.text
    assert "InvalidSpec: spec.timeout: not a duration" in reading.text
    # Awaited by the revision it would have made: that revision will not come.
    reading = decide(invalid, [V1_READY], Awaited(revision=2))
    assert reading.code is WaitCode.FAILED and "revision 2 was not made" in reading.text
    # A first install whose chart does not render: nothing was ever deployed.
    render = release(1, observed=1, phase="Failed", reason="RenderFailed", message="templates/a.yaml:3: boom")
    assert code(render, [], generation=1) is WaitCode.FAILED


def test_a_generation_that_changes_no_content_awaits_the_running_revision() -> None:
    # Generation 3 only changed `timeout`: no new revision; revision 2 (from generation 2) is what runs it.
    assert code(release(3, observed=3, phase="Ready", revision=2), [V1_READY, history(2, 2, ready=True)],
                generation=3) is WaitCode.READY
    assert code(release(3, observed=3, phase="Progressing", revision=2), [V1_READY, history(2, 2)],
                generation=3) is None


def test_dependencies_pending_is_not_the_running_revisions_outcome() -> None:
    pending = release(2, observed=2, phase="Pending", revision=1, message="waiting for Release db")
    assert code(pending, [V1_READY], generation=2) is None


def test_failed_at_the_awaited_revision() -> None:
    failed = release(2, observed=2, phase="Failed", revision=2, reason="ProgressDeadlineExceeded",
                     message="revision 2 not ready within 8s", last_ready=1)
    reading = decide(failed, [V1_READY, history(2, 2, "Failed")], Awaited(revision=2))
    assert reading.code is WaitCode.FAILED and "ProgressDeadlineExceeded" in reading.text
    # Seen later, after a newer revision replaced it: it still failed.
    later = release(3, observed=3, phase="Ready", revision=3)
    assert code(later, [V1_READY, history(2, 2, "Failed"), history(3, 3, ready=True)],
                revision=2) is WaitCode.FAILED


def test_atomic_rollback_is_awaited_then_reported_as_rolled_back() -> None:
    missed = release(2, observed=2, phase="Failed", revision=2, reason="ProgressDeadlineExceeded",
                     message="revision 2 not ready within 8s", last_ready=1, atomic=True)
    # The deadline passed; the same reconcile rolls back next: not final yet.
    reading = decide(missed, [V1_READY, history(2, 2)], Awaited(revision=2))
    assert reading.code is None and "rollback to revision 1" in reading.text
    # The rollback marked revision 2 Failed and made revision 1 current again (the spec patch: generation 3).
    back = release(3, observed=2, phase="Progressing", revision=1, last_ready=1, atomic=True)
    histories = [history(1, 1, ready=True), history(2, 2, "Failed")]
    for awaited in ({"revision": 2}, {"generation": 2}):
        reading = decide(back, histories, Awaited(**awaited))
        assert reading.code is WaitCode.ROLLED_BACK
        assert reading.text == "revision 2 failed and revision 1 was made current again"
    # Between the history update and the status write: still waiting, never Failed.
    assert code(missed, histories, revision=2) is None
    # A rollback that cannot happen (the target's history is corrupt) is Failed with that reason.
    stuck = release(2, observed=2, phase="Failed", revision=2, reason="HistoryCorrupt", message="revision 1: bad",
                    last_ready=1, atomic=True)
    assert code(stuck, [V1_READY, history(2, 2)], revision=2) is WaitCode.FAILED


def test_remediation_retries_are_awaited_and_its_outcome_is_final() -> None:
    policy = {"upgrade": {"remediation": {"retries": 2, "strategy": "rollback"}}}
    missed = release(2, observed=2, phase="Failed", revision=2, reason="ProgressDeadlineExceeded",
                     message="revision 2 not ready within 8s", last_ready=1, **policy)
    histories = [V1_READY, history(2, 2, "Failed")]
    # Before the controller counted the failure, and while a retry is scheduled: not final.
    assert code(missed, histories, revision=2) is None
    missed["status"]["remediation"] = {"upgradeFailures": 1, "nextRetryAt": "2026-01-01T00:00:10Z"}
    assert code(missed, histories, revision=2) is None
    # Retries used up and the final action recorded as none (remediateLastFailure false): Failed, final.
    missed["spec"]["upgrade"]["remediation"]["remediateLastFailure"] = False
    missed["status"]["remediation"] = {"upgradeFailures": 3, "remediated": "none"}
    assert code(missed, histories, revision=2) is WaitCode.FAILED
    # Without any policy a missed deadline is final at once, as before remediation existed.
    plain = release(2, observed=2, phase="Failed", revision=2, reason="ProgressDeadlineExceeded", last_ready=1)
    assert code(plain, histories, revision=2) is WaitCode.FAILED


def test_superseded_before_ready() -> None:
    # Revision 2 (never Ready) replaced by revision 3 made for generation 3.
    histories = [V1_READY, history(2, 2, "Superseded"), history(3, 3)]
    now = release(3, observed=3, phase="Progressing", revision=3)
    reading = decide(now, histories, Awaited(revision=2))
    assert reading.code is WaitCode.SUPERSEDED
    assert reading.text == "revision 2 was replaced by revision 3 before it became Ready"
    assert code(now, histories, generation=2) is WaitCode.SUPERSEDED
    # A manual rollback to revision 1 while revision 2 was progressing.
    rolled = release(4, observed=3, phase="Progressing", revision=1)
    reading = decide(rolled, [history(1, 1, "Deployed", ready=True), history(2, 2, "Superseded")],
                     Awaited(revision=2))
    assert reading.code is WaitCode.SUPERSEDED and "a rollback to revision 1" in reading.text
    # Generation 2 replaced by generation 3 before the controller made anything of it.
    assert code(now, [V1_READY, history(3, 3)], generation=2) is WaitCode.SUPERSEDED


def test_ready_then_replaced_is_still_ready() -> None:
    histories = [V1_READY, history(2, 2, "Superseded", ready=True), history(3, 3)]
    reading = decide(release(3, observed=3, phase="Progressing", revision=3), histories, Awaited(revision=2))
    assert reading.code is WaitCode.READY and "became Ready" in reading.text


def test_a_revision_between_its_history_and_its_status_is_awaited() -> None:
    # History 2 written (and made Deployed), status still names revision 1.
    before = release(2, observed=1, phase="Ready", revision=1)
    assert code(before, [history(1, 1, "Superseded", ready=True), history(2, 2)], revision=2) is None
    assert code(before, [history(1, 1, "Deployed", ready=True), history(2, 2, "")], generation=2) is None


def test_a_pending_rollback_is_not_final() -> None:
    pending = release(3, observed=2, phase="Ready", revision=2, rollbackTo={"revision": 1})
    assert code(pending, [V1_READY, history(2, 2, ready=True)], revision=2) is None


def test_suspended_needs_a_person() -> None:
    suspended = release(2, observed=2, phase="Suspended", revision=1, suspend=True)
    assert code(suspended, [V1_READY], generation=2) is WaitCode.SUSPENDED
    assert code(suspended, [V1_READY], revision=1) is WaitCode.SUSPENDED
    # Suspended before the first install: the controller reports Failed/Suspended; still a person's move.
    before = release(1, observed=1, phase="Failed", reason="Suspended", message="suspended before the first install")
    assert code(before, [], generation=1) is WaitCode.SUSPENDED
    assert code(before, [], revision=1) is WaitCode.SUSPENDED


def test_a_pruned_revision_cannot_be_followed() -> None:
    reading = decide(release(5, observed=5, phase="Ready", revision=5), [history(4, 4), history(5, 5)],
                     Awaited(revision=2))
    assert reading.code is WaitCode.ERROR and "revisions: 4, 5" in reading.text


def test_a_newer_spec_failing_keeps_the_running_revision_failed_with_its_message() -> None:
    stuck = release(3, observed=3, phase="Failed", revision=2, reason="RenderFailed", message="boom")
    reading = decide(stuck, [V1_READY, history(2, 2)], Awaited(revision=2))
    assert reading.code is WaitCode.FAILED and "newer spec (generation 3) failed: RenderFailed: boom" in reading.text


def test_histories_without_a_generation_are_followed_by_revision() -> None:
    old = [history(1, None, ready=True)]
    assert code(release(1, observed=1, phase="Ready", revision=1), old, revision=1) is WaitCode.READY
    # Made before generations were recorded: generation 1 made no revision known as its own; the running
    # one answers once the controller has acted on it.
    assert code(release(1, observed=1, phase="Ready", revision=1), old, generation=1) is WaitCode.READY


class FakeKube:
    """Answers the follower's two reads from a script (no cluster: this pins the retry rule only)."""

    def __init__(self, script: list[Any]) -> None:
        self.script = script

    def get(self, ref: Any) -> Any:
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def list_objects(self, *args: Any) -> list[dict[str, Any]]:
        return []


def test_follower_retries_transient_read_errors_and_stops_on_deletion_or_recreation() -> None:
    first = release(1, observed=1, phase="Ready", revision=1)
    recreated = {**first, "metadata": {**first["metadata"], "uid": "u2"}}
    kube = FakeKube([KubeError(503, "Unavailable", "apiserver restarting"), None, recreated])
    follower = Follower(kube, first, Awaited(revision=1))  # type: ignore[arg-type]
    assert follower.check() == Waiting("cannot read it: apiserver restarting")
    for _ in range(2):
        outcome = follower.check()
        assert isinstance(outcome, Finished) and outcome.value.code is WaitCode.ERROR
    forbidden = Follower(FakeKube([KubeError(403, "Forbidden", "no")]), first, Awaited(revision=1))  # type: ignore[arg-type]
    with pytest.raises(KubeError):
        forbidden.check()


@pytest.mark.parametrize("argv", [
    ["wait", "shop"],  # no --revision / --generation / --for-current
    ["wait", "shop", "--revision", "2", "--generation", "3"],
    ["wait", "shop", "--revision", "two"],
    ["wait", "Bad_Name", "--revision", "2"],
    ["wait", "shop", "--revision", "0"],
    ["wait", "shop", "--revision", "1", "--timeout", "soon"],
])
def test_usage_errors_exit_4_never_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        status = main(argv)
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    assert status == 4
    assert "Traceback" not in capsys.readouterr().err
