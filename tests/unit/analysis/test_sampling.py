"""Where distribution range queries sample (issue 10, defect 1).

Pins down: the step of a distribution query is never shorter than the longest range in it (points of
``rate(...[w])`` do not share requests), its first point is one range after the step started (no requests of the
previous step), durations and subqueries are read as Prometheus writes them, and a query without a range keeps
the old spread of at most MAX_POINTS points.
"""

from __future__ import annotations

import pytest

from canary.analysis.sampling import MAX_POINTS, SampleGrid, duration_seconds, longest_range, sample_grid

P95 = 'histogram_quantile(0.95, sum by (le, pod) (rate(x_bucket{pod=~"web-[a-z0-9]+"}[1m])))'


@pytest.mark.parametrize(("text", "seconds"), [("1m", 60), ("1m30s", 90), ("500ms", 0.5), ("2h", 7200), ("1d", 86400)])
def test_durations(text: str, seconds: float) -> None:
    assert duration_seconds(text) == seconds


def test_the_longest_range_wins_and_label_regexes_are_not_ranges() -> None:
    assert longest_range(P95) == 60
    assert longest_range("max_over_time(rate(x[30s])[5m:15s])") == 300
    assert longest_range("up") is None


@pytest.mark.parametrize(("window", "grid"), [
    (300.0, SampleGrid(60.0, 60.0)),  # 5 minutes: 4 disjoint 1-minute windows after the first minute
    (7200.0, SampleGrid(60.0, 120.0)),  # long windows keep at most MAX_POINTS points
    (30.0, SampleGrid(30.0, 60.0)),  # shorter than the range: one point at the end
])
def test_points_do_not_overlap(window: float, grid: SampleGrid) -> None:
    got = sample_grid(P95, window)
    assert got == grid
    assert got.step >= 60.0


def test_a_gauge_without_a_range_keeps_the_old_spread() -> None:
    assert sample_grid("queue_depth", 600.0) == SampleGrid(0.0, 600.0 / MAX_POINTS)
