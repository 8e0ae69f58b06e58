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
  can never close the string or add a matcher.  In a regex matcher's string
  (``=~``/``!~``) the value is first regex-escaped, so it matches itself only;
  the controller's own ``pod_regex`` is the one value kept as a regex.  Raw
  (backtick) strings cannot escape anything, so a value containing a backtick is
  refused there.
* **Bare positions** (outside strings) accept exactly what the spot may hold: a
  duration inside ``[...]`` and after ``offset``; a label name inside ``{...}`` and
  in ``by``/``without``/``on``/``ignoring``/``group_left``/``group_right`` lists; a
  metric name where the value is glued to a name or followed by ``{``/``[`` (never
  a PromQL keyword); a number everywhere else (after ``@``, as a function argument,
  after a comparison).  ``bool``, ``or``, another metric after ``>`` are refused.
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

_DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$", re.ASCII)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$", re.ASCII)
_IDENTIFIER = re.compile(r"^[A-Za-z_:][A-Za-z0-9_:]*$", re.ASCII)
_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$", re.ASCII)
_LABEL_LIST = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\s*,\s*[A-Za-z_][A-Za-z0-9_]*)*$", re.ASCII)
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:")
# Words that change an expression's meaning where a name or number is expected.
_KEYWORDS = frozenset({"bool", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "and",
                       "or", "unless", "atan2", "start", "end", "inf", "nan", "limitk", "limit_ratio"})
_GROUPING = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
_MAX_NUMBER_LENGTH = 64
_REGEX_META = frozenset("\\.+*?()|[]{}^$")
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


class _Position(Enum):
    """What a bare spot may hold (for strings: whether the string is a regex matcher's)."""

    DURATION = "a duration (e.g. 5m) in a range or after offset"
    LABEL = "a label name"
    LABELS = "a label name or a comma-separated list of label names"
    METRIC = "a metric name"
    NUMBER = "a number"
    COMMENT = "text without line breaks in a comment"
    STRING = "string"
    REGEX = "regex string"


@dataclass(frozen=True)
class _Slot:
    context: _Context
    position: _Position


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


def regex_escape(value: str) -> str:
    """Escape RE2's metacharacters so that ``value`` matches only itself."""
    return "".join("\\" + c if c in _REGEX_META else c for c in value)


def _previous_word(text: str, end: int) -> str:
    """The identifier (or operator character) just before ``end``, spaces skipped."""
    i = end
    while i > 0 and text[i - 1] in " \t\r\n":
        i -= 1
    start = i
    while start > 0 and text[start - 1] in _NAME_CHARS:
        start -= 1
    return text[start:i] if start < i else text[i - 1 : i] if i > 0 else ""


def _bare_position(text: str, start: int, end: int, brackets: list[tuple[str, str]]) -> _Position:
    """Classify the bare spot of a placeholder spanning ``text[start:end]``."""
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    if brackets and brackets[-1][0] == "[":
        return _Position.DURATION
    if _previous_word(text, start) == "offset":
        return _Position.DURATION
    if before in _NAME_CHARS or after in _NAME_CHARS or after in ("{", "["):
        return _Position.METRIC
    if brackets and brackets[-1][0] == "{":
        return _Position.LABEL
    if brackets and brackets[-1][0] == "(" and brackets[-1][1] in _GROUPING:
        return _Position.LABELS
    return _Position.NUMBER


def _placeholder_contexts(text: str) -> dict[int, _Slot]:
    """Scan rendered PromQL and say, for each placeholder, whether it sits in a string (a regex
    matcher's or not) or, outside strings, what the spot may hold."""
    slots: dict[int, _Slot] = {}
    state = _Context.BARE
    regex = False
    in_comment = False
    brackets: list[tuple[str, str]] = []  # open ( { [ with the word before each
    position = 0
    while position < len(text):
        char = text[position]
        if char == "\x00":
            end = text.index("\x00", position + 1)
            index = int(text[position + 1 : end])
            if in_comment:
                slots[index] = _Slot(_Context.BARE, _Position.COMMENT)
            elif state is _Context.BARE:
                slots[index] = _Slot(state, _bare_position(text, position, end + 1, brackets))
            else:
                slots[index] = _Slot(state, _Position.REGEX if regex else _Position.STRING)
            position = end + 1
            continue
        if in_comment:
            in_comment = char != "\n"
        elif state is _Context.BARE:
            if char == "#":
                in_comment = True
            elif char in "\"'`":
                state = _Context(char)
                regex = _previous_word(text, position) == "~"
            elif char in "([{":
                brackets.append((char, _previous_word(text, position)))
            elif char in ")]}" and brackets:
                brackets.pop()
        elif char == "\\" and state is not _Context.RAW:
            position += 1  # an escaped character never closes the string
        elif char == state.value:
            state = _Context.BARE
        position += 1
    return slots


def _allowed(value: str, position: _Position) -> bool:
    if position is _Position.COMMENT:
        return "\n" not in value and "\r" not in value
    if position is _Position.DURATION:
        return bool(_DURATION.match(value.removeprefix("-")))
    if position is _Position.LABEL:
        return bool(_LABEL.match(value)) and value not in _KEYWORDS
    if position is _Position.LABELS:
        return bool(_LABEL_LIST.match(value)) and not set(re.split(r"\s*,\s*", value)) & _KEYWORDS
    if position is _Position.METRIC:
        return bool(_IDENTIFIER.match(value)) and value.lower() not in _KEYWORDS
    return len(value) <= _MAX_NUMBER_LENGTH and bool(_NUMBER.match(value))


def _substitute(value: str, slot: _Slot, expression: str, query_name: str) -> str:
    where = slot.context
    if where in (_Context.DOUBLE, _Context.SINGLE, _Context.RAW) and slot.position is _Position.REGEX:
        # The controller's pod_regex is a regex by design; every other value matches only itself.
        value = value if expression.strip("{} ") == "pod_regex" else regex_escape(value)
    if where in (_Context.DOUBLE, _Context.SINGLE):
        return escape_string_content(value, where.value)
    if where is _Context.RAW:
        if "`" in value:
            raise RenderError(f"query {query_name!r}: {expression} inside a raw `string` contains a backtick")
        return value
    if _allowed(value, slot.position):
        return value
    shown = value if len(value) <= 80 else value[:80] + "..."
    raise RenderError(
        f"query {query_name!r}: {expression} is rendered outside a quoted string, where it must be "
        f"{slot.position.value}, not {shown!r}"
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
