"""Rendering deploy/'s kustomizations and reading what they contain (shared by the unit and
integration tests of the install)."""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"
KUSTOMIZATIONS = {
    "base": DEPLOY,
    "namespaced": DEPLOY / "overlays" / "namespaced",
    "servicemonitor": DEPLOY / "overlays" / "servicemonitor",
    "sharded": DEPLOY / "overlays" / "sharded",
}
CONTROLLER = "rudder-controller"
DOCKERFILE = DEPLOY / "Dockerfile"
IGNORE_FILE = DEPLOY / "Dockerfile.dockerignore"


def kubectl() -> str:
    """The local platform's kubectl (it embeds kustomize); built by deploy/local/build.sh."""
    out = subprocess.run([str(DEPLOY / "local" / "build.sh"), "--print"], check=True, capture_output=True, text=True)
    path = Path(out.stdout.strip()) / "kubectl-v1.37.2"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run deploy/local/build.sh (scripts/bootstrap.sh does)")
    return str(path)


def render_text(path: Path) -> str:
    """`kubectl kustomize PATH`, as text."""
    done = subprocess.run([kubectl(), "kustomize", str(path)], check=False, capture_output=True, text=True,
                          timeout=60)
    if done.returncode != 0:
        raise AssertionError(f"kubectl kustomize {path} failed:\n{done.stderr}")
    return done.stdout


@functools.cache
def _rendered(path: Path) -> tuple[dict[str, Any], ...]:
    return tuple(doc for doc in yaml.safe_load_all(render_text(path)) if doc)


def render(path: Path) -> list[dict[str, Any]]:
    """The objects `kubectl kustomize PATH` produces (a fresh copy each call; rendering is cached)."""
    return [yaml.safe_load(yaml.safe_dump(doc)) for doc in _rendered(path)]


def find(objects: Iterable[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    if len(found) != 1:
        raise AssertionError(f"expected one {kind} {name or ''}, found {len(found)}")
    return found[0]


def kinds(objects: Iterable[dict[str, Any]]) -> list[str]:
    return sorted(o["kind"] for o in objects)


def container(objects: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The controller container of the rendered Deployment."""
    deployment = find(objects, "Deployment", CONTROLLER)
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(only)


# -- RBAC ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    """One (apiGroup, resource, verb) a rule grants, with the resourceNames it is limited to."""

    group: str
    resource: str
    verb: str
    names: tuple[str, ...] = ()


def rbac_rules(objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [rule for o in objects if o["kind"] in ("ClusterRole", "Role") for rule in o.get("rules") or []]


def grants(rules: Iterable[dict[str, Any]]) -> Iterator[Grant]:
    for rule in rules:
        names = tuple(rule.get("resourceNames") or ())
        for group in rule.get("apiGroups") or []:
            for resource in rule.get("resources") or []:
                for verb in rule.get("verbs") or []:
                    yield Grant(group, resource, verb, names)


# -- the image ------------------------------------------------------------------------------------


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def dockerignore_patterns(path: Path) -> list[tuple[bool, str]]:
    """(excluding?, pattern) per line of a .dockerignore file."""
    patterns = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line[1:].strip() if negated else line
        patterns.append((not negated, pattern.strip("/")))
    return patterns


def _matches(pattern: str, path: str) -> bool:
    """Docker's matching: `*` stays within one path element, `**` spans any number of them."""
    if pattern.startswith("**/"):
        rest = pattern[3:]
        parts = path.split("/")
        return any(_matches(rest, "/".join(parts[i:])) for i in range(len(parts)))
    pattern_parts, path_parts = pattern.split("/"), path.split("/")
    return len(pattern_parts) == len(path_parts) and all(
        fnmatch.fnmatchcase(name, part) for part, name in zip(pattern_parts, path_parts, strict=True))


def excluded(patterns: list[tuple[bool, str]], path: str) -> bool:
    """Whether a context path is left out: the last pattern matching it or one of its parents decides."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    verdict = False
    for excluding, pattern in patterns:
        if any(_matches(pattern, prefix) for prefix in prefixes):
            verdict = excluding
    return verdict


def build_context(root: Path, ignore_file: Path) -> list[str]:
    """The files (relative paths) of `root` a build sends, given the ignore file. Directories that
    are excluded, and that no negated pattern reaches into, are not walked (.venv, .git)."""
    patterns = dockerignore_patterns(ignore_file)
    reopened = [pattern for excluding, pattern in patterns if not excluding]
    files = []
    for current, dirs, names in os.walk(root):
        here = Path(current).relative_to(root).as_posix()
        prefix = "" if here == "." else here + "/"
        dirs[:] = sorted(d for d in dirs if not (
            excluded(patterns, prefix + d)
            and not any(p.startswith(prefix + d + "/") or p.startswith("**") for p in reopened)))
        files.extend(prefix + name for name in sorted(names) if not excluded(patterns, prefix + name))
    return sorted(files)
