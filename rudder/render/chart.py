"""Charts from their three sources: inline templates, ConfigMap data and archives, all reduced to one
`Chart` (metadata, default values, template files)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from rudder.models import ArchiveChart, ChartSpec, ConfigMapChartRef, InlineTemplates, Values
from rudder.render.archive import ArchiveLimits, unpack_archive
from rudder.render.errors import RenderError
from rudder.render.values import deep_merge, parse_values_document
from rudder.render.yamlio import dump_yaml, load_one, yaml_error_position

CHART_FILE = "Chart.yaml"
VALUES_FILE = "values.yaml"
NOTES_FILE = "NOTES.txt"
TEMPLATES_DIR = "templates/"


@dataclass(frozen=True)
class ChartMeta:
    """What Chart.yaml tells the templates as `chart.name`, `chart.version`, `chart.appVersion`."""

    name: str
    version: str = ""
    app_version: str | None = None

    def context(self) -> dict[str, str]:
        """The `chart` variable of the template context."""
        ctx = {"name": self.name, "version": self.version}
        if self.app_version is not None:
            ctx["appVersion"] = self.app_version
        return ctx


@dataclass(frozen=True, eq=False)
class Chart:
    """A loaded chart: `templates` maps file names (relative to templates/) to Jinja2 text."""

    templates: Mapping[str, str]
    defaults: Values = field(default_factory=dict)
    meta: ChartMeta | None = None


def is_partial(name: str) -> bool:
    """Partials (`_helpers.j2`) are only imported or included, never rendered into objects."""
    return name.rpartition("/")[2].startswith("_")


def _parse_chart_yaml(text: str) -> ChartMeta | RenderError:
    try:
        data = load_one(text)
    except yaml.YAMLError as exc:
        line, problem = yaml_error_position(exc)
        return RenderError(CHART_FILE, line, f"invalid YAML: {problem}")
    if not isinstance(data, Mapping):
        return RenderError(CHART_FILE, None, "must be a YAML mapping")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        return RenderError(CHART_FILE, None, "name is required")
    version = data.get("version")
    app_version = data.get("appVersion")
    return ChartMeta(
        name=name,
        version="" if version is None else str(version),
        app_version=None if app_version is None else str(app_version),
    )


def chart_from_files(files: Mapping[str, str]) -> Chart | RenderError:
    """A chart from flat files, as in `spec.chart.templates` or a ConfigMap's data.

    `Chart.yaml` and `values.yaml` keys are metadata and defaults; every other key is a template file.
    """
    templates = {name: text for name, text in files.items() if name not in (CHART_FILE, VALUES_FILE)}
    return _assemble(templates, files.get(VALUES_FILE), files.get(CHART_FILE))


def chart_from_directory_files(files: Mapping[str, str]) -> Chart | RenderError:
    """A chart from a directory layout (`Chart.yaml`, `values.yaml`, `templates/...`), e.g. an archive.

    Files outside templates/ other than Chart.yaml and values.yaml (README, .helmignore) are ignored.
    """
    if any(path.startswith("charts/") for path in files):
        return RenderError("charts/", None, "subcharts are not supported; vendor their templates instead")
    templates = {
        path.removeprefix(TEMPLATES_DIR): text
        for path, text in files.items()
        if path.startswith(TEMPLATES_DIR)
    }
    return _assemble(templates, files.get(VALUES_FILE), files.get(CHART_FILE))


def _assemble(
    templates: dict[str, str], values_text: str | None, chart_text: str | None
) -> Chart | RenderError:
    defaults: Values = {}
    if values_text is not None:
        parsed = parse_values_document(values_text, VALUES_FILE)
        if isinstance(parsed, RenderError):
            return parsed
        defaults = parsed
    meta = None
    if chart_text is not None:
        meta_or_error = _parse_chart_yaml(chart_text)
        if isinstance(meta_or_error, RenderError):
            return meta_or_error
        meta = meta_or_error
    if not any(not is_partial(name) for name in templates):
        return RenderError(None, None, "the chart has no templates")
    return Chart(templates=templates, defaults=defaults, meta=meta)


def resolve_chart(
    spec: ChartSpec,
    config_map_data: Mapping[str, str] | None = None,
    limits: ArchiveLimits | None = None,
) -> Chart | RenderError:
    """Load the chart of `spec.chart`; `spec.chart.values` is merged over the source's values.yaml.

    For a configMapRef source the I/O layer passes the ConfigMap's `data` (None when it does not exist).
    """
    source = spec.source
    loaded: Chart | RenderError
    if isinstance(source, InlineTemplates):
        loaded = chart_from_files(source.files)
    elif isinstance(source, ConfigMapChartRef):
        if config_map_data is None:
            return RenderError("spec.chart.configMapRef", None, f"ConfigMap {source.name} not found")
        loaded = chart_from_files(config_map_data)
    elif isinstance(source, ArchiveChart):
        files = unpack_archive(source.data, limits or ArchiveLimits())
        if isinstance(files, RenderError):
            return files
        loaded = chart_from_directory_files(files)
    if isinstance(loaded, RenderError) or not spec.values:
        return loaded
    defaults = deep_merge(loaded.defaults, spec.values)
    return Chart(templates=loaded.templates, defaults=defaults, meta=loaded.meta)


def chart_to_inline_spec(chart: Chart) -> dict[str, Any]:
    """The `spec.chart` of a Release carrying `chart` inline (what `rudder package` writes)."""
    templates = dict(chart.templates)
    if chart.meta is not None:
        meta: dict[str, Any] = {"name": chart.meta.name, "version": chart.meta.version}
        if chart.meta.app_version is not None:
            meta["appVersion"] = chart.meta.app_version
        templates[CHART_FILE] = dump_yaml(meta)
    spec: dict[str, Any] = {"templates": templates}
    if chart.defaults:
        spec["values"] = dict(chart.defaults)
    return spec
