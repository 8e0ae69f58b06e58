"""Strict Jinja2 rendering of PromQL templates, with context-aware escaping of values.

A metric policy's queries are Jinja2 templates over ``namespace``, ``workload``,
``track``, ``pod_regex``, ``interval``, ``quantile`` and ``args.*``.  Two rules make
rendering safe:

* **Strict**: a variable the template uses but the context lacks is an error that
  names it (``args.route`` included), found before rendering from the template's
  syntax tree; ``StrictUndefined`` backs that up.  ``args.x | default(...)`` is the
  one way to make an argument optional.
* **No injection**: every ``{{ ... }}`` is first rendered as an opaque placeholder;
  the rendered text is then scanned as PromQL to learn where each placeholder sits,
  and the value is escaped for that spot.  Inside a double- or single-quoted
  string the value becomes a string literal's content (quotes, backslashes,
  newlines and control characters escaped, per PromQL's Go-style escapes), so it
  can never close the string or add a matcher.  Outside strings (a range such as
  ``[{{ interval }}]``) a value must be a number, a duration or a plain identifier.
  Raw (backtick) strings cannot escape anything, so a value containing a backtick
  is refused there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

_DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_IDENTIFIER = re.compile(r"^[A-Za-z_:][A-Za-z0-9_:]*$")
_PLACEHOLDER = re.compile("\x00(\\d+)\x00")
_EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


class RenderError(ValueError):
    """A query template could not be rendered safely; the message names the cause."""


class Track(Enum):
    CANARY = "canary"
    BASELINE = "baseline"
    PRIMARY = "primary"


@dataclass(frozen=True)
class QueryContext:
    """The variables a policy's query templates may use."""

    namespace: str
    workload: str
    track: Track
    pod_regex: str
    interval: str = "1m"
    args: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    quantile: float | None = None

    def variables(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "namespace": self.namespace,
            "workload": self.workload,
            "track": self.track.value,
            "pod_regex": self.pod_regex,
            "interval": self.interval,
            "args": dict(self.args),
        }
        if self.quantile is not None:
            values["quantile"] = self.quantile
        return values


class _Context(Enum):
    BARE = "bare"
    DOUBLE = '"'
    SINGLE = "'"
    RAW = "`"


_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_string_content(value: str, quote: str = '"') -> str:
    """Escape ``value`` for the inside of a PromQL string opened by ``quote``."""
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char == quote:
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


def _placeholder_contexts(text: str) -> dict[int, _Context]:
    """Scan rendered PromQL and say, for each placeholder, whether it sits in a string."""
    contexts: dict[int, _Context] = {}
    state = _Context.BARE
    in_comment = False
    position = 0
    while position < len(text):
        char = text[position]
        if char == "\x00":
            end = text.index("\x00", position + 1)
            contexts[int(text[position + 1 : end])] = _Context.BARE if in_comment else state
            position = end + 1
            continue
        if in_comment:
            in_comment = char != "\n"
        elif state is _Context.BARE:
            if char == "#":
                in_comment = True
            elif char in "\"'`":
                state = _Context(char)
        elif char == "\\" and state is not _Context.RAW:
            position += 1  # an escaped character never closes the string
        elif char == state.value:
            state = _Context.BARE
        position += 1
    return contexts


def _substitute(value: str, where: _Context, expression: str, query_name: str) -> str:
    if where in (_Context.DOUBLE, _Context.SINGLE):
        return escape_string_content(value, where.value)
    if where is _Context.RAW:
        if "`" in value:
            raise RenderError(f"query {query_name!r}: {expression} inside a raw `string` contains a backtick")
        return value
    if _DURATION.match(value) or _NUMBER.match(value) or _IDENTIFIER.match(value):
        return value
    raise RenderError(
        f"query {query_name!r}: {expression} is rendered outside a quoted string, so it must be a number, "
        f"a duration or an identifier, not {value!r}"
    )


def _missing_variables(ast: nodes.Template, variables: Mapping[str, Any]) -> list[str]:
    missing = sorted(name for name in meta.find_undeclared_variables(ast) if name not in variables)
    args = variables.get("args", {})
    # ``args.x | default(...)`` is optional by construction.
    defaulted = {id(f.node) for f in ast.find_all(nodes.Filter) if f.name == "default"}
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        if id(node) in defaulted:
            continue
        key: object
        if isinstance(node, nodes.Getattr):
            target, key = node.node, node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            target, key = node.node, node.arg.value
        else:
            continue
        if not (isinstance(target, nodes.Name) and target.name == "args"):
            continue
        if key not in args:
            missing.append(f"args.{key}")
    return missing


_ENVIRONMENT = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)


def render_query(template: str, context: QueryContext, query_name: str = "query") -> str:
    """Render one query template; raises ``RenderError`` naming what went wrong."""
    variables = context.variables()
    try:
        ast = _ENVIRONMENT.parse(template)
    except jinja2.TemplateSyntaxError as error:
        raise RenderError(f"query {query_name!r}: template syntax error line {error.lineno}: {error.message}") from None
    missing = _missing_variables(ast, variables)
    if missing:
        raise RenderError(f"query {query_name!r} uses undefined variable(s): {', '.join(missing)}")
    values: list[str] = []

    def finalize(value: object) -> str:
        values.append(str(value))
        return f"\x00{len(values) - 1}\x00"

    environment = _ENVIRONMENT.overlay(finalize=finalize)
    try:
        rendered = environment.from_string(template).render(variables)
    except jinja2.UndefinedError as error:
        raise RenderError(f"query {query_name!r} uses an undefined variable: {error.message}") from None
    except jinja2.TemplateError as error:
        raise RenderError(f"query {query_name!r}: {error}") from None
    expressions = ["{{" + e + "}}" for e in _EXPRESSION.findall(template)]
    contexts = _placeholder_contexts(rendered)

    def replace(match: re.Match[str]) -> str:
        index = int(match.group(1))
        expression = expressions[index] if len(expressions) == len(values) else f"value #{index + 1}"
        return _substitute(values[index], contexts[index], expression.strip(), query_name)

    return _PLACEHOLDER.sub(replace, rendered)


def render_queries(templates: Mapping[str, str], context: QueryContext) -> dict[str, str]:
    """Render every query of a policy (``errors``/``total``, ``samples``, ...)."""
    return {name: render_query(text, context, name) for name, text in templates.items()}
