"""Searching text for sentinel secret values in every form a leak could take: clear, base64 and
JSON-escaped (ASCII-escaped and not, so a non-ASCII sentinel is caught either way)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable


def forms(secret: str) -> list[str]:
    return [secret, base64.b64encode(secret.encode()).decode(), json.dumps(secret)[1:-1],
            json.dumps(secret, ensure_ascii=False)[1:-1]]


def sentinel_hits(where: str, text: str, sentinels: Iterable[str]) -> list[str]:
    """One line per sentinel form found in `text`, naming `where`; empty when nothing leaked."""
    return [f"{where}: {form!r}" for secret in sentinels for form in forms(secret) if form in text]
