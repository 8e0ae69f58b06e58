"""`kubectl canary status NAME`: phase, step, weight and the latest verdict of every metric with its numbers."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from canary.cli.common import add_subcommand, require_canary
from canary.domain.status import rollback_reason
from canary.models import (
    AnalysisRecord,
    CanarySpec,
    CanaryStatus,
    MetricResult,
    ParseError,
    PauseStep,
    WeightStep,
    parse_canary,
)
from rudder.cli.connection import connect, resolve_namespace
from rudder.cli.errors import EXIT_OK, CliError
from rudder.cli.options import add_output, target_of
from rudder.cli.output import (
    MISSING,
    dump,
    format_duration,
    format_number,
    format_timestamp,
    table,
    without_server_fields,
)


def add_parser(subparsers: Any) -> None:
    parser = add_subcommand(subparsers, "status", "show a canary's phase, step, weight and latest verdicts")
    add_output(parser, "print the whole CanaryRelease as JSON or YAML")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    target = target_of(args)
    body = require_canary(connect(target), resolve_namespace(target), args.name)
    if args.output:
        sys.stdout.write(dump(without_server_fields(body), args.output))
    else:
        try:
            sys.stdout.write(format_status(body, datetime.now(UTC)))
        except ParseError as err:  # a status this version cannot read (a newer controller?)
            raise CliError(f"cannot read CanaryRelease {args.name}: {err}; see it with -o yaml") from None
    return EXIT_OK


def describe_step(status: CanaryStatus, spec: CanarySpec | ParseError) -> str:
    """`2/3: 50% for 5m`, `3/3: pause (until resumed)`, `done (3 steps)`."""
    if isinstance(spec, ParseError):
        return f"{status.step + 1}"
    total = len(spec.steps)
    if status.step >= total:
        return f"done ({total} steps)"
    step = spec.steps[status.step]
    if isinstance(step, WeightStep):
        what = f"{step.weight}% for {format_duration(step.duration)}"
    elif isinstance(step, PauseStep):
        what = "pause " + (f"for {format_duration(step.duration)}" if step.duration is not None else "(until resumed)")
    return f"{status.step + 1}/{total}: {what}"


def latest_per_metric(analysis: tuple[AnalysisRecord, ...]) -> list[tuple[AnalysisRecord, MetricResult]]:
    """Each metric's most recent result, in the order the metrics first appeared (a dict keeps the
    position of a key's first insertion when its value is replaced)."""
    latest: dict[str, tuple[AnalysisRecord, MetricResult]] = {}
    for record in analysis:
        for metric in record.metrics:
            latest[metric.name] = (record, metric)
    return list(latest.values())


def interval(metric: MetricResult) -> str:
    if metric.ci_low is None and metric.ci_high is None:
        return MISSING
    return f"[{format_number(metric.ci_low)}, {format_number(metric.ci_high)}]"


def samples(metric: MetricResult) -> str:
    if not metric.samples:
        return MISSING
    return " / ".join(str(metric.samples[k]) for k in ("canary", "baseline") if k in metric.samples)


def metric_rows(status: CanaryStatus, now: datetime) -> list[list[str]]:
    rows = []
    for record, m in latest_per_metric(status.analysis):
        rows.append([m.name, m.verdict, format_number(m.canary), format_number(m.baseline), format_number(m.effect),
                     format_number(m.p_value), interval(m), samples(m),
                     f"{format_duration((now - record.time).total_seconds())} ago"])
    return rows


def format_status(body: Mapping[str, Any], now: datetime) -> str:
    """The human form of `kubectl canary status`."""
    parsed = parse_canary(body)
    status, spec, meta = parsed.status, parsed.spec, parsed.meta
    release = spec.release if not isinstance(spec, ParseError) else (body.get("spec") or {}).get("release", "?")
    reason = status.paused_reason or rollback_reason(status)
    last = status.analysis[-1] if status.analysis else None
    lines = [
        f"CanaryRelease:  {meta.namespace}/{meta.name} (Release {release})",
        f"Phase:          {status.phase.value}{f' ({reason})' if reason else ''}",
        f"Step:           {describe_step(status, spec)}"
        + (f", started {format_timestamp(status.step_started_at, now)}" if status.step_started_at else ""),
        f"Weight:         {status.weight}%",
        f"Verdict:        {status.verdict.value if status.verdict else MISSING}"
        + (f" (analysed {format_timestamp(last.time, now)})" if last else ""),
        f"Message:        {status.message or MISSING}",
        f"Revisions:      stable {status.stable_revision or MISSING}, promoted {status.promoted_revision or MISSING}",
    ]
    if not isinstance(spec, ParseError) and spec.analysis is not None:
        lines.append(f"Failures:       {status.failures} (failureLimit {spec.analysis.failure_limit})")
    if isinstance(spec, ParseError):
        lines.append(f"Spec:           invalid: {spec}")
    if parsed.action is not None:
        lines.append(f"Action:         {parsed.action.raw} (pending: the controller has not performed it yet)")
    rows = metric_rows(status, now)
    if rows:
        headers = ["metric", "verdict", "canary", "baseline", "effect", "p-value", "ci (canary-baseline)",
                   "samples (c/b)", "when"]
        lines += ["", table(headers, rows).rstrip("\n")]
    else:
        lines += ["", "no analysis yet"]
    return "\n".join(lines) + "\n"
