"""From a chart directory and the values flags to a Release body, with the controller's own chart loader.

The values flags layer as Helm's do: `-f` files in order, then `--set`, then `--set-string`. The result becomes
the Release's `spec.values` (the user's overrides); the chart's values.yaml stays its defaults. A `null` is
kept in the overrides, so that `--set key=null` removes a chart default when the controller merges them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rudder.cli.errors import CliError
from rudder.models import API_VERSION
from rudder.render import (
    Chart,
    RenderError,
    SetSyntaxError,
    chart_from_directory_files,
    chart_to_inline_spec,
    pack_chart_archive,
    parse_set,
    parse_values_document,
    read_chart_directory,
)

RELEASE_KIND = "Release"


@dataclass(frozen=True, eq=False)
class LoadedChart:
    """A chart directory read from disk: its files (for an archive) and the loaded chart."""

    directory: Path
    files: Mapping[str, str]
    chart: Chart

    @property
    def name(self) -> str:
        """Chart.yaml's name, else the directory's name."""
        return self.chart.meta.name if self.chart.meta else self.directory.resolve().name


def load_chart(directory: str) -> LoadedChart:
    """Read and load a chart directory (Chart.yaml, values.yaml, templates/); errors name the path."""
    path = Path(directory)
    if not path.exists():
        raise CliError(f"chart directory {directory}: no such directory")
    if not path.is_dir():
        raise CliError(f"chart directory {directory}: not a directory")
    try:
        files = read_chart_directory(path)
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise CliError(f"chart directory {directory}: {err}") from None
    chart = chart_from_directory_files(files)
    if isinstance(chart, RenderError):
        raise CliError(f"chart {directory}: {locate(chart, path)}")
    return LoadedChart(directory=path, files=files, chart=chart)


_CHART_ROOT_FILES = ("Chart.yaml", "values.yaml", "charts/")


def locate(error: RenderError, directory: Path) -> str:
    """A RenderError with its file named as the user knows it (`chart/templates/web.yaml:12: ...`).

    The renderer names templates relative to templates/, chart files relative to the chart, and spec fields
    by their path; only the first two are files in the directory.
    """
    if error.template is None:
        return error.message
    name = error.template
    if name.startswith("spec."):
        where = name
    elif name in _CHART_ROOT_FILES:
        where = str(directory / name)
    else:
        where = str(directory / "templates" / name)
    return f"{where}:{error.line}: {error.message}" if error.line else f"{where}: {error.message}"


def read_values_file(path: str) -> Mapping[str, Any]:
    """One `-f` file (`-` reads stdin); the error names the file and line."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise CliError(f"values file {path}: {getattr(err, 'strerror', None) or err}") from None
    parsed = parse_values_document(text, path)
    if isinstance(parsed, RenderError):
        raise CliError(f"values file {parsed}")
    return parsed


def layer(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` over `base`: maps merge key by key, anything else replaces, and null stays null.

    Unlike the controller's deep_merge (which drops a key on null), the null must survive here: these are
    overrides, and the controller applies them over the chart defaults, where the null removes the default.
    """
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = layer(current, value)
        else:
            merged[key] = value
    return merged


def collect_values(files: Sequence[str], sets: Sequence[str], set_strings: Sequence[str] = ()) -> dict[str, Any]:
    """The overrides from `-f` files, `--set` and `--set-string`, in that order of precedence."""
    values: dict[str, Any] = {}
    for path in files:
        values = layer(values, read_values_file(path))
    for flag, expressions, force_string in (("--set", sets, False), ("--set-string", set_strings, True)):
        for expression in expressions:
            try:
                parsed = parse_set([expression], force_string=force_string)
            except SetSyntaxError as err:
                # The parser's message already quotes the expression (as "--set ..."); name the real flag.
                raise CliError(str(err).replace("--set ", f"{flag} ", 1)) from None
            values = layer(values, parsed)
    return values


def chart_spec(loaded: LoadedChart, *, archive: bool) -> dict[str, Any]:
    """The Release's `spec.chart`: inline templates with the chart's defaults, or a reproducible archive."""
    if archive:
        return {"archive": pack_chart_archive(dict(loaded.files), loaded.name)}
    return chart_to_inline_spec(loaded.chart)


def release_body(
    name: str, namespace: str | None, chart: Mapping[str, Any], values: Mapping[str, Any]
) -> dict[str, Any]:
    """The Release object the CLI writes: only chart and values, so other spec fields stay their owners'."""
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": API_VERSION,
        "kind": RELEASE_KIND,
        "metadata": metadata,
        "spec": {"chart": dict(chart), "values": dict(values)},
    }


def desired_release(args: argparse.Namespace, namespace: str, *, archive: bool) -> tuple[LoadedChart, dict[str, Any]]:
    """The chart directory and the Release body that `NAME CHART_DIR` plus the values flags describe."""
    loaded = load_chart(args.chart_dir)
    values = collect_values(args.values, args.set, args.set_string)
    return loaded, release_body(args.name, namespace, chart_spec(loaded, archive=archive), values)
