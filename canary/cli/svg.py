"""Small inline SVG charts over time for the HTML report: lines, step lines, markers and interval whiskers.

No plotting library and no script: the report must open anywhere without a network, and every text that
came from the cluster is escaped. Hovering a point shows its exact values (an SVG <title>).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape

from rudder.cli.output import format_number

WIDTH, HEIGHT = 680, 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 28, 40
_TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


@dataclass(frozen=True)
class Series:
    """A line through (unix seconds, value) points; `step` draws it as a staircase (value held until the
    next point), as traffic weights are."""

    label: str
    points: Sequence[tuple[float, float]]
    color: str
    step: bool = False
    dashed: bool = False


@dataclass(frozen=True)
class Marker:
    """A point drawn on top of the lines, e.g. a failed verdict; `title` is shown on hover."""

    x: float
    y: float
    color: str
    title: str
    ring: bool = False


@dataclass(frozen=True)
class Whisker:
    """A vertical interval at `x` (a confidence interval)."""

    x: float
    low: float
    high: float
    color: str
    title: str


@dataclass(frozen=True)
class Chart:
    title: str
    y_label: str
    series: Sequence[Series] = ()
    markers: Sequence[Marker] = ()
    whiskers: Sequence[Whisker] = ()
    zero_line: bool = False
    y_min: float | None = None  # force the axis to include these (weights: 0..100)
    y_max: float | None = None
    x_range: tuple[float, float] | None = None  # share one time axis between charts
    width: int = WIDTH
    height: int = HEIGHT
    notes: Sequence[str] = field(default=())


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2, 2.5 or 5 times a power of ten apart)."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0]
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 12))
    return ticks


def time_ticks(start: float, end: float, count: int = 6) -> list[float]:
    """Tick times on round seconds/minutes/hours covering [start, end]."""
    span = max(end - start, 1.0)
    step = next((s for s in _TIME_STEPS if span / s <= count), _TIME_STEPS[-1])
    first = math.ceil(start / step) * step
    return [first + i * step for i in range(int((end - first) // step) + 1)]


def _time_label(moment: float, span: float) -> str:
    stamp = datetime.fromtimestamp(moment, UTC)
    return stamp.strftime("%H:%M:%S" if span < 600 else "%H:%M")


def _x_range(chart: Chart) -> tuple[float, float]:
    if chart.x_range is not None:
        low, high = chart.x_range
    else:
        xs = [x for s in chart.series for x, _ in s.points]
        xs += [m.x for m in chart.markers] + [w.x for w in chart.whiskers]
        low, high = (min(xs), max(xs)) if xs else (0.0, 1.0)
    if high - low < 1:
        low, high = low - 30, high + 30  # one moment: give it some room
    pad = (high - low) * 0.04  # points and labels at the edges stay inside the frame
    return low - pad, high + pad


def _y_range(chart: Chart) -> tuple[float, float]:
    ys = [y for s in chart.series for _, y in s.points] + [m.y for m in chart.markers]
    ys += [v for w in chart.whiskers for v in (w.low, w.high)]
    ys += [v for v in (chart.y_min, chart.y_max) if v is not None] + ([0.0] if chart.zero_line else [])
    ys = [y for y in ys if math.isfinite(y)]
    low, high = (min(ys), max(ys)) if ys else (0.0, 1.0)
    if high == low:
        pad = abs(high) * 0.1 or 1.0
        low, high = low - pad, high + pad
    return low, high


def render(chart: Chart) -> str:
    """The chart as an <svg> element (a fragment to inline into HTML)."""
    x_low, x_high = _x_range(chart)
    y_ticks = nice_ticks(*_y_range(chart))
    y_low, y_high = y_ticks[0], y_ticks[-1]
    plot_w, plot_h = chart.width - _LEFT - _RIGHT, chart.height - _TOP - _BOTTOM

    def px(x: float) -> float:
        return _LEFT + (x - x_low) / (x_high - x_low) * plot_w

    def py(y: float) -> float:
        return _TOP + plot_h - (y - y_low) / ((y_high - y_low) or 1.0) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{chart.width}" height="{chart.height}" '
        f'viewBox="0 0 {chart.width} {chart.height}" role="img" aria-label="{escape(chart.title)}" class="chart">',
        f"<title>{escape(chart.title)}</title>",
        f'<text x="{_LEFT}" y="16" class="chart-title">{escape(chart.title)}</text>',
        f'<rect x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}" class="plot"/>',
    ]
    for tick in y_ticks:
        y = py(tick)
        parts.append(f'<line x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">'
                     f"{escape(format_number(tick, 3))}</text>")
    for tick in time_ticks(x_low, x_high):
        x = px(tick)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_TOP}" y2="{_TOP + plot_h}" class="grid"/>')
        parts.append(f'<text x="{x:.1f}" y="{_TOP + plot_h + 16}" class="tick" text-anchor="middle">'
                     f"{_time_label(tick, x_high - x_low)}</text>")
    parts.append(f'<text x="14" y="{_TOP + plot_h / 2:.1f}" class="axis-label" text-anchor="middle" '
                 f'transform="rotate(-90 14 {_TOP + plot_h / 2:.1f})">{escape(chart.y_label)}</text>')
    if chart.zero_line and y_low < 0 < y_high:
        parts.append(f'<line x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{py(0):.1f}" y2="{py(0):.1f}" class="zero"/>')
    for whisker in chart.whiskers:
        x, top, bottom = px(whisker.x), py(whisker.high), py(whisker.low)
        parts.append(f'<g class="whisker"><title>{escape(whisker.title)}</title>'
                     f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top:.1f}" y2="{bottom:.1f}" stroke="{whisker.color}"/>'
                     f'<line x1="{x - 4:.1f}" x2="{x + 4:.1f}" y1="{top:.1f}" y2="{top:.1f}" stroke="{whisker.color}"/>'
                     f'<line x1="{x - 4:.1f}" x2="{x + 4:.1f}" y1="{bottom:.1f}" y2="{bottom:.1f}" '
                     f'stroke="{whisker.color}"/></g>')
    for series in chart.series:
        parts.append(_polyline(series, px, py, x_high))
    for marker in chart.markers:
        fill = "none" if marker.ring else marker.color
        parts.append(f'<circle cx="{px(marker.x):.1f}" cy="{py(marker.y):.1f}" r="{6 if marker.ring else 3.5}" '
                     f'fill="{fill}" stroke="{marker.color}" stroke-width="2"><title>{escape(marker.title)}</title>'
                     "</circle>")
    parts.append(_legend(chart, plot_w))
    parts.append("</svg>")
    return "".join(parts)


def _polyline(series: Series, px: Callable[[float], float], py: Callable[[float], float], x_end: float) -> str:
    points = sorted((x, y) for x, y in series.points if math.isfinite(y))
    if not points:
        return ""
    coords: list[tuple[float, float]] = []
    for i, (x, y) in enumerate(points):
        if series.step and i:
            coords.append((px(x), coords[-1][1]))
        coords.append((px(x), py(y)))
    if series.step:
        coords.append((px(x_end), coords[-1][1]))  # the last value holds until the end of the axis
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dash = ' stroke-dasharray="5 4"' if series.dashed else ""
    line = (f'<polyline points="{path}" fill="none" stroke="{series.color}" stroke-width="2"{dash}>'
            f"<title>{escape(series.label)}</title></polyline>")
    if series.step:
        return line
    # A dot per measurement: a line through one point draws nothing (a canary rolled back at its first
    # analysis), and the dots show where each analysis was taken.
    dots = "".join(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{series.color}">'
                   f"<title>{escape(series.label)} {escape(format_number(y))}</title></circle>" for x, y in points)
    return line + dots


def _legend(chart: Chart, plot_w: int) -> str:
    entries = [(s.label, s.color, s.dashed) for s in chart.series]
    parts = []
    x = _LEFT + plot_w
    for label, color, dashed in reversed(entries):
        width = 24 + 7 * len(label)
        x -= width
        dash = ' stroke-dasharray="5 4"' if dashed else ""
        parts.append(f'<line x1="{x}" x2="{x + 16}" y1="12" y2="12" stroke="{color}" stroke-width="2"{dash}/>'
                     f'<text x="{x + 20}" y="16" class="legend">{escape(label)}</text>')
    return "".join(parts)
