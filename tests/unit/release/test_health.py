"""Per-kind health judgement, as `kubectl rollout status` would say it: Deployments, StatefulSets,
DaemonSets, Jobs, CronJobs, PVCs, Services and Pods, with Suspended workloads recognised and unknown kinds
Ready once they exist, never Failed."""

from __future__ import annotations

from typing import Any

import pytest

from rudder.domain import SUSPENDED_REPLICAS_ANNOTATION, assess_health
from rudder.domain.objects import ref_of
from rudder.models import ObjectRef, ResourcePhase

P = ResourcePhase


def judge(live: dict[str, Any]) -> tuple[ResourcePhase, str]:
    health = assess_health(ref_of(live), live)
    return health.phase, health.message


def deployment(
    desired: int = 3, generation: int = 2, annotations: dict[str, str] | None = None, **status: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "generation": generation, "annotations": annotations or {}},
        "spec": {"replicas": desired},
        "status": {"observedGeneration": 2, **status},
    }
    return body


def test_missing_object_is_pending() -> None:
    health = assess_health(ObjectRef("v1", "Service", "web"), None)
    assert (health.phase, health.message) == (P.PENDING, "not found")
    assert health.to_dict() == {
        "apiVersion": "v1",
        "kind": "Service",
        "name": "web",
        "phase": "Pending",
        "message": "not found",
    }


def test_deleting_object_is_progressing() -> None:
    live = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "deletionTimestamp": "now"}}
    assert judge(live) == (P.PROGRESSING, "being deleted")


class TestDeployment:
    def test_complete_rollout_is_ready(self) -> None:
        assert judge(deployment(updatedReplicas=3, replicas=3, availableReplicas=3)) == (
            P.READY,
            "3/3 replicas available",
        )

    @pytest.mark.parametrize(
        ("status", "message"),
        [
            ({"updatedReplicas": 1, "replicas": 3, "availableReplicas": 3}, "1 of 3 replicas updated"),
            (
                {"updatedReplicas": 3, "replicas": 4, "availableReplicas": 3},
                "1 old replicas pending termination",
            ),
            (
                {"updatedReplicas": 3, "replicas": 3, "availableReplicas": 2},
                "2 of 3 updated replicas available",
            ),
        ],
    )
    def test_rollout_in_progress(self, status: dict[str, int], message: str) -> None:
        assert judge(deployment(**status)) == (P.PROGRESSING, message)

    def test_unobserved_generation_is_progressing(self) -> None:
        phase, message = judge(deployment(generation=3, updatedReplicas=3, replicas=3, availableReplicas=3))
        assert phase is P.PROGRESSING
        assert "generation 3" in message

    def test_progress_deadline_exceeded_is_failed(self) -> None:
        live = deployment(
            updatedReplicas=1,
            conditions=[
                {
                    "type": "Progressing",
                    "status": "False",
                    "reason": "ProgressDeadlineExceeded",
                    "message": 'ReplicaSet "web-1" has timed out progressing.',
                }
            ],
        )
        assert judge(live) == (
            P.FAILED,
            'progress deadline exceeded: ReplicaSet "web-1" has timed out progressing.',
        )

    def test_suspended_by_rudder_is_suspended_but_plain_zero_is_ready(self) -> None:
        suspended = deployment(desired=0, annotations={SUSPENDED_REPLICAS_ANNOTATION: "3"})
        assert judge(suspended) == (P.SUSPENDED, "suspended (resumes to 3 replicas)")
        assert judge(deployment(desired=0))[0] is P.READY

    def test_paused_rollout_is_progressing(self) -> None:
        live = deployment(updatedReplicas=3, replicas=3, availableReplicas=3)
        live["spec"]["paused"] = True
        assert judge(live) == (P.PROGRESSING, "rollout is paused")


def statefulset(**status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "generation": 1},
        "spec": {"replicas": 3, "updateStrategy": {"type": "RollingUpdate"}},
        "status": {"observedGeneration": 1, **status},
    }


