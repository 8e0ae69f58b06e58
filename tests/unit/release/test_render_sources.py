"""Chart sources: inline templates, ConfigMap data and archives all load to the same chart; archives are
unpacked in memory and refuse path traversal, links and decompression bombs."""

from __future__ import annotations

import base64
import gzip
import io
import tarfile
from pathlib import Path

import pytest

from rudder.models import parse_release_spec
from rudder.render import (
    ArchiveLimits,
    Chart,
    RenderError,
    chart_from_directory_files,
    chart_from_files,
    chart_to_inline_spec,
    pack_chart_archive,
    read_chart_directory,
    resolve_chart,
    unpack_archive,
)

from .conftest import EXAMPLES

FILES = {
    "Chart.yaml": "name: demo\nversion: 0.1.0\n",
    "values.yaml": "replicas: 2\nimage: {tag: '1'}\n",
    "deploy.yaml": "kind: Deployment\n",
    "_helpers.j2": "{% macro x() %}{% endmacro %}",
}


def tar_b64(entries: list[tarfile.TarInfo | tuple[str, bytes]]) -> str:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                tar.addfile(entry)
            else:
                info = tarfile.TarInfo(entry[0])
                info.size = len(entry[1])
                tar.addfile(info, io.BytesIO(entry[1]))
    return base64.b64encode(gzip.compress(buffer.getvalue())).decode()


def test_flat_files_split_into_meta_defaults_and_templates() -> None:
    chart = chart_from_files(FILES)
    assert isinstance(chart, Chart)
    assert chart.meta is not None
    assert (chart.meta.name, chart.meta.version, chart.meta.app_version) == ("demo", "0.1.0", None)
    assert chart.defaults == {"replicas": 2, "image": {"tag": "1"}}
    assert set(chart.templates) == {"deploy.yaml", "_helpers.j2"}


def test_inline_and_configmap_sources_layer_spec_chart_values_over_values_yaml() -> None:
    inline = parse_release_spec({"chart": {"templates": FILES, "values": {"replicas": 5}}})
    chart = resolve_chart(inline.chart)
    assert isinstance(chart, Chart)
    assert chart.defaults == {"replicas": 5, "image": {"tag": "1"}}
    by_ref = parse_release_spec({"chart": {"configMapRef": {"name": "c"}}})
    chart = resolve_chart(by_ref.chart, config_map_data=FILES)
    assert isinstance(chart, Chart)
    assert chart.defaults["replicas"] == 2
    assert resolve_chart(by_ref.chart, None) == RenderError(
        "spec.chart.configMapRef", None, "ConfigMap c not found"
    )


def test_chart_file_errors_name_the_file() -> None:
    broken = chart_from_files({"values.yaml": "a: 1\nb: [", "x.yaml": ""})
    assert isinstance(broken, RenderError)
    assert (broken.template, broken.line) == ("values.yaml", 2)
    assert broken.message.startswith("invalid YAML")
    assert chart_from_files({"values.yaml": "- 1", "x.yaml": ""}) == RenderError(
        "values.yaml", None, "must be a YAML mapping, not list"
    )
    assert chart_from_files({"Chart.yaml": "version: 1", "x.yaml": ""}) == RenderError(
        "Chart.yaml", None, "name is required"
    )
    assert chart_from_files({"_only.j2": ""}) == RenderError(None, None, "the chart has no templates")


def test_archive_round_trip_strips_the_top_directory() -> None:
    files = read_chart_directory(EXAMPLES / "web-app")
    encoded = pack_chart_archive(files, "web-app")
    assert encoded == pack_chart_archive(files, "web-app"), "packing is reproducible"
    unpacked = unpack_archive(encoded, ArchiveLimits())
    assert unpacked == files
    spec = parse_release_spec({"chart": {"archive": encoded}})
    chart = resolve_chart(spec.chart)
    assert isinstance(chart, Chart)
    assert chart.meta is not None
    assert chart.meta.name == "web-app"
    assert "deployment.yaml" in chart.templates
    assert chart.defaults["replicaCount"] == 2


