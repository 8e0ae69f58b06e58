"""`spec.healthChecks` and `spec.failFast` of a Release as typed values, and their parsers (used by
`rudder.models`; kept free of imports from the rest of Rudder except `rudder.cel`).

Problems come back as (field path, message) pairs so `rudder.models` reports them with the rest of the spec;
every expression is compiled here, so a syntax error is an InvalidSpec naming its field before anything is
applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rudder.cel import CompileError, Program, compile_expression

FIELD = "spec.healthChecks"
MAX_HEALTH_CHECKS = 32
DEFAULT_CRASH_LOOP_RESTARTS = 3
EXPRESSIONS = (("in_progress", "inProgress"), ("failed", "failed"), ("current", "current"))

Problems = list[tuple[str, str]]


@dataclass(frozen=True)
class HealthCheck:
    """One `spec.healthChecks[]` entry: CEL expressions over a live object (`self`) of one kind.

    `api_version` matches group and version exactly; `group` (when api_version is None) any version of the
    group. Evaluated in the order inProgress, failed, current: the first that is true decides."""

    index: int
    kind: str
    current: Program
    api_version: str | None = None
    group: str | None = None
    in_progress: Program | None = None
    failed: Program | None = None

    def matches(self, api_version: str, kind: str) -> bool:
        if kind != self.kind:
            return False
        if self.api_version is not None:
            return api_version == self.api_version
        return api_version.rpartition("/")[0] == self.group

    def path(self, field: str) -> str:
        return f"{FIELD}[{self.index}].{field}"


@dataclass(frozen=True)
class FailFast:
    """`spec.failFast`: fail a revision that was never Ready as soon as one of its pods reports a terminal
    problem, instead of waiting for `spec.timeout`."""

    enabled: bool = True
    crash_loop_restarts: int = DEFAULT_CRASH_LOOP_RESTARTS


def expression(raw: Any, path: str, problems: Problems, *, required: bool = False) -> Program | None:
    """A compiled CEL expression, or None with the problem recorded under `path`."""
    if raw is None or raw == "":
        if required:
            problems.append((path, "is required"))
        return None
    if not isinstance(raw, str):
        problems.append((path, f"must be a string of CEL, not {type(raw).__name__}"))
        return None
    compiled = compile_expression(raw)
    if isinstance(compiled, CompileError):
        problems.append((path, compiled.message))
        return None
    return compiled


def _string(raw: Any, path: str, problems: Problems) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        problems.append((path, f"must be a string, not {type(raw).__name__}"))
        return None
    return raw


def _parse_one(index: int, entry: Mapping[str, Any], problems: Problems) -> HealthCheck | None:
    path = f"{FIELD}[{index}]"
    kind = _string(entry.get("kind"), f"{path}.kind", problems)
    if not kind:
        problems.append((f"{path}.kind", "is required"))
    api_version = _string(entry.get("apiVersion"), f"{path}.apiVersion", problems)
    group = _string(entry.get("group"), f"{path}.group", problems)
    if (api_version is None) == (group is None):
        problems.append((path, "needs exactly one of apiVersion, group"))
    elif api_version is not None and (not api_version or api_version.count("/") > 1):
        problems.append((f"{path}.apiVersion", f"must be group/version or version, not {api_version!r}"))
    programs = {name: expression(entry.get(key), f"{path}.{key}", problems, required=key == "current")
                for name, key in EXPRESSIONS}
    current = programs.pop("current")
    if not kind or current is None:
        return None
    return HealthCheck(index=index, kind=kind, current=current, api_version=api_version, group=group,
                       in_progress=programs["in_progress"], failed=programs["failed"])


def parse_health_checks(raw: Any) -> tuple[tuple[HealthCheck, ...], Problems]:
    """Parse `spec.healthChecks` (absent: no checks)."""
    problems: Problems = []
    if raw is None:
        return (), problems
    if isinstance(raw, str | bytes) or not isinstance(raw, list | tuple):
        return (), [(FIELD, f"must be a list, not {type(raw).__name__}")]
    if len(raw) > MAX_HEALTH_CHECKS:
        return (), [(FIELD, f"at most {MAX_HEALTH_CHECKS} entries, not {len(raw)}")]
    checks = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, Mapping):
            problems.append((f"{FIELD}[{index}]", f"must be a mapping, not {type(entry).__name__}"))
            continue
        check = _parse_one(index, entry, problems)
        if check is not None:
            checks.append(check)
    return tuple(checks), problems


def parse_fail_fast(raw: Any) -> tuple[FailFast, Problems]:
    """Parse `spec.failFast` (absent: enabled, 3 restarts)."""
    if raw is None:
        return FailFast(), []
    if not isinstance(raw, Mapping):
        return FailFast(), [("spec.failFast", f"must be a mapping, not {type(raw).__name__}")]
    problems: Problems = []
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.append(("spec.failFast.enabled", f"must be true or false, not {enabled!r}"))
        enabled = True
    restarts = raw.get("crashLoopRestarts", DEFAULT_CRASH_LOOP_RESTARTS)
    if isinstance(restarts, bool) or not isinstance(restarts, int) or restarts < 1:
        problems.append(("spec.failFast.crashLoopRestarts", f"must be an integer >= 1, not {restarts!r}"))
        restarts = DEFAULT_CRASH_LOOP_RESTARTS
    return FailFast(enabled=enabled, crash_loop_restarts=restarts), problems
