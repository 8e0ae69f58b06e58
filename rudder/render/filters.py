"""Helm-style template filters: toyaml, tojson, b64enc, b64dec, quote, indent, nindent, sha256, default,
required, trunc.

Filters take the piped value first (`{{ values.x | default("a") }}`), so argument order differs from Helm's
function form (`default "a" .Values.x`) while the meaning is Helm's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

import yaml
from jinja2 import Undefined

from rudder.render.guards import check_width
from rudder.render.limits import RenderLimits
from rudder.render.yamlio import to_plain


class RequiredValueError(Exception):
    """Raised by the `required` filter; the renderer turns it into a RenderError with file and line."""


class FilterInputError(Exception):
    """A filter received input it cannot handle (e.g. b64dec of text that is not base64)."""


def _text(value: Any) -> str:
    # Booleans and nulls print the way YAML/Helm spell them, not Python's True/None.
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def _is_empty(value: Any) -> bool:
    # Helm's notion of "empty", minus false and 0: treating them as empty is a long-known Helm trap
    # (`default true .Values.enabled` can never be switched off), so explicit false/0 are kept.
    if isinstance(value, Undefined) or value is None:
        return True
    if isinstance(value, bool | int | float):
        return False
    return isinstance(value, str | Mapping | list | tuple) and len(value) == 0


def toyaml(value: Any) -> str:
    """YAML of a value without the trailing newline, ready for `nindent`."""
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    try:
        dumped = yaml.safe_dump(to_plain(value), default_flow_style=False, sort_keys=False, allow_unicode=True)
    except (yaml.YAMLError, TypeError, ValueError) as exc:
        # e.g. a Jinja2 object (`cycler() | toyaml`); the type is named, never the value.
        raise FilterInputError(f"toyaml: cannot represent a {_kind(value, exc)}") from None
    # A scalar dump ends with a document-end marker; Helm's toYaml prints just the scalar.
    return dumped.removesuffix("\n...\n").rstrip("\n")


def tojson(value: Any) -> str:
    """Compact JSON, as Helm's toJson."""
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    try:
        return json.dumps(to_plain(value), separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise FilterInputError(f"tojson: cannot represent a {_kind(value, exc)}") from None


def _kind(value: Any, exc: BaseException) -> str:
    # The outer type when it is the culprit, else "value inside a <type>" (the exact inner path is unknown).
    name = type(value).__name__
    return name if not isinstance(value, Mapping | list | tuple) else f"value inside a {name} ({type(exc).__name__})"


def b64enc(value: Any) -> str:
    """Base64 of the UTF-8 text of a value (Secret `data`)."""
    return base64.b64encode(_text(value).encode()).decode()


def b64dec(value: Any) -> str:
    """Decode base64 to UTF-8 text."""
    try:
        return base64.b64decode(_text(value), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise FilterInputError("b64dec: input is not base64 of UTF-8 text") from exc


def quote(value: Any) -> str:
    """A double-quoted string, escaped so that it is also a valid YAML scalar."""
    return json.dumps(_text(value), ensure_ascii=False)


def squote(value: Any) -> str:
    """A single-quoted YAML string."""
    return "'" + _text(value).replace("'", "''") + "'"


def indent(value: Any, width: int = 4) -> str:
    """Indent every line, the first included (Helm's indent; Jinja's own skips the first line)."""
    pad = " " * width
    return "\n".join(pad + line if line else line for line in _text(value).split("\n"))


def nindent(value: Any, width: int = 4) -> str:
    """A newline followed by `indent`: `key: {{ x | toyaml | nindent(2) }}`."""
    return "\n" + indent(value, width)


def sha256(value: Any) -> str:
    """Hex SHA-256 of the text, e.g. a checksum annotation that restarts pods when a ConfigMap changes."""
    return hashlib.sha256(_text(value).encode()).hexdigest()


def default(value: Any, fallback: Any = "") -> Any:
    """`fallback` when the value is undefined, null, "" or an empty list/map."""
    return fallback if _is_empty(value) else value


def required(value: Any, message: str = "a required value is missing") -> Any:
    """Fail the render with `message` when the value is undefined, null or ""."""
    if isinstance(value, Undefined) or value is None or value == "":
        raise RequiredValueError(message)
    return value


def trunc(value: Any, length: int) -> str:
    """Cut to `length` characters (names are limited to 63); no ellipsis, unlike Jinja's truncate."""
    return _text(value)[:length]


def bounded_indents(limits: RenderLimits) -> dict[str, Callable[..., str]]:
    """`indent` and `nindent` refusing widths over the string bound (`indent(10**9)`)."""

    def check(value: Any, width: Any, what: str) -> None:
        check_width(width, limits, what)
        if isinstance(width, int):
            text = _text(value)
            check_width(len(text) + width * (text.count("\n") + 1), limits, what)

    def checked_indent(value: Any, width: int = 4) -> str:
        check(value, width, "the indent filter")
        return indent(value, width)

    def checked_nindent(value: Any, width: int = 4) -> str:
        check(value, width, "the nindent filter")
        return nindent(value, width)

    return {"indent": checked_indent, "nindent": checked_nindent}


FILTERS: Mapping[str, Callable[..., Any]] = {
    "toyaml": toyaml,
    "toYaml": toyaml,
    "tojson": tojson,
    "toJson": tojson,
    "b64enc": b64enc,
    "b64dec": b64dec,
    "quote": quote,
    "squote": squote,
    "indent": indent,
    "nindent": nindent,
    "sha256": sha256,
    "sha256sum": sha256,
    "default": default,
    "required": required,
    "trunc": trunc,
}
