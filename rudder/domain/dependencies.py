"""`dependsOn`: wait until the named Releases are Ready (or their `readyExpr` is true); report cycles across
a namespace's Releases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rudder.cel import Allowance, EvaluationError, evaluate_bool
from rudder.models import DependsOn, ReleasePhase


@dataclass(frozen=True)
class DependencyVerdict:
    """`ready` when every dependency is Ready; otherwise `message` says what is awaited, and `cycle` holds
    the loop (`a -> b -> a`) when the dependencies can never be satisfied."""

    ready: bool
    message: str = ""
    cycle: tuple[str, ...] = ()


def find_cycle(start: str, graph: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """A dependency loop through `start` (`(start, ..., start)`), or () when there is none.

    `graph` maps each Release of the namespace to the names in its dependsOn.
    """
    path: list[str] = [start]
    visited: set[str] = set()

    def visit(node: str) -> bool:
        for dependency in graph.get(node, ()):
            if dependency == start:
                path.append(dependency)
                return True
            if dependency in visited:
                continue
            visited.add(dependency)
            path.append(dependency)
            if visit(dependency):
                return True
            path.pop()
        return False

    return tuple(path) if visit(start) else ()


def evaluate_dependencies(
    name: str,
    depends_on: Sequence[DependsOn],
    phases: Mapping[str, ReleasePhase | None],
    graph: Mapping[str, Sequence[str]] | None = None,
    *,
    bodies: Mapping[str, Mapping[str, Any]] | None = None,
    own: Mapping[str, Any] | None = None,
) -> DependencyVerdict:
    """Whether Release `name` may proceed.

    `phases` gives the phase of each dependency (None or absent: the Release does not exist). A dependency
    with a `readyExpr` is satisfied when the expression is true over its body in `bodies` (`dep`) and the
    dependent Release `own` (`self`), whatever its phase. A cycle through `name` (in `graph`, or a Release
    depending on itself) is reported and never becomes ready.
    """
    full_graph = dict(graph or {})
    full_graph[name] = [d.name for d in depends_on]
    cycle = find_cycle(name, full_graph)
    if cycle:
        return DependencyVerdict(False, "dependency cycle: " + " -> ".join(cycle), cycle)
    waiting = []
    allowance = Allowance()  # one pass's CEL budget for all readyExpr evaluations
    for index, dependency in enumerate(depends_on):
        phase = phases.get(dependency.name)
        body = (bodies or {}).get(dependency.name)
        if phase is None and body is None:
            waiting.append(f"{dependency.name} (not found)")
        elif dependency.ready_expr is not None:
            ready = evaluate_bool(dependency.ready_expr, {"dep": body or {}, "self": own or {}},
                                  allowance=allowance)
            if isinstance(ready, EvaluationError):
                waiting.append(f"{dependency.name} (spec.dependsOn[{index}].readyExpr: {ready.message})")
            elif not ready:
                waiting.append(f"{dependency.name} (spec.dependsOn[{index}].readyExpr is false)")
        elif phase is None:
            waiting.append(f"{dependency.name} (no phase yet)")
        elif phase is not ReleasePhase.READY:
            waiting.append(f"{dependency.name} ({phase.value})")
    if waiting:
        return DependencyVerdict(False, "waiting for Release " + ", ".join(waiting))
    return DependencyVerdict(True)
