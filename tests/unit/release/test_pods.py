"""podStatistics: pods counted by phase into the current template (`updated`) and older ones (`old`), with
crash-looping and stuck containers counted under their reason so a crash after rollout is visible."""

from __future__ import annotations

from typing import Any

from rudder.domain import current_template_hashes, pod_statistics


def pod(
    name: str,
    template_hash: str | None = "new",
    phase: str = "Running",
    statuses: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    labels = {"pod-template-hash": template_hash} if template_hash else {}
    return {
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "status": {"phase": phase, "containerStatuses": statuses or []},
    }


def test_pods_split_by_template_hash_and_counted_by_phase() -> None:
    stats = pod_statistics(
        [pod("a"), pod("b"), pod("c", phase="Pending"), pod("d", "old"), pod("bare", None)], {"new"}
    )
    assert stats.to_dict() == {"updated": {"Pending": 1, "Running": 3}, "old": {"Running": 1}}
    assert stats.problems == ()


def test_crash_loop_is_counted_and_reported() -> None:
    crashing = {"name": "app", "restartCount": 5, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
    stats = pod_statistics([pod("a", statuses=[crashing]), pod("b")], {"new"})
    assert stats.updated == {"CrashLoopBackOff": 1, "Running": 1}
    assert [str(p) for p in stats.problems] == ["pod a container app: CrashLoopBackOff, 5 restarts"]
    assert stats.problems[0].updated


def test_crash_between_backoffs_is_recognised_from_restarts() -> None:
    flapping = {
        "name": "app",
        "restartCount": 4,
        "ready": False,
        "state": {"running": {}},
        "lastState": {"terminated": {"reason": "Error"}},
    }
    recovered = {**flapping, "ready": True}
    stats = pod_statistics([pod("a", statuses=[flapping]), pod("b", statuses=[recovered])], {"new"})
    assert [p.reason for p in stats.problems] == ["CrashLoopBackOff (Error)"]
    assert stats.updated == {"CrashLoopBackOff": 1, "Running": 1}


def test_stuck_images_and_init_containers_count_too() -> None:
    stuck = pod("a", "old", phase="Pending")
    stuck["status"]["initContainerStatuses"] = [
        {"name": "init", "state": {"waiting": {"reason": "ImagePullBackOff"}}}
    ]
    stats = pod_statistics([stuck], {"new"})
    assert stats.old == {"ImagePullBackOff": 1}
    assert not stats.problems[0].updated


def test_terminating_pods_are_counted_apart() -> None:
    leaving = pod("a", "old")
    leaving["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert pod_statistics([leaving], {"new"}).old == {"Terminating": 1}


def test_current_hashes_of_deployments_statefulsets_and_daemonsets() -> None:
    deployment = {
        "kind": "Deployment",
        "metadata": {"uid": "d", "annotations": {"deployment.kubernetes.io/revision": "3"}},
    }
    replica_sets = [
        {
            "metadata": {
                "ownerReferences": [{"uid": "d"}],
                "annotations": {"deployment.kubernetes.io/revision": "2"},
                "labels": {"pod-template-hash": "old"},
            }
        },
        {
            "metadata": {
                "ownerReferences": [{"uid": "d"}],
                "annotations": {"deployment.kubernetes.io/revision": "3"},
                "labels": {"pod-template-hash": "new"},
            }
        },
        {
            "metadata": {
                "ownerReferences": [{"uid": "other"}],
                "annotations": {"deployment.kubernetes.io/revision": "3"},
                "labels": {"pod-template-hash": "foreign"},
            }
        },
    ]
    statefulset = {"kind": "StatefulSet", "metadata": {"uid": "s"}, "status": {"updateRevision": "db-7f9"}}
    daemonset = {"kind": "DaemonSet", "metadata": {"uid": "ds"}}
    revisions = [
        {
            "metadata": {"ownerReferences": [{"uid": "ds"}], "labels": {"controller-revision-hash": "aaa"}},
            "revision": 1,
        },
        {
            "metadata": {"ownerReferences": [{"uid": "ds"}], "labels": {"controller-revision-hash": "bbb"}},
            "revision": 2,
        },
    ]
    hashes = current_template_hashes([deployment, statefulset, daemonset], replica_sets, revisions)
    assert hashes == frozenset({"new", "db-7f9", "bbb"})
