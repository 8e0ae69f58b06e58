"""Pure side of the canary scenario: analysis looks as the harness saw them, their cadence error and verdict
latency, and the canary table with its ratios.

A look is one record of a CanaryRelease's `status.analysis`: `time` is when the controller started it (the
decision's time, whole seconds). It is due one analysis interval after the previous look of the same step, or
after the step started (`status.stepStartedAt`) for the step's first look; its **cadence error** is how much later
than that it started, as a share of the interval. `seen` is when the harness's watch received the status holding
it; seen - time is the **look -> visible** latency (analysis queries + judge + status write + watch delivery).
Records carry no time of the judge's result, so the **verdict latency** (judge result -> status written) is
estimated as that latency minus the controller's mean analysis time (`rudder_canary_analysis_seconds`), unless a
record has `judgedAt`, which is then used as it is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bench.scale.report import ratio, uninstalled


@dataclass(frozen=True)
class Look:
    canary: str
    step: int
    time: float  # unix seconds
    seen: float  # unix seconds
    due_after: float | None  # the previous look of this step or the step's start; None when unknown
    judged: float | None = None


def timestamp(text: Any) -> float | None:
    """An RFC 3339 time of the status as unix seconds (None when absent or unreadable)."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class LookLog:
    """Every look of every canary, from successive states of their status (as a watch delivers them)."""

    def __init__(self) -> None:
        self.looks: dict[tuple[str, int, float], Look] = {}
        self.step_started: dict[tuple[str, int], float] = {}
        self.phases: dict[str, str] = {}

    def observe(self, name: str, status: Mapping[str, Any], seen: float) -> None:
        self.phases[name] = str(status.get("phase") or "")
        started = timestamp(status.get("stepStartedAt"))
        if started is not None and isinstance(status.get("step"), int):
            self.step_started.setdefault((name, status["step"]), started)
        records = [r for r in status.get("analysis") or [] if isinstance(r, Mapping)]
        for record in records:
            at, step = timestamp(record.get("time")), record.get("step")
            if at is None or not isinstance(step, int) or (name, step, at) in self.looks:
                continue
            earlier = [t for (n, s, t) in self.looks if n == name and s == step and t < at]
            due_after = max(earlier) if earlier else self.step_started.get((name, step))
            self.looks[(name, step, at)] = Look(name, step, at, seen, due_after, timestamp(record.get("judgedAt")))

    def cadence_errors(self, interval: float) -> list[float]:
        """How late each look started, as a share of the interval (looks whose due time is known)."""
        return [max(0.0, (look.time - look.due_after - interval) / interval)
                for look in self.looks.values() if look.due_after is not None]

    def visible_latencies(self) -> list[float]:
        return [max(0.0, look.seen - look.time) for look in self.looks.values()]

    def verdict_latencies(self, mean_analysis_seconds: float | None) -> list[float]:
        """Judge result -> status seen: from `judgedAt` where records have it, else estimated (module doc)."""
        out = []
        for look in self.looks.values():
            if look.judged is not None:
                out.append(max(0.0, look.seen - look.judged))
            elif mean_analysis_seconds is not None:
                out.append(max(0.0, look.seen - look.time - mean_analysis_seconds))
        return out


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank percentile (q in [0, 1]); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def histogram_mean(metrics_text: str, name: str) -> float | None:
    """Mean of a Prometheus histogram from its _sum and _count in a /metrics page."""
    values: dict[str, float] = {}
    for line in metrics_text.splitlines():
        for part in ("_sum", "_count"):
            if line.startswith(f"{name}{part} ") or line.startswith(f"{name}{part}{{"):
                values[part] = values.get(part, 0.0) + float(line.rsplit(" ", 1)[1])
    count = values.get("_count", 0.0)
    return values["_sum"] / count if count else None


