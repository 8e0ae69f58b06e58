"""Release status from resource health, revision state and deadline: phase precedence, conditions with
reasons, lastTransitionTime kept while a condition's status is unchanged (so an unchanged reconcile writes
nothing), ready counts, lastReadyRevision, and the atomic rollback target."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from rudder.domain import (
    ContainerProblem,
    Failure,
    PodStatistics,
    ResourceHealth,
    StatusInputs,
    atomic_rollback_target,
    build_status,
)
from rudder.models import ObjectRef, ReleasePhase, ResourcePhase

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WEB = ObjectRef("apps/v1", "Deployment", "web")
SVC = ObjectRef("v1", "Service", "web")
READY = (ResourceHealth(WEB, ResourcePhase.READY, "3/3"), ResourceHealth(SVC, ResourcePhase.READY))
ROLLING = (ResourceHealth(WEB, ResourcePhase.PROGRESSING, "1 of 3 replicas updated"), READY[1])
CRASH = PodStatistics(
    updated={"CrashLoopBackOff": 1}, problems=(ContainerProblem("web-1", "app", "CrashLoopBackOff", 6, True),)
)


def inputs(**changes: object) -> StatusInputs:
    base = StatusInputs(
        generation=5,
        now=NOW,
        revision=2,
        resources=READY,
        revision_started_at=NOW - timedelta(minutes=1),
        timeout_seconds=300,
        content_digest="sha256:x",
        notes="hello",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def conditions(status: dict[str, object]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}  # type: ignore[index, union-attr]


def test_all_ready_is_ready() -> None:
    status = build_status(inputs())
    body = status.to_dict()
    assert status.phase is ReleasePhase.READY
    assert body["ready"] == "2/2"
    assert body["lastReadyRevision"] == 2
    assert body["observedGeneration"] == 5
    assert (body["revision"], body["contentDigest"], body["notes"]) == (2, "sha256:x", "hello")
    assert conditions(body) == {
        "Ready": ("True", "AllResourcesReady"),
        "Progressing": ("False", "AllResourcesReady"),
        "Failed": ("False", "AllResourcesReady"),
    }
    assert all(c["observedGeneration"] == 5 for c in body["conditions"])


def test_rollout_in_progress_lists_what_it_waits_for() -> None:
    status = build_status(inputs(resources=ROLLING))
    assert status.phase is ReleasePhase.PROGRESSING
    assert status.message == "waiting for: Deployment/web: 1 of 3 replicas updated"
    assert status.ready_count == "1/2"


def test_deadline_passed_before_ready_is_failed() -> None:
    late = inputs(resources=ROLLING, revision_started_at=NOW - timedelta(minutes=6))
    status = build_status(late)
    assert (status.phase, status.reason) == (ReleasePhase.FAILED, "ProgressDeadlineExceeded")
    assert "not ready within 300s" in status.message


def test_deadline_start_is_carried_over_from_the_previous_status() -> None:
    started = (NOW - timedelta(minutes=10)).isoformat().replace("+00:00", "Z")
    status = build_status(
        inputs(resources=ROLLING, revision_started_at=None, previous={"revisionStartedAt": started})
    )
    assert status.reason == "ProgressDeadlineExceeded"
    assert status.revision_started_at == started


def test_failed_resource_is_failed() -> None:
    failed = (ResourceHealth(WEB, ResourcePhase.FAILED, "progress deadline exceeded"), READY[1])
    status = build_status(inputs(resources=failed))
    assert (status.phase, status.reason) == (ReleasePhase.FAILED, "ResourceFailed")
    assert status.message == "Deployment/web: progress deadline exceeded"


def test_precedence_failure_then_dependencies_then_suspension() -> None:
    failure = Failure("RenderFailed", "deployment.yaml:3: values.image is undefined")
    everything = inputs(
        failure=failure, waiting_for="waiting for Release mysql (Progressing)", suspended=True
    )
    assert (build_status(everything).phase, build_status(everything).reason) == (
        ReleasePhase.FAILED,
        "RenderFailed",
    )
    waiting = build_status(replace(everything, failure=None))
    assert (waiting.phase, waiting.reason) == (ReleasePhase.PENDING, "DependenciesNotReady")
    suspended = build_status(replace(everything, failure=None, waiting_for=None))
    assert suspended.phase is ReleasePhase.SUSPENDED
    assert build_status(inputs(revision=None)).phase is ReleasePhase.PENDING


def test_crash_during_rollout_is_progressing_with_the_crash_named() -> None:
    status = build_status(inputs(pods=CRASH))
    assert status.phase is ReleasePhase.PROGRESSING
    assert "web-1 container app: CrashLoopBackOff" in status.message


def test_crash_after_the_revision_was_ready_is_failed() -> None:
    status = build_status(inputs(pods=CRASH, previous={"lastReadyRevision": 2}))
    assert (status.phase, status.reason) == (ReleasePhase.FAILED, "CrashLoopBackOff")
    assert status.last_ready_revision == 2


def test_degradation_after_ready_is_reconciling_not_a_deadline_failure() -> None:
    late = inputs(
        resources=ROLLING, revision_started_at=NOW - timedelta(hours=2), previous={"lastReadyRevision": 2}
    )
    status = build_status(late)
    assert (status.phase, status.reason) == (ReleasePhase.PROGRESSING, "Reconciling")


def test_transition_times_only_move_when_a_condition_flips() -> None:
    first = build_status(inputs(resources=ROLLING)).to_dict()
    later = NOW + timedelta(seconds=30)
    same = build_status(inputs(resources=ROLLING, now=later, previous=first)).to_dict()
    assert same == first, "an unchanged reconcile produces an identical status"
    ready = build_status(inputs(now=later, previous=first)).to_dict()
    times = {c["type"]: c["lastTransitionTime"] for c in ready["conditions"]}
    assert times["Ready"] == "2026-03-01T12:00:30Z"
    assert times["Progressing"] == "2026-03-01T12:00:30Z"
    assert times["Failed"] == "2026-03-01T12:00:00Z", "Failed stayed False"


def test_atomic_rollback_targets_the_last_ready_revision() -> None:
    failed = build_status(
        inputs(
            revision=3,
            resources=ROLLING,
            revision_started_at=NOW - timedelta(hours=1),
            previous={"lastReadyRevision": 2},
        )
    )
    assert failed.phase is ReleasePhase.FAILED
    assert atomic_rollback_target(True, failed) == 2
    assert atomic_rollback_target(False, failed) is None
    assert atomic_rollback_target(True, failed, applied=False) is None
    assert atomic_rollback_target(True, build_status(inputs())) is None
    never_ready = build_status(inputs(resources=ROLLING, revision_started_at=NOW - timedelta(hours=1)))
    assert atomic_rollback_target(True, never_ready) is None
