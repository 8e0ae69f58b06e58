"""The canary scenario's figures from the statuses a watch delivers: each analysis look is due one interval
after the previous look of its step (or after the step started), its cadence error is how late it started as a
share of the interval; look -> visible is when the harness saw it minus its time; the verdict latency comes from
`judgedAt` when records carry it, else is estimated by subtracting the mean analysis time; a record seen again
in later statuses counts once; the canary table and ratios show them per variant."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bench.scale.looks import CanaryResult, LookLog, canary_ratio_table, canary_table, histogram_mean, percentile

T0 = 1_800_000_000.0


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(T0 + seconds, UTC).isoformat().replace("+00:00", "Z")


def status(step: int, started: float, *looks: tuple[int, float], phase: str = "Progressing",
           judged: dict[float, float] | None = None) -> dict[str, Any]:
    records = []
    for look_step, at in looks:
        record: dict[str, Any] = {"time": iso(at), "step": look_step, "weight": 10, "verdict": "Inconclusive"}
        if judged and at in judged:
            record["judgedAt"] = iso(judged[at])
        records.append(record)
    return {"phase": phase, "step": step, "stepStartedAt": iso(started), "analysis": records}


def test_cadence_error_is_lateness_against_the_previous_look_or_the_step_start() -> None:
    log = LookLog()
    log.observe("a", status(1, 0, (1, 10)), T0 + 10.5)
    log.observe("a", status(1, 0, (1, 10), (1, 22)), T0 + 22.5)  # 2 s late: 20%
    log.observe("a", status(2, 30, (1, 10), (1, 22), (2, 45)), T0 + 46.0)  # 5 s late after the step start: 50%
    assert len(log.looks) == 3, "a record repeated in later statuses counts once"
    assert sorted(log.cadence_errors(10.0)) == [0.0, 0.2, 0.5]


def test_a_look_early_against_its_due_time_counts_as_on_time() -> None:
    log = LookLog()
    log.observe("a", status(1, 0, (1, 9)), T0 + 9.2)
    assert log.cadence_errors(10.0) == [0.0]


def test_a_first_look_of_a_step_whose_start_was_never_seen_has_no_due_time() -> None:
    log = LookLog()
    # The harness's first sight of this canary is already in step 2: step 1's start is unknown.
    log.observe("a", status(2, 30, (1, 20), (2, 40)), T0 + 41)
    assert log.cadence_errors(10.0) == [0.0]  # only step 2's look, due 10 s after step 2 started
    assert len(log.looks) == 2


def test_visible_and_verdict_latencies() -> None:
    log = LookLog()
    log.observe("a", status(1, 0, (1, 10)), T0 + 13.0)
    log.observe("b", status(1, 0, (1, 10), judged={10: 11.5}), T0 + 12.0)
    assert sorted(log.visible_latencies()) == [2.0, 3.0]
    # b's record says when it was judged; a's verdict latency is estimated with a 1.5 s mean analysis.
    assert sorted(log.verdict_latencies(1.5)) == [0.5, 1.5]
    assert log.verdict_latencies(None) == [0.5], "without a mean only judged records count"


def test_percentile_is_nearest_rank() -> None:
    assert percentile([3.0, 1.0, 2.0, 4.0], 0.5) == 2.0
    assert percentile([3.0, 1.0, 2.0, 4.0], 0.95) == 4.0
    assert percentile([], 0.5) is None


def test_histogram_mean_sums_every_labelled_series() -> None:
    text = "\n".join([
        "# TYPE rudder_canary_analysis_seconds histogram",
        'rudder_canary_analysis_seconds_bucket{le="1.0"} 3.0',
        "rudder_canary_analysis_seconds_sum 6.0",
        "rudder_canary_analysis_seconds_count 4.0",
        'other_seconds_sum{a="b"} 100.0',
    ])
    assert histogram_mean(text, "rudder_canary_analysis_seconds") == 1.5
    assert histogram_mean("", "rudder_canary_analysis_seconds") is None


def result(variant: str, late: float, latency: float) -> CanaryResult:
    log = LookLog()
    for i, name in enumerate(("a", "b")):
        log.observe(name, status(1, 0, (1, 10 + late * 10 * i)), T0 + 10 + late * 10 * i + latency + 1.0)
    log.observe("a", {"phase": "Promoted"}, T0 + 100)
    return CanaryResult.of(variant, 1000, 2, 10.0, log, analysis_mean=1.0, peak_rss_mib=300.0, cpu_seconds=40.0,
                           uninstall_seconds=60.0, uninstall_leftovers=0)


def test_canary_table_and_ratios() -> None:
    base, new = result("baseline", 0.5, 4.0), result("current", 0.1, 1.0)
    assert (base.looks, base.cadence_max, base.within_20) == (2, 0.5, 0.5)
    assert base.phases == {"Progressing": 1, "Promoted": 1}
    row = canary_table([base, new]).splitlines()[3]
    # These records carry no judgedAt: the verdict latency is an estimate, and the table says so.
    assert row == ("| 2 on 1000 | current | 2 | 0% / 10% / 10% | 100% | 2.0s / 2.0s | 1.0s / 1.0s / 1.0s (est.) "
                   "| 1.0s "
                   "| 300 MiB | 40 s | Progressing 1, Promoted 1 | 1m0s |")
    ratios = canary_ratio_table([base, new]).splitlines()
    assert ratios[2] == "| current / baseline | 0.20x | 0.25x | 1.00x | 1.00x | 1.00x |"
    assert canary_ratio_table([base]) == ""


@pytest.mark.parametrize("text", ["", "soon", None, 12])
def test_unreadable_times_are_skipped(text: Any) -> None:
    log = LookLog()
    log.observe("a", {"phase": "Progressing", "step": 1, "stepStartedAt": text,
                      "analysis": [{"time": text, "step": 1}]}, T0)
    assert log.looks == {}
