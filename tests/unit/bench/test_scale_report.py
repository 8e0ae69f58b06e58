"""The scale benchmark's pure parts: when 50/90/100% of the Releases were Ready, the MTTP table and the
ratio table (a namespace stuck on uninstall shows as stuck), the reaction table and which Releases it samples, a
variant's command line and the scenario's flags
added to it, `--ref NAME=GITREF` parsing and resolving (the working tree, or a clear error for an unknown
commit), and counting one controller's requests from the API server's Priority-and-Fairness metric."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.scale.cluster import parse_dispatched, parse_dry_runs
from bench.scale.process import Variant
from bench.scale.reactions import sampled
from bench.scale.refs import parse_ref, resolve
from bench.scale.report import Result, duration, ratio_table, reaction_table, table, time_to_fraction
from tests.unit.deploy.manifests import REPO


def result(variant: str, ready_100: float | None, idle_requests: float = 600.0) -> Result:
    return Result(variant=variant, releases=100, ready_50=10.0, ready_90=20.0, ready_100=ready_100,
                  peak_rss_mib=82.0, cpu_seconds_install=30.0, idle_window=60.0, idle_requests=idle_requests,
                  idle_writes=0.0, idle_cpu_seconds=15.0, uninstall_seconds=40.0, cpu_seconds_total=60.0)


def test_time_to_fraction_is_the_time_the_needed_object_became_ready() -> None:
    times = [5.0, 1.0, 3.0, 2.0]
    assert time_to_fraction(times, 4, 0.5) == 2.0
    assert time_to_fraction(times, 4, 1.0) == 5.0
    assert time_to_fraction(times, 5, 1.0) is None  # one never became Ready
    assert time_to_fraction(times, 10, 0.9) is None


def test_durations_read_like_flux_results() -> None:
    assert duration(492.4) == "8m12s"
    assert duration(27.2) == "27s"
    assert duration(3.72) == "3.7s"
    assert duration(None) == "-"


def test_table_has_one_row_per_result_with_per_release_idle_load() -> None:
    text = table([result("polling", 28.0)])
    lines = text.splitlines()
    assert len(lines) == 3
    assert lines[2] == ("| 100 | polling | 10s | 20s | 28s | 82 MiB | 30.0 s | 10.0 | 0.100 "
                        "| 25.0% of a core | 0 (0 dry-run) | 40s |")


def test_ratios_compare_each_variant_to_the_first_of_the_same_size() -> None:
    text = ratio_table([result("polling", 28.0), result("watch", 14.0, idle_requests=6.0)])
    row = text.splitlines()[2]
    # 50%, 90%, 100% Ready, peak RSS, CPU, idle req/s, idle CPU, uninstall
    assert row == "| 100 | watch / polling | 1.00x | 1.00x | 0.50x | 1.00x | 1.00x | 0.01x | 1.00x | 1.00x |"
    assert ratio_table([result("polling", 28.0)]) == ""
    assert "| - |" in ratio_table([result("polling", None), result("watch", 14.0)])


def test_variant_is_a_name_and_a_command_line() -> None:
    v = Variant.parse("watch=env -C /src/rudder python -m rudder.controller --controllers 'release'")
    assert v.name == "watch"
    assert v.command == ("env", "-C", "/src/rudder", "python", "-m", "rudder.controller", "--controllers", "release")


@pytest.mark.parametrize("text", ["no-command", "Bad_Name=python", "x=", "=python"])
def test_a_malformed_variant_is_refused_with_its_text(text: str) -> None:
    with pytest.raises(ValueError, match="expected NAME=COMMAND"):
        Variant.parse(text)


def test_dispatched_requests_are_summed_for_one_flow_schema_only() -> None:
    metrics = "\n".join([
        "# HELP apiserver_flowcontrol_dispatched_requests_total ...",
        'apiserver_flowcontrol_dispatched_requests_total{flow_schema="exempt",priority_level="exempt"} 8998',
        'apiserver_flowcontrol_dispatched_requests_total{flow_schema="rudder-bench-a-read",priority_level="x"} 156',
        'apiserver_flowcontrol_dispatched_requests_total{flow_schema="rudder-bench-a-read",priority_level="y"} 4',
        'apiserver_flowcontrol_dispatched_requests_total{flow_schema="rudder-bench-ab-read",priority_level="x"} 7',
        'apiserver_flowcontrol_current_executing_requests{flow_schema="rudder-bench-a-read"} 3',
    ])
    assert parse_dispatched(metrics, "rudder-bench-a-read") == 160
    assert parse_dispatched(metrics, "rudder-bench-b-read") == 0


def test_dry_run_requests_are_counted_apart() -> None:
    metrics = "\n".join([
        'apiserver_request_total{code="200",component="apiserver",dry_run="",resource="configmaps",verb="APPLY"} 9',
        'apiserver_request_total{code="200",component="apiserver",dry_run="All",resource="configmaps",verb="APPLY"} 4',
        'apiserver_request_total{code="201",component="apiserver",dry_run="All",resource="services",verb="APPLY"} 2',
    ])
    assert parse_dry_runs(metrics) == 6


def test_a_namespace_stuck_on_uninstall_shows_as_stuck_with_what_held_it() -> None:
    stuck = Result(variant="watch", releases=100, ready_50=10.0, ready_90=20.0, ready_100=30.0, peak_rss_mib=82.0,
                   cpu_seconds_install=30.0, idle_window=60.0, idle_requests=0.0, idle_writes=0.0,
                   idle_cpu_seconds=1.0, uninstall_seconds=None, cpu_seconds_total=60.0, uninstall_leftovers=3)
    assert table([stuck]).splitlines()[2].endswith("| stuck (3 objects left) |")


def test_the_scenario_adds_its_controllers_unless_the_command_names_them() -> None:
    ref = Variant("current", ("python", "-m", "rudder.controller"))
    assert ref.command_for("release,canary", ("--prometheus-url", "http://p")) == [
        "python", "-m", "rudder.controller", "--controllers", "release,canary", "--prometheus-url", "http://p"]
    own = Variant.parse("mine=python -m rudder.controller --controllers release --resync 30")
    assert own.command_for("release,canary") == [
        "python", "-m", "rudder.controller", "--controllers", "release", "--resync", "30"]


def test_a_ref_is_a_name_and_a_git_ref() -> None:
    assert parse_ref("baseline=72a952e") == ("baseline", "72a952e")
    assert parse_ref("current=WORKTREE") == ("current", "WORKTREE")
    for bad in ("72a952e", "Base=main", "x="):
        with pytest.raises(ValueError, match=r"--ref"):
            parse_ref(bad)


def test_refs_resolve_to_the_working_tree_or_refuse_an_unknown_commit(tmp_path: Path) -> None:
    current = resolve(REPO, "current=WORKTREE", tmp_path)
    assert current.cwd == REPO and current.source.startswith("working tree at ")
    with pytest.raises(ValueError, match=r"'no-such-ref-zz9' is not a commit"):
        resolve(REPO, "old=no-such-ref-zz9", tmp_path)
    assert list(tmp_path.iterdir()) == [], "nothing exported for a ref that does not exist"


def test_reactions_sample_releases_spread_over_n_and_report_median_and_max() -> None:
    assert sampled(1000, 4) == ["r00000", "r00250", "r00500", "r00750"]
    assert sampled(3, 10) == ["r00000", "r00001", "r00002"]
    assert sampled(0, 10) == []
    measured = Result(**{**result("current", 30.0).__dict__, "pod_reactions": (0.4, 0.2, 1.5),
                         "edit_reactions": (0.3, 0.6)})
    text = reaction_table([result("baseline", 40.0), measured])
    assert "| 100 | current | 0.40s / 1.50s (3) | 0.30s / 0.60s (2) |" in text
    assert "baseline" not in text, "a variant that measured nothing has no row"
    assert reaction_table([result("baseline", 40.0)]) == ""
