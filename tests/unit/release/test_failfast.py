"""Fail fast: a revision never Ready fails at once, with the pod's reason and message, when an updated pod
reports ImagePullBackOff, ErrImagePull, InvalidImageName, CreateContainerConfigError, or a crash loop with
at least `failFast.crashLoopRestarts` restarts; old pods, fewer restarts, a disabled policy and a revision
that was Ready already do not fail fast; a Failed Deployment (ProgressDeadlineExceeded) fails the revision
as before."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rudder.domain import ContainerProblem, PodStatistics, ResourceHealth, StatusInputs, build_status, pod_statistics
from rudder.domain.failfast import terminal_failure
from rudder.domain.status import Failure
from rudder.health_spec import FailFast
from rudder.models import ObjectRef, ReleasePhase, ResourcePhase

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WEB = ObjectRef("apps/v1", "Deployment", "web")


def pod(reason: str, restarts: int = 0, message: str = "", template: str = "new") -> dict[str, Any]:
    return {"metadata": {"name": f"web-{template}", "labels": {"pod-template-hash": template}},
            "status": {"phase": "Pending", "containerStatuses": [{
                "name": "web", "restartCount": restarts,
                "state": {"waiting": {"reason": reason, "message": message}}}]}}


def stats(*pods: dict[str, Any]) -> PodStatistics:
    return pod_statistics(pods, {"new"})


@pytest.mark.parametrize("reason", ["ImagePullBackOff", "ErrImagePull", "InvalidImageName",
                                    "CreateContainerConfigError"])
def test_terminal_waiting_reasons_fail_at_once_with_the_pods_message(reason: str) -> None:
    failure = terminal_failure(stats(pod(reason, message="it went wrong")), FailFast(), 4)
    assert failure == Failure(reason, f"revision 4 failed fast: pod web-new container web: {reason}: it went wrong")


def test_crash_loop_needs_the_restart_threshold() -> None:
    assert terminal_failure(stats(pod("CrashLoopBackOff", restarts=2)), FailFast(), 1) is None
    failure = terminal_failure(stats(pod("CrashLoopBackOff", restarts=3)), FailFast(), 1)
    assert failure == Failure("CrashLoopBackOff", "revision 1 failed fast: pod web-new container web: "
                                                  "CrashLoopBackOff, 3 restarts")
    assert terminal_failure(stats(pod("CrashLoopBackOff", restarts=3)), FailFast(crash_loop_restarts=5), 1) is None


def test_old_pods_other_reasons_and_a_disabled_policy_do_not_fail_fast() -> None:
    assert terminal_failure(stats(pod("ImagePullBackOff", template="old")), FailFast(), 1) is None
    assert terminal_failure(stats(pod("ContainerCreating")), FailFast(), 1) is None
    assert terminal_failure(stats(pod("ImagePullBackOff")), FailFast(enabled=False), 1) is None


def test_many_problems_are_listed_up_to_three() -> None:
    pods = [{**pod("ErrImagePull"), "metadata": {"name": f"web-{i}", "labels": {"pod-template-hash": "new"}}}
            for i in range(5)]
    failure = terminal_failure(stats(*pods), FailFast(), 1)
    assert failure is not None and failure.message.endswith("(+2 more)")


def inputs(**changes: Any) -> StatusInputs:
    base = StatusInputs(generation=1, now=NOW, revision=2,
                        resources=(ResourceHealth(WEB, ResourcePhase.PROGRESSING, "0 of 1 available"),),
                        revision_started_at=NOW - timedelta(seconds=5), timeout_seconds=1800,
                        terminal=Failure("ImagePullBackOff", "revision 2 failed fast: pod web-1 ..."))
    return replace(base, **changes)


def test_a_revision_never_ready_fails_fast_long_before_its_timeout() -> None:
    status = build_status(inputs(previous={"lastReadyRevision": 1}))
    assert (status.phase, status.reason) == (ReleasePhase.FAILED, "ImagePullBackOff")
    assert status.message == "revision 2 failed fast: pod web-1 ..."


def test_a_revision_that_was_ready_is_not_failed_fast() -> None:
    status = build_status(inputs(previous={"lastReadyRevision": 2}))
    assert (status.phase, status.reason) == (ReleasePhase.PROGRESSING, "Reconciling")


def test_a_failed_deployment_still_fails_the_revision_first() -> None:
    failed = ResourceHealth(WEB, ResourcePhase.FAILED, "progress deadline exceeded: timed out")
    status = build_status(inputs(resources=(failed,)))
    assert (status.phase, status.reason) == (ReleasePhase.FAILED, "ResourceFailed")


def test_container_problem_keeps_the_waiting_message() -> None:
    problem = stats(pod("ErrImagePull", message="manifest unknown")).problems[0]
    assert problem == ContainerProblem("web-new", "web", "ErrImagePull", 0, True, "manifest unknown")
