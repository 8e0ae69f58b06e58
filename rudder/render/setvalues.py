"""`--set a.b=c` parsing with Helm's rules, for the command line.

Rules: assignments are separated by commas; keys are dotted paths with `[i]` list indexes; a backslash escapes
the next character (`a\\.b=c` sets the key "a.b", `a=x\\,y` sets "x,y"); `{x,y}` is a list; values `true` and
`false` become booleans, `null` removes the key, and integers without a leading zero become ints, unless
`force_string` is set (Helm's `--set-string`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

_MAX_INDEX = 65536  # guards against `a[999999999]=x` allocating a huge list


class SetSyntaxError(ValueError):
    """A `--set` expression that cannot be parsed; the message quotes the expression."""


PathSegment = str | int


def parse_set(expressions: Sequence[str], *, force_string: bool = False) -> dict[str, Any]:
    """Parse `--set` expressions, in order, into one nested values mapping."""
    result: dict[str, Any] = {}
    for expr in expressions:
        _Parser(expr, force_string).parse_into(result)
    return result


def typed_value(text: str) -> Any:
    """Helm's type coercion of an unquoted --set value."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if text == "0":
        return 0
    # A leading zero keeps the text a string, so "0755" or "007" survive as written.
    if text and text[0] != "0" and text.lstrip("-").isdigit() and text != "-":
        return int(text)
    return text


class _Parser:
    def __init__(self, text: str, force_string: bool) -> None:
        self.text = text
        self.pos = 0
        self.force_string = force_string

    def fail(self, message: str) -> SetSyntaxError:
        return SetSyntaxError(f"--set {self.text!r}: {message}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def parse_into(self, target: dict[str, Any]) -> None:
        while self.pos < len(self.text):
            path = self.read_key()
            value = self.read_value()
            _assign(target, path, value, self.fail)
            if self.pos < len(self.text):
                if self.peek() != ",":
                    raise self.fail(f"expected ',' at position {self.pos}")
                self.pos += 1

    def read_key(self) -> list[PathSegment]:
        path: list[PathSegment] = []
        name: list[str] = []
        pending_name = True  # a name segment is expected (start of key or after '.')
        while True:
            ch = self.peek()
            if ch == "":
                raise self.fail(f"key {''.join(name) or self.text!r} has no value")
            if ch == ",":
                raise self.fail(f"key {''.join(name)!r} has no value")
            if ch == "\\":
                name.append(self._escaped())
            elif ch in ".=[":
                if name:
                    path.append("".join(name))
                    name = []
                elif pending_name:
                    raise self.fail("empty key segment")
                self.pos += 1
                if ch == "=":
                    return path
                if ch == "[":
                    path.append(self.read_index())
                    pending_name = False
                    continue
                pending_name = True
                continue
            else:
                self.pos += 1
                name.append(ch)
            pending_name = False

    def read_index(self) -> int:
        end = self.text.find("]", self.pos)
        if end < 0:
            raise self.fail("unclosed '['")
        digits = self.text[self.pos:end]
        if not digits.isdigit():
            raise self.fail(f"list index {digits!r} is not a non-negative integer")
        index = int(digits)
        if index > _MAX_INDEX:
            raise self.fail(f"list index {index} is larger than {_MAX_INDEX}")
        self.pos = end + 1
        if self.peek() not in ("=", ".", "["):
            raise self.fail("expected '=', '.' or '[' after ']'")
        if self.peek() == ".":
            self.pos += 1
        return index

    def _escaped(self) -> str:
        if self.pos + 1 >= len(self.text):
            raise self.fail("trailing backslash")
        self.pos += 2
        return self.text[self.pos - 1]

    def read_value(self) -> Any:
        if self.peek() == "{":
            self.pos += 1
            items: list[Any] = []
            while True:
                item, stop = self.read_scalar(stops=",}")
                items.append(item)
                if stop == "}":
                    return items
                if stop == "":
                    raise self.fail("unclosed '{'")
        value, _ = self.read_scalar(stops=",")
        return value

    def read_scalar(self, stops: str) -> tuple[Any, str]:
        chars: list[str] = []
        while True:
            ch = self.peek()
            if ch == "" or ch in stops:
                if ch and "}" in stops:
                    # Inside a list both the item comma and the closing brace are consumed here; after a
                    # plain value the separating comma is left for parse_into.
                    self.pos += 1
                text = "".join(chars)
                return (text if self.force_string else typed_value(text)), ch
            if ch == "\\":
                chars.append(self._escaped())
            else:
                chars.append(ch)
                self.pos += 1


def _assign(
    node: Any, path: list[PathSegment], value: Any, fail: Callable[[str], SetSyntaxError]
) -> None:
    """Set `value` at `path` inside `node`, creating maps and lists on the way as Helm does."""
    if not path or not isinstance(path[0], str):
        raise fail("a key must start with a name")
    for depth, segment in enumerate(path):
        last = depth == len(path) - 1
        wants_list = not last and isinstance(path[depth + 1], int)
        if isinstance(segment, int):
            while len(node) <= segment:
                node.append(None)
        if last:
            node[segment] = value
            return
        child = node[segment] if isinstance(segment, int) else node.get(segment)
        if wants_list and not isinstance(child, list):
            child = []
        elif not wants_list and not isinstance(child, dict):
            child = {}
        node[segment] = child
        node = child
