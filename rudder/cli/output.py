"""Plain-text output shared by both command lines: kubectl-style tables, JSON/YAML, ages and durations."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from rudder.cli.errors import CliError
from rudder.durations import check_duration_seconds, parse_duration
from rudder.render.yamlio import dump_yaml

OUTPUT_FORMATS = ("json", "yaml")
MISSING = "-"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns separated by three spaces, headers upper-cased (as `kubectl get` prints).

    The last column is not padded, so long descriptions do not leave trailing blanks.
    """
    cells = [[str(h).upper() for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        padded = [value.ljust(widths[i]) for i, value in enumerate(row[:-1])]
        lines.append("   ".join([*padded, row[-1]]).rstrip())
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    if value is None or value == "":
        return MISSING
    return " ".join(str(value).split())  # a newline inside a message would break the columns


def dump(data: Any, output: str) -> str:
    """`data` as JSON (indented, key order kept) or YAML."""
    if output == "json":
        return json.dumps(data, indent=2, sort_keys=False) + "\n"
    return dump_yaml(data)


def parse_timeout(text: str, flag: str = "--timeout") -> float:
    """Seconds from `5m`, `90s`, `1h30m` or a bare number of seconds; a CliError names the flag."""
    try:
        seconds = (check_duration_seconds(float(text)) if text.replace(".", "", 1).isdigit()
                   else parse_duration(text))
    except ValueError as err:
        raise CliError(f"{flag} {text[:40]!r}: {err}") from None
    if seconds <= 0:
        raise CliError(f"{flag} {text!r}: must be positive")
    return seconds


def parse_time(text: object) -> datetime | None:
    """An RFC 3339 timestamp from the API (`2026-01-01T12:00:00Z`), or None."""
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_duration(seconds: float) -> str:
    """`45s`, `3m12s`, `2h5m`, `3d4h`: the two largest units, as `kubectl get` shows ages."""
    whole = max(0, int(seconds))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m{secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


def format_timestamp(moment: datetime | None, now: datetime | None = None) -> str:
    """`2026-01-01 12:00:00Z (3m ago)`; `-` when unknown."""
    if moment is None:
        return MISSING
    stamp = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    if now is None:
        return stamp
    return f"{stamp} ({format_duration((now - moment).total_seconds())} ago)"


def format_number(value: float | None, digits: int = 4) -> str:
    """Compact numbers for tables: `0.0123`, `1.2e-05`, `1520`; `-` when absent."""
    if value is None:
        return MISSING
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 10 ** digits or magnitude < 10 ** -(digits - 1):
        return f"{value:.{digits - 1}g}"
    return f"{value:.{digits}g}"


def without_server_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """An object as a person wants to read it: without managedFields (pages of noise)."""
    out = dict(obj)
    meta = dict(out.get("metadata") or {})
    meta.pop("managedFields", None)
    out["metadata"] = meta
    return out