def test_archive_at_root_and_irrelevant_files_are_accepted() -> None:
    encoded = tar_b64(
        [
            ("Chart.yaml", b"name: a\n"),
            ("templates/x.yaml", b"kind: X\n"),
            ("README.md", b"hi"),
            ("logo.png", b"\x89PNG\xff\xfe"),
        ]
    )
    chart = resolve_chart(parse_release_spec({"chart": {"archive": encoded}}).chart)
    assert isinstance(chart, Chart)
    assert list(chart.templates) == ["x.yaml"]


@pytest.mark.parametrize("name", ["../evil.yaml", "/etc/passwd", "chart/../../x", "a\\b"])
def test_archive_rejects_path_traversal(name: str) -> None:
    result = unpack_archive(tar_b64([(name, b"x")]), ArchiveLimits())
    assert isinstance(result, RenderError)
    assert "unsafe path" in result.message


def test_archive_rejects_links() -> None:
    link = tarfile.TarInfo("templates/link.yaml")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    result = unpack_archive(tar_b64([link]), ArchiveLimits())
    assert isinstance(result, RenderError)
    assert "link" in result.message


def test_archive_bomb_stops_at_the_unpacked_limit() -> None:
    bomb = base64.b64encode(gzip.compress(b"\0" * (8 * 1024 * 1024))).decode()
    result = unpack_archive(bomb, ArchiveLimits(max_unpacked_bytes=1024 * 1024))
    assert result == RenderError("spec.chart.archive", None, f"unpacks to more than {1024 * 1024} bytes")


def test_archive_limits_on_size_members_and_files() -> None:
    big = tar_b64([("templates/a.yaml", b"x" * 5000)])
    assert "larger than 1000 bytes" in str(unpack_archive(big, ArchiveLimits(max_file_bytes=1000)))
    many = tar_b64([(f"templates/{i}.yaml", b"") for i in range(5)])
    assert "more than 3 entries" in str(unpack_archive(many, ArchiveLimits(max_members=3)))
    assert "larger than 10 bytes" in str(unpack_archive(big, ArchiveLimits(max_encoded_bytes=10)))


def test_archive_garbage_is_reported() -> None:
    assert unpack_archive("!!!", ArchiveLimits()) == RenderError(
        "spec.chart.archive", None, "not valid base64"
    )
    not_gzip = base64.b64encode(b"plain bytes").decode()
    assert "not gzip" in str(unpack_archive(not_gzip, ArchiveLimits()))
    not_tar = base64.b64encode(gzip.compress(b"x" * 600)).decode()
    assert "not a tar archive" in str(unpack_archive(not_tar, ArchiveLimits()))


def test_non_text_template_is_an_error() -> None:
    result = unpack_archive(tar_b64([("templates/a.yaml", b"\xff\xfe\x00")]), ArchiveLimits())
    assert result == RenderError("spec.chart.archive", None, "templates/a.yaml is not UTF-8 text")


def test_subcharts_are_refused_explicitly() -> None:
    result = chart_from_directory_files(
        {"Chart.yaml": "name: a", "templates/a.yaml": "", "charts/b/Chart.yaml": ""}
    )
    assert isinstance(result, RenderError)
    assert "subcharts" in result.message


def test_directory_reader_keeps_only_chart_files(tmp_path: Path) -> None:
    (tmp_path / "templates" / "sub").mkdir(parents=True)
    (tmp_path / "Chart.yaml").write_text("name: d\n")
    (tmp_path / "README.md").write_text("ignored")
    (tmp_path / "templates" / "a.yaml").write_text("kind: A\n")
    (tmp_path / "templates" / "sub" / "b.yaml").write_text("kind: B\n")
    assert read_chart_directory(tmp_path) == {
        "Chart.yaml": "name: d\n",
        "templates/a.yaml": "kind: A\n",
        "templates/sub/b.yaml": "kind: B\n",
    }


def test_directory_reader_refuses_links_out_of_the_chart(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "templates" / "x.yaml").symlink_to(outside)
    with pytest.raises(ValueError, match="outside the chart"):
        read_chart_directory(chart)


def test_inline_spec_from_a_chart_keeps_chart_metadata() -> None:
    chart = chart_from_directory_files(read_chart_directory(EXAMPLES / "stateful"))
    assert isinstance(chart, Chart)
    spec = parse_release_spec({"chart": chart_to_inline_spec(chart)})
    again = resolve_chart(spec.chart)
    assert isinstance(again, Chart)
    assert again.meta == chart.meta
    assert again.defaults == chart.defaults
    assert again.templates == chart.templates
