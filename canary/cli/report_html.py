"""The canary report as one self-contained HTML page: inline CSS and SVG, no script, no network.

It answers, in this order: what happened (the outcome and its reason), why (the metrics that failed, with
canary and baseline values, effect, p-value and interval), how it went (the step timeline and the traffic
weight over time), and the evidence per metric (canary against baseline over time, the interval of their
difference, and every verdict). Everything that came from the cluster is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any

from canary.cli import svg
from canary.cli.status import describe_step, interval, samples
from canary.domain.status import rollback_reason
from canary.models import (
    AnalysisRecord,
    CanarySpec,
    CanaryStatus,
    MetricResult,
    ParsedCanary,
    ParseError,
    PauseStep,
    Phase,
    WeightStep,
    parse_canary,
)
from rudder.cli.output import MISSING, format_duration, format_number, parse_time

CANARY, BASELINE, WEIGHT = "#d9480f", "#1c7ed6", "#5f3dc4"
BAD, GOOD, NEUTRAL = "#e03131", "#2f9e44", "#868e96"
# A metric that regressed: the controller records the verdict Fail (status.analysis[].metrics[].verdict, the
# contract's Pass | Fail | Inconclusive | NoData | Error); High and Low, the judge's classifications, are read too.
REGRESSIONS = ("Fail", "High", "Low")
_OUTCOME_CLASS = {
    Phase.PROMOTED: "good", Phase.ROLLED_BACK: "bad", Phase.FAILED: "bad", Phase.ROLLING_BACK: "bad",
    Phase.PAUSED: "wait",
}

_CSS = "".join((
    "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;",
    "max-width:1000px;color:#212529;padding:0 1em}",
    "h1{font-size:1.5em;margin-bottom:.2em}",
    "h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #dee2e6}",
    "h3{font-size:1.05em;margin-top:1.4em}",
    ".meta{color:#495057}",
    ".banner{padding:.8em 1em;border-radius:6px;margin:1em 0;border-left:6px solid #1c7ed6;background:#e7f5ff}",
    ".banner.good{border-color:#2f9e44;background:#ebfbee}",
    ".banner.bad{border-color:#e03131;background:#fff5f5}",
    ".banner.wait{border-color:#f08c00;background:#fff9db}",
    ".banner strong{font-size:1.1em}",
    "table{border-collapse:collapse;margin:.6em 0;font-size:13px}",
    "td,th{padding:3px 10px;border-bottom:1px solid #e9ecef;text-align:left;vertical-align:top}",
    "th{background:#f8f9fa}",
    "td.num{text-align:right;font-variant-numeric:tabular-nums}",
    ".v-High,.v-Low,.v-Fail{color:#c92a2a;font-weight:600}",
    ".v-Pass{color:#2b8a3e}",
    ".v-NoData,.v-Error,.v-Inconclusive{color:#868e96}",
    ".why li{margin:.3em 0}",
    "pre{background:#f8f9fa;padding:.6em;overflow-x:auto;font-size:12px}",
    "svg.chart{display:block;margin:.4em 0}",
    ".plot{fill:#fff;stroke:#ced4da}",
    ".grid{stroke:#f1f3f5}",
    ".zero{stroke:#495057;stroke-dasharray:3 3}",
    ".tick,.legend{font-size:11px;fill:#495057}",
    ".axis-label{font-size:11px;fill:#495057}",
    ".chart-title{font-size:12px;font-weight:600;fill:#212529}",
))


@dataclass(frozen=True)
class TimelineEntry:
    time: datetime | None
    what: str
    detail: str


def render_report(
    body: Mapping[str, Any], events: Sequence[Mapping[str, Any]] = (), now: datetime | None = None
) -> str:
    """The whole HTML page for one CanaryRelease (`events`: its Events, oldest first, if still kept)."""
    now = now or datetime.now(UTC)
    parsed = parse_canary(body)
    status, spec, meta = parsed.status, parsed.spec, parsed.meta
    release = spec.release if not isinstance(spec, ParseError) else str((body.get("spec") or {}).get("release", "?"))
    title = f"Canary report: {meta.namespace}/{meta.name}"
    sections = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">Release <b>{escape(release)}</b> &middot; generated {now:%Y-%m-%d %H:%M:%SZ}'
        f" &middot; stable revision {status.stable_revision or MISSING} &middot; promoted revision "
        f"{status.promoted_revision or MISSING}</p>",
        _banner(parsed),
        _why(status),
        _steps(status, spec),
        _timeline(status, spec, events, now),
        _metrics(status),
        _analyses(status),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(s for s in sections if s)
        + "</body></html>\n"
    )


def _banner(parsed: ParsedCanary) -> str:
    status = parsed.status
    reason = status.paused_reason or rollback_reason(status)
    css = _OUTCOME_CLASS.get(status.phase, "")
    headline = f"{status.phase.value}{f' ({reason})' if reason else ''}"
    pending = f"<br>Pending action: {escape(parsed.action.raw)}" if parsed.action else ""
    invalid = f"<br>Invalid spec: {escape(str(parsed.spec))}" if isinstance(parsed.spec, ParseError) else ""
    return (f'<div class="banner {css}"><strong>{escape(headline)}</strong><br>'
            f"{escape(status.message or 'no message')}{pending}{invalid}</div>")


def failing_results(status: CanaryStatus) -> list[tuple[AnalysisRecord, MetricResult]]:
    """The metrics that regressed (Fail, or High or Low) in the latest analysis that had any regression."""
    for record in reversed(status.analysis):
        bad = [(record, m) for m in record.metrics if m.verdict in REGRESSIONS]
        if bad:
            return bad
    return []


def explain(record: AnalysisRecord, metric: MetricResult) -> str:
    """One sentence a person can act on: `http-error-rate was High at 12:03:00 (step 2, 50%): ...`."""
    effect = f" (effect {format_number(metric.effect)})" if metric.effect is not None else ""
    parts = [
        f"{metric.name} was {metric.verdict} at {record.time:%H:%M:%S} (step {record.step + 1}, {record.weight}%): "
        f"canary {format_number(metric.canary)} vs baseline {format_number(metric.baseline)}{effect}",
        f"p-value {format_number(metric.p_value)}",
        f"interval of canary - baseline {interval(metric)}",
        f"samples {samples(metric)}",
    ]
    text = ", ".join(parts)
    return f"{text}. {metric.message}" if metric.message else text


def _why(status: CanaryStatus) -> str:
    bad = failing_results(status)
    if not bad:
        return ""
    items = "".join(f"<li>{escape(explain(r, m))}</li>" for r, m in bad)
    return f'<h2>Why</h2><ul class="why">{items}</ul>'


def _steps(status: CanaryStatus, spec: CanarySpec | ParseError) -> str:
    if isinstance(spec, ParseError):
        return ""
    rows = []
    for i, step in enumerate(spec.steps):
        if isinstance(step, WeightStep):
            what = f"{step.weight}% for {format_duration(step.duration)}"
        elif isinstance(step, PauseStep):
            until = "until resumed" if step.duration is None else f"for {format_duration(step.duration)}"
            what = f"pause {until}"
        state = "done" if i < status.step else ("current" if i == status.step and status.phase.active else "")
        rows.append(f"<tr><td>{i + 1}</td><td>{escape(what)}</td><td>{state}</td></tr>")
    current = escape(describe_step(status, spec))
    return (f"<h2>Steps</h2><p>Now: {current} &middot; weight {status.weight}%</p>"
            f"<table><tr><th>#</th><th>step</th><th>state</th></tr>{''.join(rows)}</table>")


def timeline_entries(status: CanaryStatus, events: Sequence[Mapping[str, Any]]) -> list[TimelineEntry]:
    """The step timeline in words: the controller's Events when the API still has them, otherwise what the
    status remembers (copies created, each step's first analysis, the latest transition)."""
    if events:
        return [
            TimelineEntry(parse_time(e.get("lastTimestamp") or e.get("eventTime") or e.get("firstTimestamp")),
                          str(e.get("reason") or ""), str(e.get("message") or ""))
            for e in events
        ]
    entries = []
    if status.copies_created_at:
        entries.append(TimelineEntry(status.copies_created_at, "Forking", "canary and baseline copies created"))
    seen_steps: set[int] = set()
    for record in status.analysis:
        if record.step not in seen_steps:
            seen_steps.add(record.step)
            entries.append(TimelineEntry(record.time, f"Step {record.step + 1}",
                                         f"first analysis at {record.weight}%: {record.verdict.value}"))
    for condition in status.conditions:
        if condition.type == "Promoted" and condition.status != "Unknown":
            entries.append(TimelineEntry(condition.last_transition_time, condition.reason, condition.message))
    return sorted(entries, key=lambda e: e.time or datetime.min.replace(tzinfo=UTC))


def weight_points(status: CanaryStatus, now: datetime) -> list[tuple[float, float]]:
    """Traffic weight over time as the status remembers it (0 before the copies, each analysis's weight)."""
    points = []
    if status.copies_created_at:
        points.append((status.copies_created_at.timestamp(), 0.0))
    points += [(r.time.timestamp(), float(r.weight)) for r in status.analysis]
    if points:
        points.append((_last_change(status, now).timestamp(), float(status.weight)))
    return points


def _last_change(status: CanaryStatus, now: datetime) -> datetime:
    """Now for a running canary; for a finished one, when it finished (the latest condition change)."""
    if status.phase.active or status.phase is Phase.PENDING:
        return now
    times = [c.last_transition_time for c in status.conditions if c.last_transition_time is not None]
    times += [r.time for r in status.analysis]
    return max(times) if times else now


def _timeline(status: CanaryStatus, spec: CanarySpec | ParseError, events: Sequence[Mapping[str, Any]],
              now: datetime) -> str:
    entries = timeline_entries(status, events)
    rows = "".join(
        f"<tr><td>{e.time:%H:%M:%S}</td><td>{escape(e.what)}</td><td>{escape(e.detail)}</td></tr>" if e.time else
        f"<tr><td>-</td><td>{escape(e.what)}</td><td>{escape(e.detail)}</td></tr>"
        for e in entries
    )
    points = weight_points(status, now)
    chart = svg.render(svg.Chart(
        title="Traffic weight on the canary (%)", y_label="weight %", y_min=0, y_max=100,
        series=[svg.Series("weight", points, WEIGHT, step=True)],
    )) if points else ""
    table = f"<table><tr><th>time (UTC)</th><th>what</th><th>detail</th></tr>{rows}</table>" if rows else ""
    return f"<h2>Timeline</h2>{chart}{table or '<p>No events or analyses recorded yet.</p>'}"


def metric_series(status: CanaryStatus) -> dict[str, list[tuple[AnalysisRecord, MetricResult]]]:
    """Every analysis of each metric, oldest first, metrics in order of first appearance."""
    out: dict[str, list[tuple[AnalysisRecord, MetricResult]]] = {}
    for record in status.analysis:
        for metric in record.metrics:
            out.setdefault(metric.name, []).append((record, metric))
    return out


def _metric_charts(name: str, history: list[tuple[AnalysisRecord, MetricResult]]) -> str:
    canary = [(r.time.timestamp(), m.canary) for r, m in history if m.canary is not None]
    baseline = [(r.time.timestamp(), m.baseline) for r, m in history if m.baseline is not None]
    markers = [
        svg.Marker(r.time.timestamp(), m.canary, BAD if m.verdict in REGRESSIONS else NEUTRAL,
                   f"{m.verdict} at {r.time:%H:%M:%S}: canary {format_number(m.canary)}, baseline "
                   f"{format_number(m.baseline)}, p {format_number(m.p_value)}", ring=True)
        for r, m in history if m.canary is not None and m.verdict != "Pass"
    ]
    span = (history[0][0].time.timestamp(), history[-1][0].time.timestamp())
    values = svg.render(svg.Chart(
        title=f"{name}: canary vs baseline", y_label="value", x_range=span, markers=markers,
        series=[svg.Series("canary", canary, CANARY), svg.Series("baseline", baseline, BASELINE, dashed=True)],
    ))
    whiskers = [
        svg.Whisker(r.time.timestamp(), m.ci_low, m.ci_high, BAD if m.verdict in REGRESSIONS else GOOD,
                    f"{m.verdict} at {r.time:%H:%M:%S}: [{format_number(m.ci_low)}, {format_number(m.ci_high)}], "
                    f"p {format_number(m.p_value)}")
        for r, m in history if m.ci_low is not None and m.ci_high is not None
    ]
    intervals = svg.render(svg.Chart(
        title=f"{name}: interval of canary - baseline (0 = no difference)", y_label="difference",
        x_range=span, whiskers=whiskers, zero_line=True, height=180,
    )) if whiskers else ""
    return values + intervals


def _metric_table(history: list[tuple[AnalysisRecord, MetricResult]]) -> str:
    head = ("<tr><th>time</th><th>step</th><th>weight</th><th>verdict</th><th>canary</th><th>baseline</th>"
            "<th>effect</th><th>p-value</th><th>interval</th><th>samples (c/b)</th><th>why</th></tr>")
    rows = "".join(
        f"<tr><td>{r.time:%H:%M:%S}</td><td>{r.step + 1}</td><td>{r.weight}%</td>"
        f'<td class="v-{escape(m.verdict)}">{escape(m.verdict)}</td>'
        f'<td class="num">{format_number(m.canary)}</td><td class="num">{format_number(m.baseline)}</td>'
        f'<td class="num">{format_number(m.effect)}</td><td class="num">{format_number(m.p_value)}</td>'
        f'<td class="num">{escape(interval(m))}</td><td class="num">{escape(samples(m))}</td>'
        f"<td>{escape(m.message)}</td></tr>"
        for r, m in history
    )
    return f"<table>{head}{rows}</table>"


def _metrics(status: CanaryStatus) -> str:
    series = metric_series(status)
    if not series:
        return "<h2>Metrics</h2><p>No analysis has run yet.</p>"
    parts = ["<h2>Metrics</h2>"]
    for name, history in series.items():
        latest = history[-1][1]
        query = next((m.query for _, m in reversed(history) if m.query), "")
        parts.append(f'<h3>{escape(name)} &mdash; latest: <span class="v-{escape(latest.verdict)}">'
                     f"{escape(latest.verdict)}</span></h3>")
        parts.append(_metric_charts(name, history))
        parts.append(_metric_table(history))
        if query:
            parts.append(f"<details><summary>query</summary><pre>{escape(query)}</pre></details>")
    return "".join(parts)


def _analyses(status: CanaryStatus) -> str:
    if not status.analysis:
        return ""
    rows = "".join(
        f"<tr><td>{r.time:%Y-%m-%d %H:%M:%S}</td><td>{r.step + 1}</td><td>{r.weight}%</td>"
        f'<td class="v-{escape(r.verdict.value)}">{escape(r.verdict.value)}</td>'
        f"<td>{escape(', '.join(f'{m.name}: {m.verdict}' for m in r.metrics))}</td></tr>"
        for r in status.analysis
    )
    return ("<h2>Every analysis</h2><table><tr><th>time (UTC)</th><th>step</th><th>weight</th><th>verdict</th>"
            f"<th>metrics</th></tr>{rows}</table>")
