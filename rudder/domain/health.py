"""Health judgement of one managed object: Pending, Progressing, Ready, Failed or Suspended, with a reason.

Workload rules follow `kubectl rollout status` and kstatus (`rudder.domain.kstatus`); kinds without rules
follow kstatus' standard conditions: Stalled=True is Failed, Reconciling=True or a Ready condition that is
not True is Progressing, otherwise Ready once they exist.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rudder.domain.kstatus import crd_health, generation_pending, pdb_health, replicaset_health, standard_conditions
from rudder.domain.labels import SUSPENDED_REPLICAS_ANNOTATION, annotations_of, metadata_of
from rudder.domain.objects import condition_is, conditions_of, int_at, nested
from rudder.models import ObjectRef, ResourcePhase


@dataclass(frozen=True)
class ResourceHealth:
    """The judgement of one object, as listed in `status.resources`."""

    ref: ObjectRef
    phase: ResourcePhase
    message: str = ""

    def to_dict(self) -> dict[str, str]:
        """The `status.resources[]` entry."""
        return {"apiVersion": self.ref.api_version, "kind": self.ref.kind, "name": self.ref.name,
                "phase": self.phase.value, "message": self.message}


Verdict = tuple[ResourcePhase, str]
_P = ResourcePhase


_generation_pending = generation_pending


def _suspended(live: Mapping[str, Any]) -> Verdict | None:
    was = annotations_of(live).get(SUSPENDED_REPLICAS_ANNOTATION)
    if was is not None and int_at(live, "spec", "replicas", default=1) == 0:
        return _P.SUSPENDED, f"suspended (resumes to {was} replicas)"
    return None


def deployment_health(live: Mapping[str, Any]) -> Verdict:
    """Rollout complete when every desired replica is updated and available and no old one remains."""
    early = _suspended(live) or _generation_pending(live)
    if early:
        return early
    progressing = conditions_of(live).get("Progressing") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return _P.FAILED, f"progress deadline exceeded: {progressing.get('message', '')}".rstrip(": ")
    if nested(live, "spec", "paused") is True:
        return _P.PROGRESSING, "rollout is paused"
    desired = int_at(live, "spec", "replicas", default=1)
    updated = int_at(live, "status", "updatedReplicas")
    current = int_at(live, "status", "replicas")
    available = int_at(live, "status", "availableReplicas")
    if updated < desired:
        return _P.PROGRESSING, f"{updated} of {desired} replicas updated"
    if current > updated:
        return _P.PROGRESSING, f"{current - updated} old replicas pending termination"
    if available < updated:
        return _P.PROGRESSING, f"{available} of {updated} updated replicas available"
    return _P.READY, f"{available}/{desired} replicas available"


def statefulset_health(live: Mapping[str, Any]) -> Verdict:
    """Ready when all replicas are ready and, for RollingUpdate, the update revision is rolled out down
    to the partition."""
    early = _suspended(live) or _generation_pending(live)
    if early:
        return early
    desired = int_at(live, "spec", "replicas", default=1)
    ready = int_at(live, "status", "readyReplicas")
    if ready < desired:
        return _P.PROGRESSING, f"{ready} of {desired} replicas ready"
    if nested(live, "spec", "updateStrategy", "type") != "OnDelete":
        partition = int_at(live, "spec", "updateStrategy", "rollingUpdate", "partition")
        updated = int_at(live, "status", "updatedReplicas")
        if updated < desired - partition:
            return _P.PROGRESSING, f"{updated} of {desired - partition} replicas updated"
        update_revision = nested(live, "status", "updateRevision")
        current_revision = nested(live, "status", "currentRevision")
        if partition == 0 and update_revision and current_revision != update_revision:
            return _P.PROGRESSING, f"waiting for revision {update_revision} to become current"
    return _P.READY, f"{ready}/{desired} replicas ready"


def daemonset_health(live: Mapping[str, Any]) -> Verdict:
    """Ready when every scheduled pod is updated and available."""
    early = _generation_pending(live)
    if early:
        return early
    desired = int_at(live, "status", "desiredNumberScheduled")
    updated = int_at(live, "status", "updatedNumberScheduled")
    available = int_at(live, "status", "numberAvailable")
    if nested(live, "spec", "updateStrategy", "type") != "OnDelete" and updated < desired:
        return _P.PROGRESSING, f"{updated} of {desired} pods updated"
    if available < desired:
        return _P.PROGRESSING, f"{available} of {desired} pods available"
    return _P.READY, f"{available}/{desired} pods available"


def job_health(live: Mapping[str, Any]) -> Verdict:
    """Complete is Ready, Failed is Failed, a suspended job is Suspended."""
    conditions = conditions_of(live)
    if condition_is(live, "Failed"):
        failed = conditions["Failed"]
        return _P.FAILED, f"{failed.get('reason', 'Failed')}: {failed.get('message', '')}".rstrip(": ")
    if condition_is(live, "Complete"):
        return _P.READY, "completed"
    if nested(live, "spec", "suspend") is True:
        return _P.SUSPENDED, "suspended"
    completions = int_at(live, "spec", "completions", default=1)
    succeeded = int_at(live, "status", "succeeded")
    active = int_at(live, "status", "active")
    return _P.PROGRESSING, f"{active} active, {succeeded} of {completions} succeeded"


def cronjob_health(live: Mapping[str, Any]) -> Verdict:
    """A CronJob is Ready once it exists, Suspended when suspended."""
    if nested(live, "spec", "suspend") is True:
        return _P.SUSPENDED, "suspended"
    last = nested(live, "status", "lastScheduleTime")
    return _P.READY, f"last scheduled {last}" if last else "scheduled"


def pvc_health(live: Mapping[str, Any]) -> Verdict:
    """Bound is Ready, Lost is Failed, anything else waits for a volume."""
    phase = nested(live, "status", "phase") or "Pending"
    if phase == "Bound":
        return _P.READY, "bound"
    if phase == "Lost":
        return _P.FAILED, "the bound volume was lost"
    return _P.PENDING, "waiting for a volume to be bound"


def service_health(live: Mapping[str, Any]) -> Verdict:
    """A LoadBalancer waits for an ingress address; other Services are Ready once they exist."""
    if nested(live, "spec", "type") == "LoadBalancer":
        if nested(live, "status", "loadBalancer", "ingress"):
            return _P.READY, "load balancer ready"
        return _P.PROGRESSING, "waiting for a load balancer address"
    return _P.READY, ""


def pod_health(live: Mapping[str, Any]) -> Verdict:
    """Succeeded or Running-and-Ready is Ready; Failed is Failed; a crash loop is reported while running."""
    phase = nested(live, "status", "phase") or "Pending"
    if phase == "Succeeded":
        return _P.READY, "completed"
    if phase == "Failed":
        return _P.FAILED, str(nested(live, "status", "reason") or "pod failed")
    for status in nested(live, "status", "containerStatuses") or ():
        reason = nested(status, "state", "waiting", "reason")
        if reason:
            return _P.PROGRESSING, f"container {status.get('name')} is waiting: {reason}"
    if phase == "Running" and condition_is(live, "Ready"):
        return _P.READY, "running"
    scheduled = conditions_of(live).get("PodScheduled") or {}
    if str(scheduled.get("status")) == "False":  # kstatus: still in progress, say why
        why = scheduled.get("message") or scheduled.get("reason")
        return _P.PROGRESSING, f"not scheduled: {why}" if why else "not scheduled"
    return _P.PROGRESSING, f"pod is {phase}"


def default_health(live: Mapping[str, Any]) -> Verdict:
    """Other kinds: Ready once they exist, unless they say otherwise through an unobserved generation or
    kstatus' standard conditions. Failed only through Stalled=True: other conditions of an unknown kind are
    not ours to interpret."""
    return _generation_pending(live) or standard_conditions(live) or (_P.READY, "")


_RULES: Mapping[tuple[str, str], Callable[[Mapping[str, Any]], Verdict]] = {
    ("apps", "Deployment"): deployment_health,
    ("apps", "StatefulSet"): statefulset_health,
    ("apps", "DaemonSet"): daemonset_health,
    ("batch", "Job"): job_health,
    ("batch", "CronJob"): cronjob_health,
    ("", "PersistentVolumeClaim"): pvc_health,
    ("", "Service"): service_health,
    ("", "Pod"): pod_health,
    ("apps", "ReplicaSet"): replicaset_health,
    ("policy", "PodDisruptionBudget"): pdb_health,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): crd_health,
}


def assess_health(ref: ObjectRef, live: Mapping[str, Any] | None) -> ResourceHealth:
    """Judge one managed object from its live state; None (not found) is Pending."""
    if live is None:
        return ResourceHealth(ref, _P.PENDING, "not found")
    if metadata_of(live).get("deletionTimestamp"):
        return ResourceHealth(ref, _P.PROGRESSING, "being deleted")
    rule = _RULES.get((ref.group, ref.kind), default_health)
    phase, message = rule(live)
    return ResourceHealth(ref, phase, message)
