"""kstatus-compatible readiness: custom resources by their standard conditions (Stalled is Failed,
Reconciling or a Ready condition not True is Progressing, an unobserved generation is Progressing), and the
built-in kinds the workload rules did not cover (ReplicaSet, PodDisruptionBudget, CustomResourceDefinition)."""

from __future__ import annotations

from typing import Any

import pytest

from rudder.domain import assess_health
from rudder.domain.objects import ref_of
from rudder.models import ResourcePhase

P = ResourcePhase


def judge(live: dict[str, Any]) -> tuple[ResourcePhase, str]:
    health = assess_health(ref_of(live), live)
    return health.phase, health.message


def widget(generation: int = 1, observed: int | None = 1, *conditions: dict[str, str]) -> dict[str, Any]:
    status: dict[str, Any] = {"conditions": list(conditions)}
    if observed is not None:
        status["observedGeneration"] = observed
    return {"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "generation": generation}, "status": status}


class TestStandardConditions:
    def test_no_conditions_is_ready(self) -> None:
        assert judge(widget()) == (P.READY, "")

    def test_stalled_is_failed_with_its_reason_and_message(self) -> None:
        live = widget(1, 1, {"type": "Stalled", "status": "True", "reason": "QuotaExceeded", "message": "no room"})
        assert judge(live) == (P.FAILED, "QuotaExceeded: no room")

    def test_reconciling_is_progressing(self) -> None:
        live = widget(1, 1, {"type": "Reconciling", "status": "True", "reason": "Scaling"})
        assert judge(live) == (P.PROGRESSING, "Scaling")

    def test_false_standard_conditions_say_nothing(self) -> None:
        live = widget(1, 1, {"type": "Stalled", "status": "False"}, {"type": "Reconciling", "status": "False"})
        assert judge(live) == (P.READY, "")

    def test_stalled_wins_over_reconciling_and_ready(self) -> None:
        live = widget(1, 1, {"type": "Reconciling", "status": "True"}, {"type": "Stalled", "status": "True"},
                      {"type": "Ready", "status": "True"})
        assert judge(live) == (P.FAILED, "stalled")

    @pytest.mark.parametrize("status", ["False", "Unknown"])
    def test_ready_not_true_is_progressing(self, status: str) -> None:
        assert judge(widget(1, 1, {"type": "Ready", "status": status}))[0] is P.PROGRESSING

    def test_unobserved_generation_comes_first(self) -> None:
        live = widget(3, 2, {"type": "Ready", "status": "True"})
        assert judge(live) == (P.PROGRESSING, "waiting for the controller to observe generation 3")

    def test_no_observed_generation_is_not_waited_for(self) -> None:
        assert judge(widget(5, None, {"type": "Ready", "status": "True"}))[0] is P.READY


def replicaset(desired: int = 2, **status: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs", "generation": 1},
            "spec": {"replicas": desired}, "status": {"observedGeneration": 1, **status}}


class TestReplicaSet:
    def test_ready_when_every_replica_is_labelled_ready_and_available(self) -> None:
        live = replicaset(replicas=2, fullyLabeledReplicas=2, readyReplicas=2, availableReplicas=2)
        assert judge(live) == (P.READY, "2/2 replicas available")

    @pytest.mark.parametrize(("status", "message"), [
        ({"fullyLabeledReplicas": 1}, "1 of 2 replicas labelled"),
        ({"fullyLabeledReplicas": 2, "readyReplicas": 1}, "1 of 2 replicas ready"),
        ({"fullyLabeledReplicas": 2, "readyReplicas": 2, "availableReplicas": 0}, "0 of 2 replicas available"),
        ({"fullyLabeledReplicas": 2, "readyReplicas": 2, "availableReplicas": 2, "replicas": 3},
         "1 extra replicas pending termination"),
    ])
    def test_in_progress(self, status: dict[str, int], message: str) -> None:
        assert judge(replicaset(**status)) == (P.PROGRESSING, message)

    def test_replica_failure_is_reported_while_waiting(self) -> None:
        failure = {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": "quota"}
        assert judge(replicaset(conditions=[failure])) == (
            P.PROGRESSING, "0 of 2 replicas labelled (FailedCreate: quota)")


def test_pdb_waits_for_the_desired_healthy_pods() -> None:
    pdb: dict[str, Any] = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p"},
                           "status": {"currentHealthy": 1, "desiredHealthy": 2}}
    assert judge(pdb) == (P.PROGRESSING, "1 of 2 pods healthy")
    pdb["status"]["currentHealthy"] = 2
    assert judge(pdb) == (P.READY, "2/2 pods healthy")


def test_crd_is_ready_when_established_and_failed_when_its_names_conflict() -> None:
    crd: dict[str, Any] = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                           "metadata": {"name": "widgets.example.com"}, "status": {"conditions": []}}
    assert judge(crd) == (P.PROGRESSING, "waiting to be established")
    crd["status"]["conditions"] = [{"type": "Established", "status": "True"}]
    assert judge(crd) == (P.READY, "established")
    crd["status"]["conditions"] = [{"type": "NamesAccepted", "status": "False", "reason": "NameConflict",
                                    "message": "plural taken"}]
    assert judge(crd) == (P.FAILED, "NameConflict: plural taken")


def test_an_unschedulable_pod_says_why() -> None:
    live = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "status": {
        "phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                            "message": "0/3 nodes are available"}]}}
    assert judge(live) == (P.PROGRESSING, "not scheduled: 0/3 nodes are available")
