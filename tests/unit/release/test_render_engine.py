"""Rendering a chart: strict undefined values named by path, errors as data with file and line, partials,
NOTES, multi-document output with empty documents skipped, and the sandbox."""

from __future__ import annotations

from rudder.render import Chart, ReleaseInfo, RenderedChart, RenderError, chart_from_files, render_chart

RELEASE = ReleaseInfo("shop", "prod", 7)


def render(files: dict[str, str], values: dict[str, object] | None = None) -> RenderedChart | RenderError:
    chart = chart_from_files(files)
    assert isinstance(chart, Chart), chart
    return render_chart(chart, values or {}, RELEASE)


def ok(files: dict[str, str], values: dict[str, object] | None = None) -> RenderedChart:
    result = render(files, values)
    assert isinstance(result, RenderedChart), result
    return result


def test_context_has_values_release_and_chart() -> None:
    result = ok(
        {
            "Chart.yaml": "name: shop-chart\nversion: 1.0.0\nappVersion: '2.1'\n",
            "cm.yaml": "kind: ConfigMap\n"
            "rel: {{ release.name }}/{{ release.namespace }}/{{ release.revision }}\n"
            "chart: {{ chart.name }}-{{ chart.version }}-{{ chart.appVersion }}\n"
            "v: {{ values.a.b }}\n",
        },
        {"a": {"b": "x"}},
    )
    assert result.objects[0].body == {
        "kind": "ConfigMap",
        "rel": "shop/prod/7",
        "chart": "shop-chart-1.0.0-2.1",
        "v": "x",
    }


def test_missing_value_names_the_full_path_template_and_line() -> None:
    files = {"deploy.yaml": "kind: Deployment\nimage: {{ values.image.repo }}:{{ values.image.tag }}\n"}
    assert render(files, {"image": {"repo": "nginx"}}) == RenderError(
        "deploy.yaml", 2, "values.image.tag is undefined"
    )
    assert render(files, {}) == RenderError("deploy.yaml", 2, "values.image is undefined")


def test_missing_list_item_and_top_level_name_are_named() -> None:
    assert render({"a.yaml": "x: 1\n\ny: {{ values.ports[2] }}\n"}, {"ports": [1]}) == RenderError(
        "a.yaml", 3, "values.ports[2] is undefined"
    )
    assert render({"a.yaml": "x: {{ nope }}\n"}) == RenderError("a.yaml", 1, "'nope' is undefined")


def test_chart_is_strict_too_when_there_is_no_chart_yaml() -> None:
    result = render({"a.yaml": "x: {{ chart.name }}\n"})
    assert isinstance(result, RenderError)
    assert result.message == "chart.name is undefined"


def test_syntax_error_names_file_and_line() -> None:
    result = render({"svc.yaml": "a: 1\nb: 2\n{% if %}\n"})
    assert isinstance(result, RenderError)
    assert (result.template, result.line) == ("svc.yaml", 3)
    assert result.message.startswith("syntax error:")


def test_error_inside_a_partial_points_at_the_partial() -> None:
    result = render({"a.yaml": "x: 1\n{% include '_h.j2' %}\n", "_h.j2": "\n\ny: {{ values.q }}\n"})
    assert result == RenderError("_h.j2", 3, "values.q is undefined")


def test_missing_include_is_reported() -> None:
    result = render({"a.yaml": "x: 1\n{% include '_nope.j2' %}\n"})
    assert isinstance(result, RenderError)
    assert result.template == "a.yaml"
    assert "_nope.j2" in result.message


def test_invalid_yaml_reports_the_line_of_the_rendered_output_without_quoting_it() -> None:
    result = render(
        {"a.yaml": "ok: 1\nsecret: {{ values.pw }}\n  bad: indentation\n"}, {"pw": "hunter2-secret"}
    )
    assert isinstance(result, RenderError)
    assert (result.template, result.line) == ("a.yaml", 3)
    assert "not valid YAML" in result.message
    assert "hunter2" not in result.message


def test_non_mapping_documents_are_rejected() -> None:
    result = render({"a.yaml": "kind: A\n---\n- 1\n- 2\n"})
    assert isinstance(result, RenderError)
    assert "document 2 is a list" in result.message


def test_partials_are_imported_and_never_rendered_as_objects() -> None:
    result = ok(
        {
            "_helpers.j2": "{% macro name() %}{{ release.name }}-web{% endmacro %}\n"
            "this: would not parse: as yaml\n",
            "svc.yaml": "{% import '_helpers.j2' as h with context %}\nname: {{ h.name() }}\n",
        }
    )
    assert [o.body for o in result.objects] == [{"name": "shop-web"}]


def test_multi_document_output_skips_empty_documents_and_indexes_objects() -> None:
    result = ok(
        {
            "a.yaml": "---\n# only a comment\n---\nkind: A\n---\n"
            "{% if false %}kind: B{% endif %}\n---\nkind: C\n"
        }
    )
    assert [(o.template, o.index, o.body["kind"]) for o in result.objects] == [
        ("a.yaml", 0, "A"),
        ("a.yaml", 1, "C"),
    ]
    assert result.objects[1].origin == "a.yaml#1"


def test_templates_render_in_name_order() -> None:
    result = ok({"b.yaml": "kind: B\n", "a.yaml": "kind: A\n", "sub/c.yaml": "kind: C\n"})
    assert [o.template for o in result.objects] == ["a.yaml", "b.yaml", "sub/c.yaml"]


def test_notes_are_rendered_not_parsed() -> None:
    result = ok({"a.yaml": "kind: A\n", "NOTES.txt": "Visit {{ release.name }}: it: is: not yaml\n"})
    assert result.notes == "Visit shop: it: is: not yaml"
    assert len(result.objects) == 1


def test_values_keys_named_like_dict_methods_resolve_to_the_keys() -> None:
    result = ok({"a.yaml": "items: {{ values.items }}\nkeys: {{ values.keys }}\n"}, {"items": 3, "keys": "k"})
    assert result.objects[0].body == {"items": 3, "keys": "k"}


def test_sandbox_blocks_python_internals() -> None:
    result = render({"a.yaml": "x: {{ ''.__class__.__mro__ }}\n"})
    assert isinstance(result, RenderError)
    assert "unsafe" in result.message


def test_unquoted_dates_stay_strings() -> None:
    result = ok({"a.yaml": "metadata:\n  annotations:\n    released: 2024-05-01\n"})
    assert result.objects[0].body["metadata"]["annotations"]["released"] == "2024-05-01"


def test_blocks_do_not_leave_blank_or_misindented_lines() -> None:
    result = ok({"a.yaml": "spec:\n{% if values.on %}\n  replicas: 2\n{% endif %}\n  x: 1\n"}, {"on": True})
    assert result.objects[0].body == {"spec": {"replicas": 2, "x": 1}}


def test_type_errors_in_expressions_are_render_errors() -> None:
    result = render({"a.yaml": "a: 1\nx: {{ 'a' + 1 }}\n"})
    assert isinstance(result, RenderError)
    assert (result.template, result.line) == ("a.yaml", 2)
    assert result.message.startswith("TypeError")
