"""podStatistics: the Release's pods counted by phase, split into the current template (`updated`) and
older ones (`old`), with containers that are crash-looping or stuck called out.

Level-triggered: computed from the pods as they are, so a crash after the rollout shows up without any
change to the Release.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rudder.domain.labels import annotations_of, labels_of, metadata_of
from rudder.domain.objects import int_at, nested

TEMPLATE_HASH_LABELS = ("pod-template-hash", "controller-revision-hash")
DEPLOYMENT_REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
# Waiting reasons that mean a container will not start without a change; counted in place of the phase.
STUCK_REASONS = frozenset({
    "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "CreateContainerConfigError",
    "CreateContainerError", "RunContainerError",
})


@dataclass(frozen=True)
class ContainerProblem:
    """A container of a pod that is crash-looping or stuck."""

    pod: str
    container: str
    reason: str
    restarts: int
    updated: bool
    message: str = ""  # the container's waiting message (e.g. the image pull error), when it gives one

    def __str__(self) -> str:
        restarts = f", {self.restarts} restarts" if self.restarts else ""
        return f"pod {self.pod} container {self.container}: {self.reason}{restarts}"


@dataclass(frozen=True)
class PodStatistics:
    """Counts by phase (or stuck reason) of updated and old pods, and the problems found."""

    updated: Mapping[str, int] = field(default_factory=dict)
    old: Mapping[str, int] = field(default_factory=dict)
    problems: tuple[ContainerProblem, ...] = ()

    def to_dict(self) -> dict[str, dict[str, int]]:
        """`status.podStatistics`."""
        return {"updated": dict(sorted(self.updated.items())), "old": dict(sorted(self.old.items()))}


def _container_problem(pod: str, status: Mapping[str, Any], restart_threshold: int) -> tuple[str, int] | None:
    restarts = int_at(status, "restartCount")
    waiting = nested(status, "state", "waiting", "reason")
    if waiting in STUCK_REASONS:
        return str(waiting), restarts
    # Between back-offs a crash-looping container may briefly be Running; the restart count and a
    # terminated last state still give it away.
    last_exit = nested(status, "lastState", "terminated", "reason")
    if restarts >= restart_threshold and last_exit and status.get("ready") is not True:
        return f"CrashLoopBackOff ({last_exit})", restarts
    return None


def pod_statistics(
    pods: Iterable[Mapping[str, Any]], current_hashes: Collection[str], *, restart_threshold: int = 3
) -> PodStatistics:
    """Count pods into `updated` (template hash label in `current_hashes`, or no hash label at all) and
    `old`, by phase; a pod with a stuck container counts under that reason, a deleting one as Terminating."""
    updated: Counter[str] = Counter()
    old: Counter[str] = Counter()
    problems: list[ContainerProblem] = []
    for pod in pods:
        name = str(metadata_of(pod).get("name", ""))
        hashes = [labels_of(pod)[k] for k in TEMPLATE_HASH_LABELS if k in labels_of(pod)]
        is_updated = not hashes or any(h in current_hashes for h in hashes)
        bucket = str(nested(pod, "status", "phase") or "Pending")
        statuses = [*(nested(pod, "status", "initContainerStatuses") or ()),
                    *(nested(pod, "status", "containerStatuses") or ())]
        for status in statuses:
            found = _container_problem(name, status, restart_threshold)
            if found is not None:
                reason, restarts = found
                container = str(status.get("name", ""))
                message = str(nested(status, "state", "waiting", "message") or "")
                problems.append(ContainerProblem(name, container, reason, restarts, is_updated, message))
                bucket = reason.split(" ")[0]
        if metadata_of(pod).get("deletionTimestamp"):
            bucket = "Terminating"
        (updated if is_updated else old)[bucket] += 1
    return PodStatistics(updated=dict(updated), old=dict(old), problems=tuple(problems))


def _owned_by(obj: Mapping[str, Any], uid: Any) -> bool:
    return any(ref.get("uid") == uid for ref in metadata_of(obj).get("ownerReferences") or ())


def current_template_hashes(
    workloads: Iterable[Mapping[str, Any]],
    replica_sets: Iterable[Mapping[str, Any]] = (),
    controller_revisions: Iterable[Mapping[str, Any]] = (),
) -> frozenset[str]:
    """The template hashes of the newest pods of each workload.

    Deployment: `pod-template-hash` of its ReplicaSet with the Deployment's revision annotation.
    StatefulSet: `status.updateRevision`. DaemonSet: `controller-revision-hash` of its newest
    ControllerRevision.
    """
    replica_sets = list(replica_sets)
    controller_revisions = list(controller_revisions)
    hashes: set[str] = set()
    for workload in workloads:
        kind, uid = workload.get("kind"), metadata_of(workload).get("uid")
        if kind == "Deployment":
            revision = annotations_of(workload).get(DEPLOYMENT_REVISION_ANNOTATION)
            for rs in replica_sets:
                if _owned_by(rs, uid) and annotations_of(rs).get(DEPLOYMENT_REVISION_ANNOTATION) == revision:
                    hashes.update(v for k, v in labels_of(rs).items() if k == "pod-template-hash")
        elif kind == "StatefulSet":
            update_revision = nested(workload, "status", "updateRevision")
            if update_revision:
                hashes.add(str(update_revision))
        elif kind == "DaemonSet":
            owned = [cr for cr in controller_revisions if _owned_by(cr, uid)]
            if owned:
                newest = max(owned, key=lambda cr: int_at(cr, "revision"))
                label = labels_of(newest).get("controller-revision-hash")
                if label:
                    hashes.add(str(label))
    return frozenset(hashes)
