"""YAML reading and writing with Kubernetes' conventions."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import yaml


class KubeYamlLoader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver.

    Kubernetes converts YAML to JSON, where an unquoted date stays a string; PyYAML would turn it into a
    datetime that cannot be serialised back, so dates are read as plain strings here.
    """


KubeYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_documents(text: str) -> Iterator[Any]:
    """Yield every document of a multi-document YAML text; raises yaml.YAMLError."""
    yield from yaml.load_all(text, Loader=KubeYamlLoader)  # a SafeLoader subclass: no arbitrary objects


def load_one(text: str) -> Any:
    """Load a single YAML document; raises yaml.YAMLError."""
    return yaml.load(text, Loader=KubeYamlLoader)  # a SafeLoader subclass: no arbitrary objects


def dump_yaml(data: Any) -> str:
    """Block-style YAML keeping key order, as a human would write it."""
    return yaml.safe_dump(to_plain(data), default_flow_style=False, sort_keys=False, allow_unicode=True)


def dump_documents(objects: Sequence[Mapping[str, Any]]) -> str:
    """A multi-document YAML stream, one object per document."""
    return "".join("---\n" + dump_yaml(obj) for obj in objects)


_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


# Type names Python quotes in TypeErrors ("unsupported operand type(s) for +: 'int' and 'str'").
_TYPE_NAMES = frozenset({"int", "str", "float", "bool", "list", "dict", "tuple", "NoneType", "bytes",
                         "PathDict", "PathList", "NamedStrictUndefined", "Markup"})


def _token_or_elision(match: re.Match[str]) -> str:
    # Punctuation (',' ']') and PyYAML's own '<stream end>' help and reveal nothing; anything else might.
    quoted = match.group(0)
    inner = quoted[1:-1]
    punctuation = len(inner) <= 2 and not any(c.isalnum() for c in inner)
    keep = punctuation or inner in _TYPE_NAMES or (inner.startswith("<") and inner.endswith(">"))
    return quoted if keep else "(...)"


def elide_quoted(text: str) -> str:
    """`text` without the quoted values Python and PyYAML error messages carry (`invalid literal for int()
    with base 10: (...)`), which may be secrets; quoted punctuation stays."""
    return _QUOTED.sub(_token_or_elision, text)


def yaml_error_position(exc: yaml.YAMLError) -> tuple[int | None, str]:
    """The 1-based line and the problem of a YAML error, without the snippet PyYAML quotes.

    The snippet may contain secret values (rendered from valuesFrom), so it is left out of every message.
    """
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or "invalid YAML"
    # PyYAML quotes the offending token ("found undefined alias 'hunter2'", "the tag '!s3cret'"): with a
    # valuesFrom Secret that token is the secret, so quoted parts are left out too.
    return line, elide_quoted(str(problem))


def to_plain(data: Any) -> Any:
    """Deep copy into plain dict/list/scalars ; keys become strings, as in JSON."""
    if isinstance(data, Mapping):
        return {k if isinstance(k, str) else str(k): to_plain(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [to_plain(v) for v in data]
    return data
