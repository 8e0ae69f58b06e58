"""`spec.drift` of a Release: the typed form and its parser (pure; used by `rudder.models`).

Kept out of `rudder.models` so the drift policy stays one small module; `parse_drift` reports problems
through the caller's `fail(path, message)`, so every invalid field is named together with the rest of the spec.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rudder.sharding import ShardError, parse_shard


class DriftMode(StrEnum):
    """`spec.drift.mode`: repair drift (the default), only report it, or neither."""

    ENABLED = "enabled"
    WARN = "warn"
    DISABLED = "disabled"


class ConflictPolicy(StrEnum):
    """`spec.drift.conflicts`: what an apply does with a field another field manager owns."""

    FORCE = "force"  # take it (server-side apply with force): Rudder owns what its chart sets
    REPORT = "report"  # leave it: the apply is refused with the API server's conflict, which is reported


@dataclass(frozen=True)
class IgnoreTarget:
    """Which managed objects an ignore rule covers; an unset field matches every object."""

    group: str | None = None
    version: str | None = None
    kind: str | None = None
    name: str | None = None
    label_selector: str | None = None


@dataclass(frozen=True)
class IgnoreRule:
    """One `spec.drift.ignore` entry: JSON pointers (RFC 6901) into the objects its target selects."""

    paths: tuple[str, ...]
    target: IgnoreTarget | None = None


@dataclass(frozen=True)
class DriftSpec:
    """The parsed `spec.drift`; the default is today's behaviour (repair everything, force conflicts)."""

    mode: DriftMode = DriftMode.ENABLED
    ignore: tuple[IgnoreRule, ...] = ()
    conflicts: ConflictPolicy = ConflictPolicy.FORCE


Fail = Callable[[str, str], None]
MAX_IGNORE_RULES = 64
MAX_PATHS = 64


def _choice(raw: Any, path: str, enum: type[DriftMode] | type[ConflictPolicy], default: Any, fail: Fail) -> Any:
    if raw is None:
        return default
    allowed = [m.value for m in enum]
    if raw not in allowed:
        fail(path, f"must be one of {', '.join(allowed)}, not {raw!r}")
        return default
    return enum(raw)


def _text(raw: Any, path: str, fail: Fail) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        fail(path, f"must be a string, not {type(raw).__name__}")
        return None
    return raw


def _target(raw: Any, path: str, fail: Fail) -> IgnoreTarget | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        fail(path, f"must be a mapping, not {type(raw).__name__}")
        return None
    text = {key: _text(raw.get(key), f"{path}.{key}", fail)
            for key in ("group", "version", "kind", "name", "labelSelector")}
    selector = text["labelSelector"]
    if selector is not None:
        try:
            parse_shard(selector)
        except ShardError as err:
            fail(f"{path}.labelSelector", str(err).removeprefix("--shard: "))
            selector = None
    return IgnoreTarget(group=text["group"], version=text["version"], kind=text["kind"], name=text["name"],
                        label_selector=selector)


def _pointer(raw: Any, path: str, fail: Fail) -> str | None:
    if not isinstance(raw, str) or not raw.startswith("/") or raw == "/":
        fail(path, f"must be a JSON pointer such as /spec/replicas, not {raw!r}")
        return None
    if any(part[i] == "~" and part[i + 1:i + 2] not in ("0", "1") for part in raw.split("/")
           for i in range(len(part))):
        fail(path, f"{raw!r}: '~' must be escaped as ~0 ('~') or ~1 ('/')")
        return None
    return raw


def _rule(raw: Any, path: str, fail: Fail) -> IgnoreRule | None:
    if not isinstance(raw, Mapping):
        fail(path, f"must be a mapping, not {type(raw).__name__}")
        return None
    paths_raw = raw.get("paths")
    if not isinstance(paths_raw, list) or not paths_raw:
        fail(f"{path}.paths", "must be a non-empty list of JSON pointers")
        return None
    if len(paths_raw) > MAX_PATHS:
        fail(f"{path}.paths", f"at most {MAX_PATHS} pointers")
        return None
    pointers = [_pointer(p, f"{path}.paths[{i}]", fail) for i, p in enumerate(paths_raw)]
    target = _target(raw.get("target"), f"{path}.target", fail)
    if any(p is None for p in pointers):
        return None
    return IgnoreRule(paths=tuple(p for p in pointers if p is not None), target=target)


def parse_drift(raw: Any, fail: Fail) -> DriftSpec:
    """The typed `spec.drift` (defaults when absent); each problem goes to `fail` naming its field."""
    if raw is None:
        return DriftSpec()
    if not isinstance(raw, Mapping):
        fail("spec.drift", f"must be a mapping, not {type(raw).__name__}")
        return DriftSpec()
    mode = _choice(raw.get("mode"), "spec.drift.mode", DriftMode, DriftMode.ENABLED, fail)
    conflicts = _choice(raw.get("conflicts"), "spec.drift.conflicts", ConflictPolicy, ConflictPolicy.FORCE, fail)
    rules: list[IgnoreRule] = []
    ignore = raw.get("ignore")
    if ignore is not None and not isinstance(ignore, list):
        fail("spec.drift.ignore", f"must be a list, not {type(ignore).__name__}")
    elif ignore is not None and len(ignore) > MAX_IGNORE_RULES:
        fail("spec.drift.ignore", f"at most {MAX_IGNORE_RULES} rules")
    elif ignore:
        for i, item in enumerate(ignore):
            rule = _rule(item, f"spec.drift.ignore[{i}]", fail)
            if rule is not None:
                rules.append(rule)
    return DriftSpec(mode=mode, ignore=tuple(rules), conflicts=conflicts)
