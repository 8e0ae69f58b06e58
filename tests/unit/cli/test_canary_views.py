"""What `kubectl canary status` and `report` show from a CanaryRelease: the status table (phase, step, weight,
the latest verdict of each metric with its numbers), and a self-contained HTML report in which a person sees
why a canary failed (the failing metric with canary and baseline values, effect, p-value and interval), a plot
per metric of canary against baseline over time, the verdicts, and the step timeline; with nothing fetched
from a network and every cluster-provided text escaped. Also the annotation verbs' one-annotation patch."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from canary.cli.actions import action_patch
from canary.cli.main import build_parser, main
from canary.cli.report_html import render_report
from canary.cli.status import format_status
from canary.models import Action
from tests.unit.cli.canaries import PROGRESSING, ROLLED_BACK, body, stamp, with_status

NOW = datetime(2026, 3, 1, 12, 5, 0, tzinfo=UTC)


def test_status_table_shows_phase_step_weight_and_each_metrics_latest_verdict() -> None:
    text = format_status(body(PROGRESSING), NOW)
    assert "CanaryRelease:  prod/shop-v2 (Release shop)" in text
    assert "Phase:          Progressing" in text
    assert "Step:           2/3: 50% for 2m, started 2026-03-01 12:01:15Z (3m45s ago)" in text
    assert "Weight:         50%" in text
    assert "Verdict:        Pass (analysed 2026-03-01 12:01:30Z (3m30s ago))" in text
    rows = text.split("\n\n")[-1].splitlines()
    assert rows[0].split()[:6] == ["METRIC", "VERDICT", "CANARY", "BASELINE", "EFFECT", "P-VALUE"]
    assert rows[1].split()[:6] == ["http-error-rate", "Pass", "0.0022", "0.002", "1.1", "0.41"]
    assert "1200 / 1180" in rows[1] and rows[1].endswith("3m30s ago")
    assert rows[2].startswith("http-latency-p99")


def test_status_of_a_rolled_back_canary_names_the_reason_and_the_failing_verdict() -> None:
    text = format_status(body(ROLLED_BACK), NOW)
    assert "Phase:          RolledBack (AnalysisFailed)" in text
    assert "on metric http-error-rate" in text
    failing = next(line for line in text.splitlines() if line.startswith("http-error-rate"))
    assert failing.split()[:4] == ["http-error-rate", "High", "0.052", "0.0021"]
    assert "1.2e-06" in failing


def test_status_before_any_analysis_and_with_a_pending_action() -> None:
    fresh = body({}, action="pause")
    text = format_status(fresh, NOW)
    assert "Phase:          Pending" in text and "no analysis yet" in text
    assert "Action:         pause (pending" in text


def test_report_explains_why_with_the_failing_metrics_numbers() -> None:
    page = render_report(body(ROLLED_BACK), (), NOW)
    why = page[page.index("<h2>Why</h2>"):page.index("<h2>Steps</h2>")]
    assert "http-error-rate was High at 12:02:00 (step 2, 50%)" in why
    assert "canary 0.052 vs baseline 0.0021" in why and "p-value 1.2e-06" in why
    assert "interval of canary - baseline [0.0479, 0.0519]" in why
    assert "error ratio rose beyond the allowed increase" in why
    assert 'class="banner bad"' in page and "RolledBack (AnalysisFailed)" in page


def test_report_has_a_plot_per_metric_and_every_verdict_with_interval_and_p_value() -> None:
    page = render_report(body(ROLLED_BACK), (), NOW)
    assert page.count("<svg") == 1 + 2 * 2  # the weight timeline, then values and interval per metric
    for metric in ("http-error-rate", "http-latency-p99"):
        assert f"{metric}: canary vs baseline" in page
        assert f"{metric}: interval of canary - baseline" in page
    error_rate = page[page.index("<h3>http-error-rate"):page.index("<h3>http-latency-p99")]
    assert error_rate.count("<polyline") == 2  # canary and baseline lines
    assert error_rate.count('<td class="v-Pass">Pass</td>') == 3 and '<td class="v-High">High</td>' in error_rate
    assert "1.2e-06" in error_rate and "[0.0479, 0.0519]" in error_rate
    assert "<circle" in error_rate  # the failing analysis is marked on the plot


def test_report_timeline_from_events_or_from_the_status_when_events_expired() -> None:
    events = [
        {"reason": "Forking", "message": "forking web", "lastTimestamp": stamp(0)},
        {"reason": "StepStarted", "message": "step 2/3: 50% for 2m", "lastTimestamp": stamp(75)},
        {"reason": "AnalysisFailed", "message": "analysis failed", "lastTimestamp": stamp(125)},
    ]
    page = render_report(body(ROLLED_BACK), events, NOW)
    timeline = page[page.index("<h2>Timeline</h2>"):page.index("<h2>Metrics</h2>")]
    assert "<td>12:01:15</td><td>StepStarted</td><td>step 2/3: 50% for 2m</td>" in timeline
    derived = render_report(body(ROLLED_BACK), (), NOW)
    timeline = derived[derived.index("<h2>Timeline</h2>"):derived.index("<h2>Metrics</h2>")]
    assert "<td>12:00:00</td><td>Forking</td>" in timeline
    assert "<td>12:01:30</td><td>Step 2</td><td>first analysis at 50%: Pass</td>" in timeline
    assert "<td>12:02:05</td><td>AnalysisFailed</td>" in timeline
    assert "Traffic weight on the canary" in timeline


def test_report_is_self_contained_and_escapes_what_came_from_the_cluster() -> None:
    hostile = with_status(ROLLED_BACK, message='<script>alert("x")</script>')
    events = [{"reason": "X", "message": "<img src=x onerror=y>", "lastTimestamp": stamp(1)}]
    page = render_report(body(hostile), events, NOW)
    assert "<script" not in page.lower() and "<img" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=x" in page
    assert not re.search(r'(src|href)\s*=\s*"', page)  # no fetched resources: styles and plots are inline
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")


def test_report_before_any_analysis(tmp_path: Path) -> None:
    page = render_report(body({}), (), NOW)
    assert "No analysis has run yet." in page and "Pending" in page


def test_report_command_works_offline_from_a_saved_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "saved.yaml"
    saved.write_text(yaml.safe_dump(body(ROLLED_BACK)))
    out = tmp_path / "report.html"
    assert main(["report", "-f", str(saved), "-o", str(out)]) == 0
    assert "http-error-rate was High" in out.read_text()
    assert main(["report", "-f", str(tmp_path / "missing.yaml")]) == 4
    assert "missing.yaml" in capsys.readouterr().err


def test_actions_are_a_merge_patch_of_one_annotation_and_parse_as_subcommands() -> None:
    for action in Action:
        assert action_patch(action) == {"metadata": {"annotations": {"rudder.dev/action": action.value}}}
        args = build_parser().parse_args([action.value, "shop-v2", "-n", "prod", "--wait"])
        assert (args.action, args.name, args.namespace, args.wait) == (action, "shop-v2", "prod", True)


def test_usage_errors_exit_4_except_judge_which_keeps_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["wait"], ["wait", "x", "--bogus"], ["nope"], ["promote"]):
        with pytest.raises(SystemExit) as exit_info:
            build_parser().parse_args(argv)
        assert exit_info.value.code == 4, argv
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["judge", "--policy", "p"])
    assert exit_info.value.code == 2
    capsys.readouterr()