@dataclass(frozen=True)
class CanaryResult:
    variant: str
    releases: int
    canaries: int
    interval: float
    looks: int
    cadence_p50: float | None
    cadence_p95: float | None
    cadence_max: float | None
    within_20: float | None  # share of looks no later than 20% of the interval
    visible_p50: float | None
    visible_p95: float | None
    verdict_p50: float | None
    verdict_p95: float | None
    verdict_max: float | None
    analysis_mean: float | None
    phases: Mapping[str, int]
    peak_rss_mib: float
    cpu_seconds: float
    uninstall_seconds: float | None
    uninstall_leftovers: int = 0
    verdict_exact: bool = False  # every look's record had `judgedAt` (else the latency is estimated)

    @classmethod
    def of(cls, variant: str, releases: int, canaries: int, interval: float, log: LookLog, *,
           analysis_mean: float | None, peak_rss_mib: float, cpu_seconds: float,
           uninstall_seconds: float | None, uninstall_leftovers: int) -> CanaryResult:
        cadence = log.cadence_errors(interval)
        visible = log.visible_latencies()
        verdict = log.verdict_latencies(analysis_mean)
        phases: dict[str, int] = {}
        for phase in log.phases.values():
            phases[phase] = phases.get(phase, 0) + 1
        return cls(
            variant=variant, releases=releases, canaries=canaries, interval=interval, looks=len(log.looks),
            cadence_p50=percentile(cadence, 0.5), cadence_p95=percentile(cadence, 0.95),
            cadence_max=max(cadence) if cadence else None,
            within_20=sum(e <= 0.2 for e in cadence) / len(cadence) if cadence else None,
            visible_p50=percentile(visible, 0.5), visible_p95=percentile(visible, 0.95),
            verdict_p50=percentile(verdict, 0.5), verdict_p95=percentile(verdict, 0.95),
            verdict_max=max(verdict) if verdict else None, analysis_mean=analysis_mean,
            phases=dict(sorted(phases.items())), peak_rss_mib=peak_rss_mib, cpu_seconds=cpu_seconds,
            uninstall_seconds=uninstall_seconds, uninstall_leftovers=uninstall_leftovers,
            verdict_exact=bool(log.looks) and all(look.judged is not None for look in log.looks.values()))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def canary_table(results: Sequence[CanaryResult]) -> str:
    head = ("| Canaries on Releases | Variant | Looks | Cadence error p50 / p95 / max | Looks within 20% "
            "| Look -> visible p50 / p95 | Verdict latency p50 / p95 / max | Mean analysis | Peak RSS "
            "| CPU | Final phases | Uninstall all |")
    rows = [head, "|" + "---|" * 12]
    for r in results:
        phases = ", ".join(f"{k or '?'} {v}" for k, v in r.phases.items()) or "-"
        rows.append(
            f"| {r.canaries} on {r.releases} | {r.variant} | {r.looks} "
            f"| {_pct(r.cadence_p50)} / {_pct(r.cadence_p95)} / {_pct(r.cadence_max)} | {_pct(r.within_20)} "
            f"| {_secs(r.visible_p50)} / {_secs(r.visible_p95)} "
            f"| {_secs(r.verdict_p50)} / {_secs(r.verdict_p95)} / {_secs(r.verdict_max)}"
            f"{'' if r.verdict_exact else ' (est.)'} | {_secs(r.analysis_mean)} "
            f"| {r.peak_rss_mib:.0f} MiB | {r.cpu_seconds:.0f} s | {phases} "
            f"| {uninstalled(r.uninstall_seconds, r.uninstall_leftovers)} |")
    return "\n".join(rows)


def canary_ratio_table(results: Sequence[CanaryResult]) -> str:
    """Each variant against the first (below 1 is better for every column)."""
    if len(results) < 2:
        return ""
    b = results[0]
    rows = ["| Variant / baseline | Cadence error p95 | Verdict latency p95 | Peak RSS | CPU | Uninstall all |",
            "|" + "---|" * 6]
    for r in results[1:]:
        rows.append(f"| {r.variant} / {b.variant} | {ratio(r.cadence_p95, b.cadence_p95)} "
                    f"| {ratio(r.verdict_p95, b.verdict_p95)} | {ratio(r.peak_rss_mib, b.peak_rss_mib)} "
                    f"| {ratio(r.cpu_seconds, b.cpu_seconds)} | {ratio(r.uninstall_seconds, b.uninstall_seconds)} |")
    return "\n".join(rows)



