"""Typed readers for raw API mappings: each returns a checked value or raises a ParseError naming the field.

They live apart from `canary.models` so that the models module stays a readable list of types and parsers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from rudder.durations import parse_duration


class ParseError(ValueError):
    """A CanaryRelease field that cannot be understood; `field` is its path, e.g. `spec.steps[2].weight`."""

    def __init__(self, field_path: str, problem: str) -> None:
        super().__init__(f"{field_path}: {problem}")
        self.field = field_path
        self.problem = problem


def read_mapping(raw: Any, path: str) -> Mapping[str, Any]:
    """A mapping; absent means empty."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ParseError(path, f"must be a mapping, not {type(raw).__name__}")
    return raw


def read_sequence(raw: Any, path: str) -> Sequence[Any]:
    """A list; absent means empty."""
    if raw is None:
        return ()
    if not isinstance(raw, list | tuple):
        raise ParseError(path, f"must be a list, not {type(raw).__name__}")
    return raw


def read_string(raw: Any, path: str, *, required: bool = False) -> str:
    """A string; absent or empty is "" unless required."""
    if raw is None or raw == "":
        if required:
            raise ParseError(path, "is required")
        return ""
    if not isinstance(raw, str):
        raise ParseError(path, f"must be a string, not {type(raw).__name__}")
    return raw


def read_bool(raw: Any, path: str, *, default: bool) -> bool:
    if raw is None:
        return default
    if not isinstance(raw, bool):
        raise ParseError(path, "must be true or false")
    return raw


def read_int(
    raw: Any, path: str, *, default: int | None, minimum: int | None = None, maximum: int | None = None
) -> int:
    """An integer within bounds; absent gives `default`, or an error when `default` is None."""
    if raw is None:
        if default is None:
            raise ParseError(path, "is required")
        return default
    # bool is an int subclass; `weight: true` must not read as 1.
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ParseError(path, f"must be an integer, not {raw!r}")
    if minimum is not None and raw < minimum:
        raise ParseError(path, f"must be >= {minimum}, not {raw}")
    if maximum is not None and raw > maximum:
        raise ParseError(path, f"must be <= {maximum}, not {raw}")
    return raw


def read_optional_int(raw: Any, path: str) -> int | None:
    return None if raw is None else read_int(raw, path, default=0)


def read_optional_float(raw: Any, path: str) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ParseError(path, f"must be a number, not {raw!r}")
    return float(raw)


def read_duration(raw: Any, path: str, default: float) -> float:
    """Seconds from a Go-style duration string (`30s`, `2m`, `1h30m`, `250ms`)."""
    if raw is None:
        return default
    if not isinstance(raw, str):
        raise ParseError(path, f"must be a duration string like 30s, 2m or 1h30m, not {raw!r}")
    try:
        return parse_duration(raw)
    except ValueError as exc:
        raise ParseError(path, str(exc)) from None


def read_time(raw: Any, path: str) -> datetime | None:
    """An RFC 3339 timestamp as an aware UTC datetime; absent is None."""
    if raw in (None, ""):
        return None
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    if not isinstance(raw, str):
        raise ParseError(path, "must be an RFC 3339 timestamp")
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ParseError(path, f"invalid timestamp {raw!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_precise_time(value: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, for latencies a whole second would hide."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def format_time(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a Z, as Kubernetes writes timestamps."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None
