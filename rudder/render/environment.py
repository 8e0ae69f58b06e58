"""The Jinja2 sandbox a chart renders in: strict undefined values that name themselves, Helm-style filters,
and a loader that serves the chart's files by name (so partials work through import/include)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import BaseLoader, Environment, StrictUndefined, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment

from rudder.render.filters import FILTERS


class PathDict(dict[str, Any]):
    """A values mapping that knows its dotted path (`values.image`), so a missing key can be named."""

    __slots__ = ("_path",)

    def __init__(self, data: Mapping[str, Any], path: str) -> None:
        super().__init__(data)
        self._path = path


class PathList(list[Any]):
    """A values list that knows its path, for the same reason as PathDict."""

    __slots__ = ("_path",)

    def __init__(self, data: list[Any], path: str) -> None:
        super().__init__(data)
        self._path = path


def with_paths(value: Any, path: str) -> Any:
    """Wrap a values tree so every map and list carries its path."""
    if isinstance(value, Mapping):
        return PathDict({str(k): with_paths(v, f"{path}.{k}") for k, v in value.items()}, path)
    if isinstance(value, list | tuple):
        return PathList([with_paths(v, f"{path}[{i}]") for i, v in enumerate(value)], path)
    return value


class NamedStrictUndefined(StrictUndefined):
    """StrictUndefined whose message names the full missing path: `values.image.tag is undefined`."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        parent = self._undefined_obj
        path = getattr(parent, "_path", None) if isinstance(parent, PathDict | PathList) else None
        if path is not None and self._undefined_hint is None:
            name = self._undefined_name
            child = f"{path}[{name}]" if isinstance(name, int) else f"{path}.{name}"
            return f"{child} is undefined"
        return str(super()._undefined_message)


class ChartLoader(BaseLoader):
    """Serves the chart's template files; the file name doubles as the code filename, so tracebacks of a
    failing template carry its name and line."""

    def __init__(self, files: Mapping[str, str]) -> None:
        self.files = files

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        if template not in self.files:
            raise TemplateNotFound(template)
        return self.files[template], template, lambda: True


class ChartEnvironment(SandboxedEnvironment):
    """The sandbox with values keys taking precedence over dict methods.

    Plain Jinja resolves `values.items` or `values.keys` to the dict method; chart authors mean the key.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, PathDict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


def build_environment(files: Mapping[str, str]) -> ChartEnvironment:
    """A sandboxed, strict environment over the chart's template files.

    trim_blocks/lstrip_blocks are on so `{% if %}` lines vanish instead of leaving blank or mis-indented YAML.
    """
    env = ChartEnvironment(
        loader=ChartLoader(files),
        undefined=NamedStrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env
