"""YAML from tenants loads within bounds (issue 11, F3 and F10): alias bombs, recursive anchors, deep nesting,
non-JSON tags and over-long integers are refused at load with a YAMLError-based error naming the source (the
chart's values.yaml or Chart.yaml, a `spec.valuesFrom` entry, a `-f` file, a template's rendered output) and
the line; none of them is expanded first, and no message quotes the document (aliases, tags and scalars
may be secrets).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from rudder.cli.chartsource import collect_values
from rudder.cli.errors import CliError
from rudder.models import ValuesFromRef, ValuesSourceKind
from rudder.render import Chart, ReleaseInfo, RenderError, chart_from_files, parse_values_from, render_chart
from rudder.render.limits import RenderLimits
from rudder.render.yamlio import MAX_NODES, YamlBoundsError, check_node_bounds, load_documents, load_one

SECRET = "hunter2SECRET"


def laughs(levels: int, width: int = 10) -> str:
    """The "billion laughs": each level an anchored list of `width` aliases to the level before."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def merge_bomb() -> str:
    lines = ["a0: &a0 {k0: v}"]
    for i in range(1, 30):
        lines.append(f"a{i}: &a{i} {{<<: [*a{i - 1}], k{i}: [*a{i - 1}, *a{i - 1}]}}")
    return "\n".join(lines) + "\n"


def deep(levels: int) -> str:
    return "a: " + "[" * levels + "]" * levels + "\n"


# (document, the line the error is on, the problem); the document is always a mapping at its top.
BAD_DOCUMENTS = [
    # The line is the anchor whose expansion first crosses the bound.
    ("billion laughs", laughs(9), 6, f"aliases expand to more than {MAX_NODES} nodes"),
    ("wide laughs", laughs(4, 100), 3, f"aliases expand to more than {MAX_NODES} nodes"),
    ("laughs through merge keys", merge_bomb(), 11, f"aliases expand to more than {MAX_NODES} nodes"),
    ("recursive anchor", "a: &a [1, *a]\n", 1, "an alias refers to its own anchor (recursive structure)"),
    ("recursive map anchor", "a: &a {b: *a}\n", 1, "an alias refers to its own anchor (recursive structure)"),
    ("nesting past the bound", deep(250), 1, "nested deeper than 200 levels"),
    ("nesting past the parser", deep(5000), None, "nested too deeply"),
    ("binary tag", f"a: !!binary {SECRET}aGk=\n", 1,
     "the tag binary is not supported (only JSON-like values: maps, lists, strings, numbers, booleans, null)"),
    ("set tag", f"a: !!set {{{SECRET}}}\n", 1,
     "the tag set is not supported (only JSON-like values: maps, lists, strings, numbers, booleans, null)"),
    ("timestamp tag", "a: !!timestamp 2001-12-14t21:59:43.10-05:00\n", 1,
     "the tag timestamp is not supported (only JSON-like values: maps, lists, strings, numbers, booleans, null)"),
    ("python object tag", f"a: !!python/object:os.system {SECRET}\n", 1,
     "could not determine a constructor for the tag (...)"),
    ("custom tag named like a secret", f"a: !{SECRET} x\n", 1, "could not determine a constructor for the tag (...)"),
    ("undefined alias named like a secret", f"a: *{SECRET}\n", 1, "found undefined alias (...)"),
    ("5000-digit integer", "a: " + "9" * 5000 + "\n", 1, "integer too long (more than 4300 digits)"),
]
IDS = [case[0] for case in BAD_DOCUMENTS]


def _chart_values(text: str) -> RenderError | object:
    return chart_from_files({"values.yaml": text, "a.yaml": "kind: A\n"})


def _chart_yaml(text: str) -> RenderError | object:
    return chart_from_files({"Chart.yaml": "name: x\n" + text, "a.yaml": "kind: A\n"})


def _values_from(text: str) -> RenderError | object:
    ref = ValuesFromRef(kind=ValuesSourceKind.SECRET, name="db", key="values.yaml", optional=False)
    return parse_values_from([ref], [text])


