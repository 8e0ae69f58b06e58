"""Rendering a chart into Kubernetes objects and notes; every failure becomes a RenderError naming the
template file and line."""

from __future__ import annotations

import traceback
from collections.abc import Mapping
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


def _render_text(env: ChartEnvironment, name: str, context: Mapping[str, Any], chart: Chart) -> str:
    try:
        return env.get_template(name).render(context)
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


def render_chart(chart: Chart, values: Values, release: ReleaseInfo) -> RenderedChart | RenderError:
    """Render every non-partial template (sorted by name) into objects, and NOTES.txt into notes.

    Returns the first error found; nothing partial is returned, so a bad template means no object is applied.
    """
    env = build_environment(chart.templates)
    context = template_context(chart, values, release)
    objects: list[RenderedObject] = []
    notes = ""
    try:
        for name in sorted(chart.templates):
            if is_partial(name):
                continue
            text = _render_text(env, name, context, chart)
            if name.rpartition("/")[2] == NOTES_FILE:
                notes = text.strip()
            else:
                objects.extend(_parse_objects(name, text))
    except RenderFailed as failed:
        return failed.error
    return RenderedChart(objects=tuple(objects), notes=notes)
