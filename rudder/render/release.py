"""The whole render step for one Release: load the chart, layer the values, render."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rudder.models import ReleaseSpec, Values
from rudder.render.archive import ArchiveLimits
from rudder.render.chart import Chart, resolve_chart
from rudder.render.engine import ReleaseInfo, RenderedObject, render_chart
from rudder.render.errors import RenderError
from rudder.render.isolation import run_isolated
from rudder.render.limits import MIB, RenderLimitExceeded, RenderLimits, default_limits
from rudder.render.values import merge_values, parse_values_from


@dataclass(frozen=True, eq=False)
class RenderedRelease:
    """A rendered Release: its chart, the merged values (which may hold valuesFrom secrets: never log or
    store them in clear), the objects and the notes."""

    chart: Chart
    values: Mapping[str, Any]
    objects: tuple[RenderedObject, ...]
    notes: str
    values_from: tuple[Values, ...] = ()  # the parsed valuesFrom layers, to know what must be redacted


def render_release(
    spec: ReleaseSpec,
    release: ReleaseInfo,
    *,
    config_map_data: Mapping[str, str] | None = None,
    values_from_contents: Sequence[str | None] = (),
    limits: ArchiveLimits | None = None,
    render_limits: RenderLimits | None = None,
) -> RenderedRelease | RenderError:
    """Render a Release from its spec and the data the I/O layer fetched, within `render_limits` (default:
    the process-wide limits), in a bounded child process unless they say not to isolate.

    `config_map_data` is the chart ConfigMap's data for a configMapRef source; `values_from_contents[i]` is
    the text behind `spec.values_from[i]` (Secret data already base64-decoded), None when missing.
    """
    bounds = render_limits or default_limits()
    args = (spec, release, config_map_data, tuple(values_from_contents), limits)
    if not bounds.isolate:
        return render_release_here(*args, limits=bounds)
    result = run_isolated(render_release_here, args, bounds)
    if not isinstance(result, RenderedRelease | RenderError):
        return RenderError(None, None, f"the render worker returned a {type(result).__name__}")
    return result


def render_release_here(
    spec: ReleaseSpec,
    release: ReleaseInfo,
    config_map_data: Mapping[str, str] | None,
    values_from_contents: Sequence[str | None],
    archive_limits: ArchiveLimits | None,
    *,
    limits: RenderLimits,
    progress: Callable[[str], None] | None = None,
) -> RenderedRelease | RenderError:
    """`render_release` in this process: only the in-template checks and the output bound apply."""
    try:
        return _render(spec, release, config_map_data, values_from_contents, archive_limits,
                       limits=limits, progress=progress)
    except RecursionError:
        return RenderError(None, None, "values nested too deeply")
    except MemoryError:
        return RenderError(None, None, f"the render exceeded its memory limit of {limits.memory_bytes // MIB} MiB")
    except RenderLimitExceeded as exc:  # the CPU limit while loading the chart or the values
        return RenderError(None, None, exc.message)


def _render(
    spec: ReleaseSpec,
    release: ReleaseInfo,
    config_map_data: Mapping[str, str] | None,
    values_from_contents: Sequence[str | None],
    archive_limits: ArchiveLimits | None,
    *,
    limits: RenderLimits,
    progress: Callable[[str], None] | None,
) -> RenderedRelease | RenderError:
    chart = resolve_chart(spec.chart, config_map_data, archive_limits)
    if isinstance(chart, RenderError):
        return chart
    layers = parse_values_from(spec.values_from, values_from_contents)
    if isinstance(layers, RenderError):
        return layers
    values = merge_values(chart.defaults, layers, spec.values)
    rendered = render_chart(chart, values, release, limits=limits, progress=progress)
    if isinstance(rendered, RenderError):
        return rendered
    return RenderedRelease(
        chart=chart, values=values, objects=rendered.objects, notes=rendered.notes, values_from=layers
    )
