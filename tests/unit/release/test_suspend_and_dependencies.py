"""Suspend scales workloads to zero and suspends CronJobs, remembering counts on the objects so resume
restores them (also after a restart); dependsOn waits for Ready Releases and reports cycles as such."""

from __future__ import annotations

from typing import Any

from rudder.domain import (
    SUSPENDED_REPLICAS_ANNOTATION,
    evaluate_dependencies,
    find_cycle,
    plan_resume,
    plan_suspend,
)
from rudder.domain.suspend import SUSPENDED_CRONJOB_ANNOTATION
from rudder.models import DependsOn, ReleasePhase

from .conftest import obj


def workload(
    kind: str, name: str, replicas: int | None, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    spec = {} if replicas is None else {"replicas": replicas}
    return obj(kind, name, "apps/v1", annotations=annotations or {}, spec=spec)


def patches(plan: Any) -> dict[str, Any]:
    return {str(p.ref): p.patch for p in plan.patches}


def test_suspend_scales_to_zero_and_remembers_replicas() -> None:
    live = [
        workload("Deployment", "web", 3),
        workload("StatefulSet", "db", None),
        obj("CronJob", "nightly", "batch/v1", spec={"suspend": False}),
        obj("ConfigMap", "cfg"),
    ]
    plan = plan_suspend(live)
    assert patches(plan) == {
        "Deployment/web": {
            "spec": {"replicas": 0},
            "metadata": {"annotations": {SUSPENDED_REPLICAS_ANNOTATION: "3"}},
        },
        "StatefulSet/db": {
            "spec": {"replicas": 0},
            "metadata": {"annotations": {SUSPENDED_REPLICAS_ANNOTATION: "1"}},
        },
        "CronJob/nightly": {
            "spec": {"suspend": True},
            "metadata": {"annotations": {SUSPENDED_CRONJOB_ANNOTATION: "true"}},
        },
    }


def test_suspend_is_idempotent_and_never_forgets_the_count() -> None:
    done = workload("Deployment", "web", 0, {SUSPENDED_REPLICAS_ANNOTATION: "3"})
    assert plan_suspend([done]).patches == ()
    scaled_by_hand = workload("Deployment", "web", 2, {SUSPENDED_REPLICAS_ANNOTATION: "3"})
    assert patches(plan_suspend([scaled_by_hand])) == {"Deployment/web": {"spec": {"replicas": 0}}}
    assert plan_suspend([obj("CronJob", "c", "batch/v1", spec={"suspend": True})]).patches == ()


def test_daemonsets_are_reported_as_not_suspendable() -> None:
    plan = plan_suspend([obj("DaemonSet", "agent", "apps/v1")])
    assert plan.patches == ()
    assert [(str(ref), reason) for ref, reason in plan.skipped] == [
        ("DaemonSet/agent", "a DaemonSet cannot be scaled to zero; it keeps running")
    ]


def test_resume_restores_what_suspend_changed_and_nothing_else() -> None:
    live = [
        workload("Deployment", "web", 0, {SUSPENDED_REPLICAS_ANNOTATION: "3"}),
        workload("Deployment", "other", 0),
        obj(
            "CronJob",
            "nightly",
            "batch/v1",
            annotations={SUSPENDED_CRONJOB_ANNOTATION: "true"},
            spec={"suspend": True},
        ),
        obj("CronJob", "paused-by-chart", "batch/v1", spec={"suspend": True}),
    ]
    assert patches(plan_resume(live)) == {
        "Deployment/web": {
            "spec": {"replicas": 3},
            "metadata": {"annotations": {SUSPENDED_REPLICAS_ANNOTATION: None}},
        },
        "CronJob/nightly": {
            "spec": {"suspend": False},
            "metadata": {"annotations": {SUSPENDED_CRONJOB_ANNOTATION: None}},
        },
    }


def test_dependencies_ready_or_waiting_with_reasons() -> None:
    deps = (DependsOn("mysql"), DependsOn("redis"), DependsOn("queue"))
    phases = {"mysql": ReleasePhase.READY, "redis": ReleasePhase.PROGRESSING}
    verdict = evaluate_dependencies("shop", deps, phases)
    assert not verdict.ready
    assert verdict.message == "waiting for Release redis (Progressing), queue (not found)"
    ready = evaluate_dependencies("shop", deps[:1], phases)
    assert ready.ready
    assert evaluate_dependencies("shop", (), {}).ready


def test_cycles_are_detected_through_the_namespace_graph() -> None:
    graph = {"mysql": ["backup"], "backup": ["shop"], "other": ["mysql"]}
    verdict = evaluate_dependencies("shop", (DependsOn("mysql"),), {"mysql": ReleasePhase.READY}, graph)
    assert not verdict.ready
    assert verdict.cycle == ("shop", "mysql", "backup", "shop")
    assert verdict.message == "dependency cycle: shop -> mysql -> backup -> shop"
    assert evaluate_dependencies("self", (DependsOn("self"),), {}).cycle == ("self", "self")


def test_cycles_elsewhere_are_not_ours() -> None:
    graph = {"a": ["b"], "b": ["a"], "shop": ["a"]}
    assert find_cycle("shop", graph) == ()
    assert find_cycle("a", graph) == ("a", "b", "a")
