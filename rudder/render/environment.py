"""The Jinja2 sandbox a chart renders in: strict undefined values that name themselves, Helm-style filters,
and a loader that serves the chart's files by name (so partials work through import/include)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import update_wrapper
from typing import Any

from jinja2 import BaseLoader, Environment, StrictUndefined, TemplateNotFound
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum

from rudder.render.filters import FILTERS, bounded_indents
from rudder.render.guards import (
    bounded_lipsum,
    check_binop,
    check_format,
    check_method_call,
    guard_filters,
)
from rudder.render.limits import RenderLimits, default_limits


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
    """The sandbox with values keys taking precedence over dict methods, and size checks on the operators,
    methods and filters that can build huge strings, lists or integers (`rudder.render.guards`).

    Plain Jinja resolves `values.items` or `values.keys` to the dict method; chart authors mean the key.
    Intercepting an operator also stops Jinja2 from folding it at compile time (`{{ 10**(10**8) }}`).
    """

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, *args: Any, limits: RenderLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, PathDict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        check_binop(operator, left, right, self.limits)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        check_method_call(__obj, args, kwargs, __self.limits)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt, limits = value.__self__, self.limits
        is_map = value.__name__ == "format_map"
        inner = wrapped

        def checked(*args: Any, **kwargs: Any) -> str:
            mapping = args[0] if is_map and args and isinstance(args[0], Mapping) else kwargs
            check_format(fmt, () if is_map else args, mapping, limits)
            return inner(*args, **kwargs)

        return update_wrapper(checked, value)


def build_environment(files: Mapping[str, str], limits: RenderLimits | None = None) -> ChartEnvironment:
    """A sandboxed, strict environment over the chart's template files, within `limits`.

    trim_blocks/lstrip_blocks are on so `{% if %}` lines vanish instead of leaving blank or mis-indented YAML.
    """
    limits = limits or default_limits()
    env = ChartEnvironment(
        limits=limits,
        loader=ChartLoader(files),
        undefined=NamedStrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    env.filters.update(guard_filters(env.filters, limits))
    env.filters.update(bounded_indents(limits))
    env.globals["lipsum"] = bounded_lipsum(generate_lorem_ipsum, limits)
    return env
