"""Pins down that the simulator stays test and demo tooling: no module of the controllers
(`rudder/`, `canary/`) imports it, and it imports nothing from them either."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", ["rudder", "canary"])
def test_controllers_never_import_the_simulator(package: str) -> None:
    offenders = [
        str(p.relative_to(REPO)) for p in sorted((REPO / package).rglob("*.py"))
        if "simulator" in imported_roots(p)
    ]
    assert offenders == []


def test_simulator_does_not_depend_on_the_controllers() -> None:
    offenders = [
        str(p.relative_to(REPO)) for p in sorted((REPO / "simulator").rglob("*.py"))
        if imported_roots(p) & {"rudder", "canary"}
    ]
    assert offenders == []
