"""Where a distribution policy's range query samples: points whose rate windows do not overlap.

A distribution policy is a range query; every point of every series is one sample of the rank-sum test.
Each point of ``histogram_quantile(q, rate(...[w]))`` summarises the requests of the ``w`` seconds before it,
so points closer than ``w`` share requests: at the old step (analysis window / 60) neighbouring points of a
``[1m]`` rate shared most of their requests (lag-1 autocorrelation 0.8-0.9) and the test, which assumes
independent samples, failed healthy canaries several times more often than alpha.  Here the step is never
shorter than the longest range in the query and the first point is one range after the step started, so
every point summarises its own requests, all of them served during the step (docs/analysis.md, "Sampling").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Range selectors and subqueries: [5m], [1m30s], [10m:30s]; the range is the part before the colon.
_RANGE = re.compile(r"\[\s*((?:\d+(?:ms|[smhdwy]))+)\s*(?::[^\]]*)?\]")
_UNIT = re.compile(r"(\d+)(ms|[smhdwy])")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, "y": 31536000.0}

# At most this many points per series over one analysis window (ranges longer than window / MAX_POINTS win).
MAX_POINTS = 60


def duration_seconds(text: str) -> float:
    """A PromQL duration (``1m30s``) in seconds."""
    return sum(int(n) * _SECONDS[unit] for n, unit in _UNIT.findall(text))


def longest_range(query: str) -> float | None:
    """The longest range selector or subquery range of a rendered query, in seconds; None without one."""
    ranges = [duration_seconds(m.group(1)) for m in _RANGE.finditer(query)]
    return max(ranges) if ranges else None


@dataclass(frozen=True)
class SampleGrid:
    """The points of a distribution query over one analysis window: ``offset`` seconds after the window's
    start, then every ``step`` seconds until its end."""

    offset: float
    step: float


def sample_grid(query: str, window: float) -> SampleGrid:
    """Non-overlapping points for ``query`` over a window of ``window`` seconds.

    With a range ``w`` in the query: step max(w, window / MAX_POINTS), first point at ``w`` (its window starts
    with the analysis window; before that the rate would count requests of the previous step), or at the
    window's end when the window is shorter than ``w``.  Without a range (a gauge): step window / MAX_POINTS.
    """
    window = max(window, 1.0)
    spread = max(1.0, window / MAX_POINTS)
    w = longest_range(query)
    if w is None:
        return SampleGrid(0.0, spread)
    return SampleGrid(min(w, window), max(w, spread))
