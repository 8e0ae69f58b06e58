"""Suspend and resume: scale workloads to zero and suspend CronJobs, remembering what to restore.

The previous replica count is kept in an annotation on the workload itself, so resume works after a
controller restart and with HPA-managed replicas that no manifest records. While a Release is suspended
the controller does not apply new revisions (that would scale the workloads back up); it applies them on
resume.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rudder.domain.labels import SUSPENDED_REPLICAS_ANNOTATION, annotations_of
from rudder.domain.objects import int_at, nested, ref_of
from rudder.models import ObjectRef

SUSPENDED_CRONJOB_ANNOTATION = "rudder.dev/suspended-cronjob"
SCALABLE_KINDS = frozenset({"Deployment", "StatefulSet", "ReplicaSet"})


@dataclass(frozen=True)
class WorkloadPatch:
    """A JSON merge patch for one live workload."""

    ref: ObjectRef
    patch: Mapping[str, Any]


@dataclass(frozen=True)
class SuspendPlan:
    """Patches to send (empty when already in the wanted state) and workloads that cannot be suspended."""

    patches: tuple[WorkloadPatch, ...]
    skipped: tuple[tuple[ObjectRef, str], ...] = ()


def _patch(spec: dict[str, Any], annotation: str | None = None, value: str | None = None) -> dict[str, Any]:
    patch: dict[str, Any] = {"spec": spec}
    if annotation is not None:
        patch["metadata"] = {"annotations": {annotation: value}}
    return patch


def plan_suspend(live_objects: Iterable[Mapping[str, Any]]) -> SuspendPlan:
    """Scale Deployments/StatefulSets/ReplicaSets to 0 (remembering their replicas) and suspend CronJobs.

    Idempotent: a workload already at 0 with its count remembered gets no patch, and a count remembered
    earlier is never overwritten by the 0 of a suspended workload.
    """
    patches: list[WorkloadPatch] = []
    skipped: list[tuple[ObjectRef, str]] = []
    for live in live_objects:
        ref, kind = ref_of(live), live.get("kind")
        annotations = annotations_of(live)
        if kind in SCALABLE_KINDS:
            replicas = int_at(live, "spec", "replicas", default=1)
            if replicas == 0 and SUSPENDED_REPLICAS_ANNOTATION in annotations:
                continue
            remember = None if SUSPENDED_REPLICAS_ANNOTATION in annotations else SUSPENDED_REPLICAS_ANNOTATION
            patches.append(WorkloadPatch(ref, _patch({"replicas": 0}, remember, str(replicas))))
        elif kind == "CronJob" and nested(live, "spec", "suspend") is not True:
            patch = _patch({"suspend": True}, SUSPENDED_CRONJOB_ANNOTATION, "true")
            patches.append(WorkloadPatch(ref, patch))
        elif kind == "DaemonSet":
            skipped.append((ref, "a DaemonSet cannot be scaled to zero; it keeps running"))
    return SuspendPlan(tuple(patches), tuple(skipped))


def plan_resume(live_objects: Iterable[Mapping[str, Any]]) -> SuspendPlan:
    """Restore the remembered replica counts and un-suspend the CronJobs that suspend suspended, removing
    the annotations. Workloads without Rudder's annotation are left as they are."""
    patches: list[WorkloadPatch] = []
    for live in live_objects:
        ref, annotations = ref_of(live), annotations_of(live)
        remembered = annotations.get(SUSPENDED_REPLICAS_ANNOTATION)
        if live.get("kind") in SCALABLE_KINDS and remembered is not None:
            replicas = int(remembered) if str(remembered).isdigit() else 1
            patches.append(WorkloadPatch(ref, _patch({"replicas": replicas}, SUSPENDED_REPLICAS_ANNOTATION)))
        elif live.get("kind") == "CronJob" and SUSPENDED_CRONJOB_ANNOTATION in annotations:
            patches.append(WorkloadPatch(ref, _patch({"suspend": False}, SUSPENDED_CRONJOB_ANNOTATION)))
    return SuspendPlan(tuple(patches))
