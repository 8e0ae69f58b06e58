"""RFC 3339 timestamps as Kubernetes writes them (`2026-01-01T12:00:00Z`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def format_time(moment: datetime) -> str:
    """Seconds precision, `Z` for UTC: the form the API server stores and returns unchanged."""
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(text: Any) -> datetime | None:
    """A timestamp from status, or None when absent or malformed."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
