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
    dumped = yaml.safe_dump(to_plain(value), default_flow_style=False, sort_keys=False, allow_unicode=True)
    # A scalar dump ends with a document-end marker; Helm's toYaml prints just the scalar.
    return dumped.removesuffix("\n...\n").rstrip("\n")


def tojson(value: Any) -> str:
    """Compact JSON, as Helm's toJson."""
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return json.dumps(to_plain(value), separators=(",", ":"), ensure_ascii=False)


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
