"""YAML reading and writing with Kubernetes' conventions, and loading bounded for tenant input.

Every document is checked before it is constructed: its aliases may not expand past MAX_NODES nodes (a
400-byte "billion laughs" document otherwise costs minutes of CPU in whatever walks it later), may not refer
to themselves, and nesting is bounded. Only JSON-like data loads: `!!binary`, `!!set` and `!!timestamp`
are refused, as are integers too long to print. Failures are yaml.YAMLError with a line and a problem that
never quotes the document.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_NODES = 200_000  # per document, counting every alias as a full copy of what it refers to
MAX_DEPTH = 200


class YamlBoundsError(yaml.YAMLError):
    """A document past the loading bounds, or one that cannot be loaded as JSON-like data."""

    def __init__(self, problem: str, mark: Mark | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class KubeYamlLoader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver.

    Kubernetes converts YAML to JSON, where an unquoted date stays a string; PyYAML would turn it into a
    datetime that cannot be serialised back, so dates are read as plain strings here.
    """


KubeYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _refuse_tag(loader: yaml.SafeLoader, node: Node) -> Any:
    raise ConstructorError(None, None, f"the tag {node.tag.rsplit(':', 1)[-1]} is not supported "
                           "(only JSON-like values: maps, lists, strings, numbers, booleans, null)", node.start_mark)


def _bounded_int(loader: yaml.SafeLoader, node: ScalarNode) -> Any:
    try:
        return loader.construct_yaml_int(node)
    except ValueError:
        raise ConstructorError(None, None, "integer too long (more than 4300 digits)", node.start_mark) from None


for _tag in ("binary", "set", "timestamp"):
    KubeYamlLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse_tag)
KubeYamlLoader.add_constructor("tag:yaml.org,2002:int", _bounded_int)


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def check_node_bounds(root: Node, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH) -> None:
    """Refuse a composed document whose expansion is too large, too deep or recursive.

    An iterative depth-first walk with the expanded size of each node memoised, so the check itself is
    linear in the document however far its aliases expand.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool, int]] = [(root, False, 0)]
    while stack:
        node, finished, depth = stack.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > max_nodes:
                raise YamlBoundsError(f"aliases expand to more than {max_nodes} nodes", node.start_mark)
            continue
        if key in sizes:
            continue
        if depth > max_depth:
            raise YamlBoundsError(f"nested deeper than {max_depth} levels", node.start_mark)
        on_path.add(key)
        stack.append((node, True, depth))
        for child in _children(node):
            if id(child) in on_path:
                raise YamlBoundsError("an alias refers to its own anchor (recursive structure)", child.start_mark)
            if id(child) not in sizes:
                stack.append((child, False, depth + 1))


def _construct_checked(loader: KubeYamlLoader, node: Node) -> Any:
    check_node_bounds(node)
    return loader.construct_document(node)


def load_documents(text: str) -> Iterator[Any]:
    """Yield every document of a multi-document YAML text, each within the bounds; raises yaml.YAMLError."""
    loader = KubeYamlLoader(text)  # a SafeLoader subclass: no arbitrary objects
    try:
        while _guarded(loader.check_node):
            node = _guarded(loader.get_node)
            yield _guarded(lambda node=node: _construct_checked(loader, node))
    finally:
        loader.dispose()


def load_one(text: str) -> Any:
    """Load a single YAML document within the bounds; raises yaml.YAMLError."""
    loader = KubeYamlLoader(text)  # a SafeLoader subclass: no arbitrary objects
    try:
        node = _guarded(loader.get_single_node)
        return None if node is None else _guarded(lambda: _construct_checked(loader, node))
    finally:
        loader.dispose()


def _guarded(step: Any) -> Any:
    # PyYAML's composer and constructor recurse once per nesting level, and a few inputs make them raise
    # plain Python errors; all of it becomes a YAMLError naming the problem, never the content.
    try:
        return step()
    except yaml.YAMLError:
        raise
    except RecursionError:
        raise YamlBoundsError("nested too deeply") from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise YamlBoundsError(f"cannot be loaded ({type(exc).__name__})") from None


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
    problem = str(getattr(exc, "problem", None) or getattr(exc, "context", None) or "invalid YAML")
    return line, elide_quoted(_unquoted(problem))


# Problems PyYAML words with the offending text in quotes (an alias or tag name, which may be secret); the
# quoted part is elided in the form sec-names' `elide_quoted` gives it, so both agree once merged.
_QUOTING_PROBLEMS = (
    "found undefined alias",
    "could not determine a constructor for the tag",
    "found duplicate anchor",
    "found undefined tag handle",
)


def _unquoted(problem: str) -> str:
    for prefix in _QUOTING_PROBLEMS:
        if problem.startswith(prefix):
            return f"{prefix} (...)"
    return problem


def to_plain(data: Any) -> Any:
    """Deep copy into plain dict/list/scalars ; keys become strings, as in JSON."""
    if isinstance(data, Mapping):
        return {k if isinstance(k, str) else str(k): to_plain(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [to_plain(v) for v in data]
    return data
