"""Pure chart rendering: sources, values layering, the Jinja2 sandbox. No cluster access.

Entry points (all errors are returned as `RenderError(template, line, message)`, never raised):

- `render_release(spec: ReleaseSpec, release: ReleaseInfo, *,
  config_map_data: Mapping[str, str] | None = None, values_from_contents: Sequence[str | None] = (),
  limits: ArchiveLimits | None = None, render_limits: RenderLimits | None = None)
  -> RenderedRelease | RenderError`
  The whole step: load the chart (inline / ConfigMap data / archive), merge values (chart defaults, then
  valuesFrom in order, then spec.values), render; in a bounded child process (CPU time, memory, wall clock,
  output size: `RenderLimits`, process-wide default set with `set_default_limits`; see
  `rudder.render.isolation` and docs/security.md). `RenderedRelease` has `.chart`, `.values` (merged; may hold
  secrets), `.objects` (tuple of `RenderedObject(template, index, body)`), `.notes` (rendered NOTES.txt) and
  `.values_from` (the parsed valuesFrom layers).
- `resolve_chart(spec: ChartSpec, config_map_data=None, limits=None) -> Chart | RenderError`
- `render_chart(chart: Chart, values: Mapping, release: ReleaseInfo, *, limits=None, progress=None)
  -> RenderedChart | RenderError` in this process (the in-template size checks and the output bound only)
- `chart_from_files(files) -> Chart | RenderError` (flat: inline templates or ConfigMap data; `Chart.yaml` and
  `values.yaml` keys are special), `chart_from_directory_files(files) -> Chart | RenderError` (directory
  layout with `templates/`), `read_chart_directory(path: Path) -> dict[str, str]` (disk, for the CLI),
  `chart_to_inline_spec(chart) -> dict` (the `spec.chart` that `rudder package` writes),
  `pack_chart_archive(files, top_directory) -> str` (reproducible base64 gzip tar for `spec.chart.archive`).
- `merge_values(defaults, values_from: Sequence[Mapping], overrides) -> dict`, `deep_merge(base, override)`
  (maps merge recursively, everything else replaces, null deletes a key).
- `parse_set(expressions: Sequence[str], *, force_string=False) -> dict` for `--set` / `--set-string`;
  raises `SetSyntaxError` (a ValueError) on bad input.
- `dump_documents(objects) -> str` multi-document YAML, `load_documents(text)` without timestamp coercion.

Template context: `values`, `release` (`name`, `namespace`, `revision`), `chart` (`name`, `version`,
`appVersion`; only when Chart.yaml exists). Filters: toyaml, tojson, b64enc, b64dec, quote, squote, indent,
nindent, sha256, default, required(message), trunc (plus Helm's camelCase toYaml/toJson). Files whose name
starts with `_` are partials; `NOTES.txt` becomes the notes. trim_blocks/lstrip_blocks are on.
"""

from rudder.render.archive import ArchiveLimits, pack_chart_archive, unpack_archive
from rudder.render.chart import (
    Chart,
    ChartMeta,
    chart_from_directory_files,
    chart_from_files,
    chart_to_inline_spec,
    is_partial,
    resolve_chart,
)
from rudder.render.directory import read_chart_directory
from rudder.render.engine import ReleaseInfo, RenderedChart, RenderedObject, render_chart
from rudder.render.errors import RenderError
from rudder.render.limits import RenderLimits, set_default_limits
from rudder.render.release import RenderedRelease, render_release
from rudder.render.setvalues import SetSyntaxError, parse_set
from rudder.render.values import deep_merge, merge_values, parse_values_document, parse_values_from
from rudder.render.yamlio import dump_documents, dump_yaml, load_documents

__all__ = [
    "ArchiveLimits",
    "Chart",
    "ChartMeta",
    "ReleaseInfo",
    "RenderError",
    "RenderLimits",
    "RenderedChart",
    "RenderedObject",
    "RenderedRelease",
    "SetSyntaxError",
    "chart_from_directory_files",
    "chart_from_files",
    "chart_to_inline_spec",
    "deep_merge",
    "dump_documents",
    "dump_yaml",
    "is_partial",
    "load_documents",
    "merge_values",
    "pack_chart_archive",
    "parse_set",
    "parse_values_document",
    "parse_values_from",
    "read_chart_directory",
    "render_chart",
    "render_release",
    "resolve_chart",
    "set_default_limits",
    "unpack_archive",
]
