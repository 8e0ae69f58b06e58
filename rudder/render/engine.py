"""Rendering a chart into Kubernetes objects and notes; every failure becomes a RenderError naming the
template file and line."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from jinja2 import TemplateError, TemplateNotFound, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError

from rudder.models import Values
from rudder.render.chart import NOTES_FILE, Chart, is_partial
from rudder.render.environment import ChartEnvironment, build_environment, with_paths
from rudder.render.errors import RenderError, RenderFailed
from rudder.render.filters import FilterInputError, RequiredValueError
from rudder.render.limits import MIB, RenderLimitError, RenderLimitExceeded, RenderLimits, default_limits
from rudder.render.yamlio import elide_quoted, load_documents, yaml_error_position


@dataclass(frozen=True)
class ReleaseInfo:
    """The `release` variable of the template context."""

    name: str
    namespace: str
    revision: int


@dataclass(frozen=True)
class RenderedObject:
    """One object out of a template: `index` counts the non-empty documents of that template from 0."""

    template: str
    index: int
    body: Mapping[str, Any]

    @property
    def origin(self) -> str:
        """`deployment.yaml#0`: where the object came from, for error messages."""
        return f"{self.template}#{self.index}"


@dataclass(frozen=True)
class RenderedChart:
    """The objects of a chart in template-name order, and the rendered NOTES.txt ('' when absent)."""

    objects: tuple[RenderedObject, ...]
    notes: str


def _location(exc: BaseException, names: Mapping[str, str]) -> tuple[str | None, int | None]:
    # The chart loader makes each template's name its code filename, so the innermost frame with such a
    # filename is the template (or partial) line that failed.
    template, line = None, None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename in names:
            template, line = frame.f_code.co_filename, lineno
    return template, line


def _generate(env: ChartEnvironment, name: str, context: Mapping[str, Any], budget: int) -> str:
    # Streamed, so an endless or huge output stops at the budget instead of after it was all built.
    parts: list[str] = []
    size = 0
    for part in env.get_template(name).generate(context):
        size += len(part)
        if size > budget:
            raise RenderLimitExceeded(
                f"the rendered output exceeds the limit of {env.limits.output_bytes // MIB} MiB for the chart")
        parts.append(part)
    return "".join(parts)


def _raw_location(
    exc: BaseException, env: ChartEnvironment, names: Mapping[str, str]
) -> tuple[str | None, int | None]:
    template, line = _location(exc, names)
    if template is None or line is None:
        return template, None
    try:
        return template, env.get_template(template).get_corresponding_lineno(line)
    except Exception:  # the location is a courtesy; the error must still be reported
        return template, None


def _render_text(env: ChartEnvironment, name: str, context: Mapping[str, Any], chart: Chart, budget: int) -> str:
    try:
        return _generate(env, name, context, budget)
    except RenderLimitError as exc:
        where, line = _location(exc, chart.templates)
        raise RenderFailed(RenderError(where or name, line, exc.message)) from None
    except RenderLimitExceeded as exc:
        # Jinja2 maps template lines only for Exceptions; this BaseException carries raw frames.
        where, line = _raw_location(exc, env, chart.templates)
        raise RenderFailed(RenderError(where or name, line, exc.message)) from None
    except MemoryError as exc:
        where, line = _location(exc, chart.templates)
        raise RenderFailed(RenderError(where or name, line, _memory_message(env.limits))) from None
    except RecursionError as exc:
        where, line = _location(exc, chart.templates)
        raise RenderFailed(RenderError(
            where or name, line, "recursion too deep (a macro or include calling itself?)")) from None
    except TemplateSyntaxError as exc:
        raise RenderFailed(RenderError(exc.name or name, exc.lineno, f"syntax error: {exc.message}")) from exc
    except TemplateNotFound as exc:
        where, line = _location(exc, chart.templates)
        raise RenderFailed(RenderError(where or name, line, f"template {exc.name!r} not found")) from exc
    except UndefinedError as exc:
        where, line = _location(exc, chart.templates)
        raise RenderFailed(RenderError(where or name, line, exc.message or "undefined value")) from exc
    except RequiredValueError as exc:
        where, line = _location(exc, chart.templates)
        raise RenderFailed(RenderError(where or name, line, f"required: {exc}")) from exc
    except (SecurityError, FilterInputError) as exc:
        where, line = _location(exc, chart.templates)
        raise RenderFailed(RenderError(where or name, line, str(exc))) from exc
    except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as exc:
        # Errors inside template expressions ("a" + 1, a bad int filter input); the type name says what
        # kind of mistake it is without echoing values.
        where, line = _location(exc, chart.templates)
        raise RenderFailed(RenderError(where or name, line, f"{type(exc).__name__}: {elide_quoted(str(exc))}")) from exc
    except Exception as exc:  # any other failure of tenant code is a RenderError
        # Its text is not quoted: an unexpected exception may carry values (valuesFrom secrets).
        where, line = _location(exc, chart.templates)
        raise RenderFailed(RenderError(where or name, line, f"{type(exc).__name__} while rendering")) from None


def _memory_message(limits: RenderLimits) -> str:
    return f"the render exceeded its memory limit of {limits.memory_bytes // MIB} MiB"


def _parse_objects(name: str, text: str) -> list[RenderedObject]:
    objects: list[RenderedObject] = []
    try:
        documents = list(load_documents(text))
    except yaml.YAMLError as exc:
        line, problem = yaml_error_position(exc)
        raise RenderFailed(RenderError(name, line, f"rendered output is not valid YAML: {problem}")) from exc
    for position, doc in enumerate(documents):
        if doc is None:
            continue  # empty documents (a disabled `{% if %}` block, comments only) are skipped
        if not isinstance(doc, Mapping):
            raise RenderFailed(RenderError(
                name, None, f"document {position + 1} is a {type(doc).__name__}, not a Kubernetes object"
            ))
        objects.append(RenderedObject(template=name, index=len(objects), body=doc))
    return objects


def template_context(chart: Chart, values: Values, release: ReleaseInfo) -> dict[str, Any]:
    """The variables every template sees: `values`, `release`, and `chart` when Chart.yaml exists."""
    release_ctx = {"name": release.name, "namespace": release.namespace, "revision": release.revision}
    return {
        "values": with_paths(values, "values"),
        "release": with_paths(release_ctx, "release"),
        "chart": with_paths(chart.meta.context() if chart.meta else {}, "chart"),
    }


def render_chart(
    chart: Chart,
    values: Values,
    release: ReleaseInfo,
    *,
    limits: RenderLimits | None = None,
    progress: Callable[[str], None] | None = None,
) -> RenderedChart | RenderError:
    """Render every non-partial template (sorted by name) into objects, and NOTES.txt into notes.

    Returns the first error found; nothing partial is returned, so a bad template means no object is applied.
    The in-template size checks and the output bound of `limits` apply here; CPU time and memory are bounded
    by the worker process `render_release` runs this in. `progress(name)` is called before each template,
    so a worker killed by a limit can still name the template it was rendering.
    """
    limits = limits or default_limits()
    env = build_environment(chart.templates, limits)
    objects: list[RenderedObject] = []
    notes = ""
    budget = limits.output_bytes
    current: str | None = None
    try:
        context = template_context(chart, values, release)
        for name in sorted(chart.templates):
            if is_partial(name):
                continue
            current = name
            if progress is not None:
                progress(name)
            text = _render_text(env, name, context, chart, budget)
            budget -= len(text)
            if name.rpartition("/")[2] == NOTES_FILE:
                notes = text.strip()
            else:
                objects.extend(_parse_objects(name, text))
    except RenderFailed as failed:
        return failed.error
    except RecursionError:
        return RenderError(current, None, "values or output nested too deeply")
    except MemoryError:
        return RenderError(current, None, _memory_message(limits))
    except RenderLimitExceeded as exc:
        return RenderError(current, None, exc.message)
    return RenderedChart(objects=tuple(objects), notes=notes)