SOURCES: dict[str, tuple[Callable[[str], object], str, int]] = {
    # source -> (loader, the name the error carries, lines before the document)
    "values.yaml": (_chart_values, "values.yaml", 0),
    "Chart.yaml": (_chart_yaml, "Chart.yaml", 1),
    "valuesFrom": (_values_from, "spec.valuesFrom[0] (Secret db, key values.yaml)", 0),
}


@pytest.mark.corpus("values")
@pytest.mark.parametrize(("name", "text", "line", "problem"), BAD_DOCUMENTS, ids=IDS)
@pytest.mark.parametrize("source", list(SOURCES))
def test_bad_yaml_is_refused_naming_the_source_and_line(
    *, name: str, text: str, line: int | None, problem: str, source: str
) -> None:
    load, where, offset = SOURCES[source]
    result = load(text)
    assert result == RenderError(where, None if line is None else line + offset, f"invalid YAML: {problem}")
    assert SECRET not in str(result)


@pytest.mark.corpus("values")
@pytest.mark.parametrize(("name", "text", "line", "problem"), BAD_DOCUMENTS, ids=IDS)
def test_bad_values_files_are_refused_by_the_cli(
    *, name: str, text: str, line: int | None, problem: str, tmp_path: Path
) -> None:
    path = tmp_path / "prod.yaml"
    path.write_text(text)
    with pytest.raises(CliError) as caught:
        collect_values([str(path)], [])
    where = f"{path}:{line}" if line is not None else str(path)
    assert str(caught.value) == f"values file {where}: invalid YAML: {problem}"
    assert SECRET not in str(caught.value)


RENDERED = [
    ("alias bomb in the output", "{{ values.bomb }}", {"bomb": laughs(9)}, 6,
     f"aliases expand to more than {MAX_NODES} nodes"),
    ("recursive anchor in the output", "kind: A\nx: &a [*a]\n", {}, 2,
     "an alias refers to its own anchor (recursive structure)"),
    ("binary tag in the output", "kind: A\nx: !!binary {{ values.s }}\n", {"s": SECRET}, 2,
     "the tag binary is not supported (only JSON-like values: maps, lists, strings, numbers, booleans, null)"),
    ("huge integer in the output", "kind: A\nx: {{ '7' * 5000 }}\n", {}, 2,
     "integer too long (more than 4300 digits)"),
    ("secret alias in the output", "kind: A\nx: *{{ values.s }}\n", {"s": SECRET}, 2, "found undefined alias (...)"),
]


@pytest.mark.corpus("values")
@pytest.mark.parametrize(("name", "template", "values", "line", "problem"), RENDERED, ids=[r[0] for r in RENDERED])
def test_rendered_output_loads_within_the_same_bounds(
    *, name: str, template: str, values: dict[str, object], line: int, problem: str
) -> None:
    chart = chart_from_files({"out.yaml": template})
    assert isinstance(chart, Chart)
    result = render_chart(chart, values, ReleaseInfo("a", "b", 1), limits=RenderLimits(isolate=False))
    assert result == RenderError("out.yaml", line, f"rendered output is not valid YAML: {problem}")
    assert SECRET not in str(result)


def test_ordinary_anchors_and_merge_keys_still_load() -> None:
    text = "base: &base {cpu: 1, mem: 2}\nweb: {<<: *base, cpu: 3}\nports: &p [80, 443]\nalso: *p\n"
    assert load_one(text) == {
        "base": {"cpu": 1, "mem": 2}, "web": {"cpu": 3, "mem": 2}, "ports": [80, 443], "also": [80, 443],
    }
    assert list(load_documents("a: 2001-12-14\n---\nb: 1\n")) == [{"a": "2001-12-14"}, {"b": 1}]


def test_the_expansion_check_is_exact_at_the_bound() -> None:
    # root 1 + key x 1 + `[1, 2, 3]` 4 + key a 1 + `[*x, *x]` (1 + 2 * 4) = 16 nodes, each alias counted in full.
    node = yaml.compose("x: &x [1, 2, 3]\na: [*x, *x]\n", Loader=yaml.SafeLoader)
    assert node is not None
    check_node_bounds(node, max_nodes=16)
    with pytest.raises(YamlBoundsError, match="aliases expand to more than 15 nodes"):
        check_node_bounds(node, max_nodes=15)

