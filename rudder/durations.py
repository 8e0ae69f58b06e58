"""Go-style durations (`5m`, `1h30m`, `250ms`) as Releases, CanaryReleases and the command lines write them.

Bounded in length and to Go's largest duration, so no absurd value reaches date arithmetic.
"""

from __future__ import annotations

import math
import re

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
# Go's time.Duration ends at 2562047h47m16.854775807s; past it a value overflows datetime arithmetic.
MAX_DURATION_SECONDS = 9_223_372_036.854775807
MAX_DURATION_LENGTH = 32


def _shown(text: str) -> str:
    return repr(text) if len(text) <= MAX_DURATION_LENGTH else repr(text[:MAX_DURATION_LENGTH] + "...")


def check_duration_seconds(seconds: float) -> float:
    """`seconds` if it is a finite duration Go could hold; raise ValueError otherwise."""
    if not math.isfinite(seconds) or abs(seconds) > MAX_DURATION_SECONDS:
        raise ValueError("duration too long: at most 2562047h (Go's largest duration)")
    return seconds


def parse_duration(text: str) -> float:
    """Parse a Go-style duration (`5m`, `30s`, `1h30m`, `1.5h`, `250ms`) into seconds; raise ValueError.

    At most MAX_DURATION_LENGTH characters and Go's largest duration (2562047h), so no absurd value reaches
    date arithmetic (`99999999999h` would overflow it).
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError("empty duration")
    if len(stripped) > MAX_DURATION_LENGTH:
        raise ValueError(f"invalid duration {_shown(stripped)}: longer than {MAX_DURATION_LENGTH} characters")
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(stripped):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(stripped):
        raise ValueError(f"invalid duration {_shown(text)}: use numbers with units h, m, s or ms, e.g. 5m or 1h30m")
    return check_duration_seconds(total)