class TestStatefulSet:
    def test_ready_when_all_ready_and_updated(self) -> None:
        live = statefulset(readyReplicas=3, updatedReplicas=3, currentRevision="db-1", updateRevision="db-1")
        assert judge(live) == (P.READY, "3/3 replicas ready")

    def test_waits_for_ready_replicas_then_for_the_update(self) -> None:
        assert judge(statefulset(readyReplicas=1)) == (P.PROGRESSING, "1 of 3 replicas ready")
        assert judge(statefulset(readyReplicas=3, updatedReplicas=2)) == (
            P.PROGRESSING,
            "2 of 3 replicas updated",
        )
        rolling = statefulset(
            readyReplicas=3, updatedReplicas=3, currentRevision="db-1", updateRevision="db-2"
        )
        assert judge(rolling) == (P.PROGRESSING, "waiting for revision db-2 to become current")

    def test_partition_limits_what_must_be_updated(self) -> None:
        live = statefulset(readyReplicas=3, updatedReplicas=1, currentRevision="db-1", updateRevision="db-2")
        live["spec"]["updateStrategy"]["rollingUpdate"] = {"partition": 2}
        assert judge(live)[0] is P.READY

    def test_on_delete_strategy_only_needs_ready_replicas(self) -> None:
        live = statefulset(readyReplicas=3, updatedReplicas=0)
        live["spec"]["updateStrategy"] = {"type": "OnDelete"}
        assert judge(live)[0] is P.READY


def test_daemonset() -> None:
    live: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "generation": 1},
        "status": {
            "observedGeneration": 1,
            "desiredNumberScheduled": 3,
            "updatedNumberScheduled": 2,
            "numberAvailable": 3,
        },
    }
    assert judge(live) == (P.PROGRESSING, "2 of 3 pods updated")
    live["status"]["updatedNumberScheduled"] = 3
    assert judge(live) == (P.READY, "3/3 pods available")
    live["status"]["numberAvailable"] = 1
    assert judge(live) == (P.PROGRESSING, "1 of 3 pods available")


def job(spec: dict[str, Any] | None = None, **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate"},
        "spec": spec or {},
        "status": status,
    }


def test_job_conditions() -> None:
    assert judge(job(conditions=[{"type": "Complete", "status": "True"}])) == (P.READY, "completed")
    failed = job(
        conditions=[
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "too many"}
        ]
    )
    assert judge(failed) == (P.FAILED, "BackoffLimitExceeded: too many")
    assert judge(job(active=1, succeeded=0)) == (P.PROGRESSING, "1 active, 0 of 1 succeeded")
    assert judge(job({"suspend": True})) == (P.SUSPENDED, "suspended")


def test_cronjob() -> None:
    cron: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "c"},
        "spec": {"suspend": True},
    }
    assert judge(cron) == (P.SUSPENDED, "suspended")
    cron["spec"]["suspend"] = False
    assert judge(cron)[0] is P.READY


@pytest.mark.parametrize(
    ("phase", "expected"), [("Bound", P.READY), ("Pending", P.PENDING), ("Lost", P.FAILED), (None, P.PENDING)]
)
def test_pvc(phase: str | None, expected: ResourcePhase) -> None:
    live = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "status": {"phase": phase},
    }
    assert judge(live)[0] is expected


def test_services() -> None:
    cluster_ip = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"type": "ClusterIP"},
    }
    assert judge(cluster_ip)[0] is P.READY
    lb: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"type": "LoadBalancer"},
    }
    assert judge(lb) == (P.PROGRESSING, "waiting for a load balancer address")
    lb["status"] = {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}}
    assert judge(lb)[0] is P.READY


def test_pods() -> None:
    def pod(status: dict[str, Any]) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "status": status}

    assert judge(pod({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}))[0] is P.READY
    assert judge(pod({"phase": "Succeeded"}))[0] is P.READY
    assert judge(pod({"phase": "Failed", "reason": "Evicted"})) == (P.FAILED, "Evicted")
    crashing = pod(
        {
            "phase": "Running",
            "containerStatuses": [{"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}],
        }
    )
    assert judge(crashing) == (P.PROGRESSING, "container app is waiting: CrashLoopBackOff")


def test_unknown_kinds_are_ready_once_they_exist_and_never_failed() -> None:
    widget: dict[str, Any] = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert judge(widget) == (P.READY, "")
    widget["status"] = {
        "conditions": [{"type": "Ready", "status": "False", "reason": "Broken", "message": "it broke"}]
    }
    assert judge(widget) == (P.PROGRESSING, "it broke")
    widget["status"]["conditions"] = [{"type": "Failed", "status": "True"}]
    assert judge(widget)[0] is P.READY


def test_kinds_are_matched_with_their_group() -> None:
    custom = {
        "apiVersion": "example.com/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"replicas": 9},
    }
    assert judge(custom)[0] is P.READY, "a CRD named Deployment is not judged as apps/v1 Deployment"
