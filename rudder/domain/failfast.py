"""Fail fast: a revision that was never Ready fails as soon as one of its updated pods reports a problem
that waiting will not cure, instead of at `spec.timeout`.

Terminal: a container waiting with ImagePullBackOff, ErrImagePull, InvalidImageName or
CreateContainerConfigError, or crash-looping with at least `spec.failFast.crashLoopRestarts` restarts.
(A Deployment past its own progressDeadlineSeconds is already Failed by its health rule.)
"""

from __future__ import annotations

from rudder.domain.pods import ContainerProblem, PodStatistics
from rudder.domain.status import Failure
from rudder.health_spec import FailFast

TERMINAL_WAITING_REASONS = frozenset({
    "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "CreateContainerConfigError",
})
CRASH_LOOP = "CrashLoopBackOff"
_MAX_LISTED = 3


def _terminal(problem: ContainerProblem, policy: FailFast) -> bool:
    if problem.reason in TERMINAL_WAITING_REASONS:
        return True
    return problem.reason.startswith(CRASH_LOOP) and problem.restarts >= policy.crash_loop_restarts


def _describe(problem: ContainerProblem) -> str:
    return f"{problem}: {problem.message}" if problem.message else str(problem)


def terminal_failure(pods: PodStatistics, policy: FailFast, revision: int) -> Failure | None:
    """The failure to report for `revision` (reason: the first terminal container's reason), or None."""
    if not policy.enabled:
        return None
    found = [p for p in pods.problems if p.updated and _terminal(p, policy)]
    if not found:
        return None
    listed = "; ".join(_describe(p) for p in found[:_MAX_LISTED])
    more = f" (+{len(found) - _MAX_LISTED} more)" if len(found) > _MAX_LISTED else ""
    reason = found[0].reason.split(" ")[0]
    return Failure(reason, f"revision {revision} failed fast: {listed}{more}")
