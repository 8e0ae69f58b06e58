"""kstatus-compatible readiness rules (the rules of sigs.k8s.io/cli-utils' kstatus, written anew) that
`rudder.domain.health` lacks: the standard conditions of custom resources and the built-in kinds that
had no rule (ReplicaSet, PodDisruptionBudget, CustomResourceDefinition).

kstatus words map onto ResourcePhase: InProgress -> Progressing, Current -> Ready, Failed -> Failed,
Terminating -> Progressing ("being deleted"), NotFound -> Pending.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rudder.domain.objects import conditions_of, int_at, nested
from rudder.models import ResourcePhase

Verdict = tuple[ResourcePhase, str]
_P = ResourcePhase


def _says(condition: Mapping[str, Any], fallback: str) -> str:
    reason, message = condition.get("reason"), condition.get("message")
    if reason and message:
        return f"{reason}: {message}"
    return str(message or reason or fallback)


def generation_pending(live: Mapping[str, Any]) -> Verdict | None:
    """kstatus: a controller that has not observed the latest generation has not acted on it yet."""
    generation = int_at(live, "metadata", "generation")
    observed = nested(live, "status", "observedGeneration")
    if isinstance(observed, int) and observed < generation:
        return _P.PROGRESSING, f"waiting for the controller to observe generation {generation}"
    return None


def standard_conditions(live: Mapping[str, Any]) -> Verdict | None:
    """The kstatus standard conditions ("abnormal-true"): Stalled=True is Failed, Reconciling=True is
    Progressing; then, for resources without them, a Ready condition that is not True is Progressing.
    None: nothing said, the resource is Ready once it exists."""
    conditions = conditions_of(live)
    stalled = conditions.get("Stalled")
    if stalled is not None and str(stalled.get("status")) == "True":
        return _P.FAILED, _says(stalled, "stalled")
    reconciling = conditions.get("Reconciling")
    if reconciling is not None and str(reconciling.get("status")) == "True":
        return _P.PROGRESSING, _says(reconciling, "reconciling")
    ready = conditions.get("Ready")
    if ready is not None and str(ready.get("status")) != "True":
        return _P.PROGRESSING, str(ready.get("message") or ready.get("reason") or "not ready yet")
    return None


def replicaset_health(live: Mapping[str, Any]) -> Verdict:
    """Ready when every desired replica is labelled, ready and available; a ReplicaFailure (quota, admission)
    is reported while waiting."""
    early = generation_pending(live)
    if early:
        return early
    desired = int_at(live, "spec", "replicas", default=1)
    failure = conditions_of(live).get("ReplicaFailure")
    waiting = ""
    if failure is not None and str(failure.get("status")) == "True":
        waiting = f" ({_says(failure, 'replica failure')})"
    for field, what in (("fullyLabeledReplicas", "labelled"), ("readyReplicas", "ready"),
                        ("availableReplicas", "available")):
        count = int_at(live, "status", field)
        if count < desired:
            return _P.PROGRESSING, f"{count} of {desired} replicas {what}{waiting}"
    if int_at(live, "status", "replicas") > desired:
        return _P.PROGRESSING, f"{int_at(live, 'status', 'replicas') - desired} extra replicas pending termination"
    return _P.READY, f"{desired}/{desired} replicas available"


def pdb_health(live: Mapping[str, Any]) -> Verdict:
    """Ready when at least the desired number of pods is healthy."""
    early = generation_pending(live)
    if early:
        return early
    healthy = int_at(live, "status", "currentHealthy")
    desired = int_at(live, "status", "desiredHealthy")
    if healthy < desired:
        return _P.PROGRESSING, f"{healthy} of {desired} pods healthy"
    return _P.READY, f"{healthy}/{desired} pods healthy"


def crd_health(live: Mapping[str, Any]) -> Verdict:
    """Established is Ready; names that were not accepted (a conflict) are Failed."""
    conditions = conditions_of(live)
    names = conditions.get("NamesAccepted")
    if names is not None and str(names.get("status")) == "False":
        return _P.FAILED, _says(names, "names not accepted")
    established = conditions.get("Established")
    if established is not None and str(established.get("status")) == "True":
        return _P.READY, "established"
    return _P.PROGRESSING, "waiting to be established"
