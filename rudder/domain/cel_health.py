"""`spec.healthChecks`: a live object's health from the CEL expressions given for its kind, in place of
the built-in rule.

Order, as Flux's healthCheckExprs: an object being deleted or whose controller has not observed its latest
generation is Progressing; then `inProgress`, `failed`, `current` are evaluated with `self` bound to the
object, and the first that is true decides (Progressing, Failed, Ready). None true: Progressing. An
expression that cannot be evaluated (a field not set yet, a wrong type, the cost budget spent) leaves the
object Progressing with the error, naming the field and the object, in its message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rudder.cel import Allowance, EvaluationError, evaluate_bool
from rudder.domain.health import ResourceHealth, assess_health
from rudder.domain.kstatus import generation_pending
from rudder.domain.labels import metadata_of
from rudder.health_spec import HealthCheck
from rudder.models import ObjectRef, ResourcePhase

_P = ResourcePhase


def check_for(ref: ObjectRef, checks: Sequence[HealthCheck]) -> HealthCheck | None:
    """The first health check whose apiVersion (or group) and kind match the object."""
    return next((c for c in checks if c.matches(ref.api_version, ref.kind)), None)


def _verdict(check: HealthCheck, ref: ObjectRef, live: Mapping[str, Any],
             allowance: Allowance | None) -> tuple[ResourcePhase, str]:
    steps = (("inProgress", check.in_progress, _P.PROGRESSING), ("failed", check.failed, _P.FAILED),
             ("current", check.current, _P.READY))
    for field, program, phase in steps:
        if program is None:
            continue
        result = evaluate_bool(program, {"self": live}, allowance=allowance)
        if isinstance(result, EvaluationError):
            return _P.PROGRESSING, f"{check.path(field)}: cannot evaluate on {ref}: {result.message}"
        if result:
            return phase, f"{check.path(field)} is true"
    return _P.PROGRESSING, f"waiting for {check.path('current')}"


def assess_with_checks(ref: ObjectRef, live: Mapping[str, Any] | None, checks: Sequence[HealthCheck],
                       allowance: Allowance | None = None) -> ResourceHealth:
    """The object's health: by its health check when one matches, else by the built-in rules. Evaluations
    are charged to `allowance` (one per pass: rudder.cel.PASS_BUDGET) when given."""
    check = check_for(ref, checks)
    if check is None or live is None or metadata_of(live).get("deletionTimestamp"):
        return assess_health(ref, live)
    phase, message = generation_pending(live) or _verdict(check, ref, live, allowance)
    return ResourceHealth(ref, phase, message)
