"""Chart directories and archives never read outside the chart (issue 11, F11): a Chart.yaml, values.yaml,
templates/ directory or template that is a symlink leading out of the chart is refused with a message naming
it, by `read_chart_directory` and by `rudder template` / `rudder package` (exit 1, one line, nothing on
stdout, the outside file's content nowhere); links inside the chart keep working. Archives keep refusing
links, devices, traversal and bombs (regression cases for what held).
"""

from __future__ import annotations

import base64
import gzip
import io
import os
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from rudder.cli.main import main as rudder_main
from rudder.render import RenderError, read_chart_directory, unpack_archive
from rudder.render.archive import ArchiveLimits
from rudder.render.directory import ChartPathError

TOKEN = "kubeconfig-token-SENTINEL"


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    root = tmp_path / "chart"
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text("name: demo\nversion: 0.1.0\n")
    (root / "values.yaml").write_text("replicas: 1\n")
    (root / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\ndata:\n  r: '{{ values.replicas }}'\n")
    secret = tmp_path / "outside"
    secret.mkdir()
    (secret / "config").write_text(f"token: {TOKEN}\n")
    (secret / "cm.yaml").write_text(f"kind: ConfigMap\ntoken: {TOKEN}\n")
    return root


def _replace_with_link(path: Path, target: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        for child in path.iterdir():
            child.unlink()
        path.rmdir()
    elif path.exists() or path.is_symlink():
        path.unlink()
    path.symlink_to(target)


# (what is replaced by a link out of the chart, the link's path relative to the chart, its target)
ESCAPES: list[tuple[str, str, Callable[[Path], Path]]] = [
    ("values.yaml to a kubeconfig", "values.yaml", lambda out: out / "config"),
    ("Chart.yaml to a kubeconfig", "Chart.yaml", lambda out: out / "config"),
    ("a template to an outside file", "templates/cm.yaml", lambda out: out / "cm.yaml"),
    ("a new template to an outside file", "templates/extra.yaml", lambda out: out / "cm.yaml"),
    ("templates/ to an outside directory", "templates", lambda out: out),
    ("a templates subdirectory to an outside directory", "templates/sub", lambda out: out),
    ("a template to /etc/passwd", "templates/passwd.yaml", lambda out: Path("/etc/passwd")),
    ("values.yaml to /dev/zero", "values.yaml", lambda out: Path("/dev/zero")),
    ("a template relative up and out", "templates/up.yaml", lambda out: Path("../../outside/cm.yaml")),
    ("values.yaml through a chain of links", "values.yaml", lambda out: out.parent / "chain"),
]


def _escape(chart: Path, relative: str, target: Callable[[Path], Path]) -> Path:
    outside = chart.parent / "outside"
    (chart.parent / "chain").symlink_to(outside / "config")
    link = chart / relative
    _replace_with_link(link, target(outside))
    return link


@pytest.mark.corpus("archives")
@pytest.mark.parametrize(("name", "relative", "target"), ESCAPES, ids=[e[0] for e in ESCAPES])
def test_links_out_of_the_chart_are_refused_naming_the_file(
    *, name: str, relative: str, target: Callable[[Path], Path], chart: Path
) -> None:
    link = _escape(chart, relative, target)
    with pytest.raises(ChartPathError) as caught:
        read_chart_directory(chart)
    assert str(caught.value).startswith(f"{link}: a symbolic link to outside the chart directory") or (
        # a linked directory is caught at the first file read through it
        str(caught.value).startswith(f"{link}/")
    )
    assert TOKEN not in str(caught.value)


@pytest.mark.corpus("archives")
@pytest.mark.parametrize(("name", "relative", "target"), ESCAPES, ids=[e[0] for e in ESCAPES])
@pytest.mark.parametrize("verb", ["package", "template", "package --archive"])
def test_the_cli_refuses_links_out_of_the_chart(
    *, name: str, relative: str, target: Callable[[Path], Path], verb: str, chart: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(chart.parent / "no-kubeconfig"))
    link = _escape(chart, relative, target)
    words = verb.split()
    args = [words[0], *(["demo"] if words[0] == "template" else []), str(chart), *words[1:], "-n", "prod"]
    assert rudder_main(args) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"error: chart directory {chart}: {link}")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert TOKEN not in err


def test_links_inside_the_chart_still_work(chart: Path) -> None:
    (chart / "shared").mkdir()
    (chart / "shared" / "defaults.yaml").write_text("replicas: 3\n")
    _replace_with_link(chart / "values.yaml", Path("shared/defaults.yaml"))
    (chart / "templates" / "again.yaml").symlink_to("cm.yaml")
    files = read_chart_directory(chart)
    assert files["values.yaml"] == "replicas: 3\n"
    assert files["templates/again.yaml"] == files["templates/cm.yaml"]


def test_a_chart_directory_given_through_a_link_is_read(chart: Path) -> None:
    alias = chart.parent / "alias"
    alias.symlink_to(chart)
    assert read_chart_directory(alias)["values.yaml"] == "replicas: 1\n"


# -- archives: what held in the red-team pass stays held --------------------------------------------------


def _archive(members: list[tarfile.TarInfo], data: dict[str, bytes] | None = None) -> str:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:") as tar:
        for member in members:
            payload = (data or {}).get(member.name)
            tar.addfile(member, io.BytesIO(payload) if payload is not None else None)
    return base64.b64encode(gzip.compress(buffer.getvalue())).decode()


def _file(name: str, content: bytes = b"kind: A\n") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    return info, content


def _special(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def _one(name: str) -> str:
    info, content = _file(name)
    return _archive([info], {name: content})


def _with_template(*members: tarfile.TarInfo) -> str:
    template, content = _file("chart/templates/a.yaml")
    return _archive([template, *members], {template.name: content})


ARCHIVES = [
    ("symlink to the kubeconfig", _with_template(_special("chart/values.yaml", tarfile.SYMTYPE, "/root/.kube/config")),
     "chart/values.yaml is a link or device; only files allowed"),
    ("hard link", _with_template(_special("chart/Chart.yaml", tarfile.LNKTYPE, "/etc/passwd")),
     "chart/Chart.yaml is a link or device; only files allowed"),
    ("character device", _with_template(_special("chart/templates/zero.yaml", tarfile.CHRTYPE)),
     "chart/templates/zero.yaml is a link or device; only files allowed"),
    ("fifo", _with_template(_special("chart/templates/pipe.yaml", tarfile.FIFOTYPE)),
     "chart/templates/pipe.yaml is a link or device; only files allowed"),
    ("parent traversal", _one("../../etc/cron.d/x"), "unsafe path '../../etc/cron.d/x'"),
    ("absolute path", _one("/etc/x.yaml"), "unsafe path '/etc/x.yaml'"),
    ("traversal inside", _one("chart/templates/../../../x"), "unsafe path 'chart/templates/../../../x'"),
    ("backslash path", _one("chart\\..\\x"), "unsafe path 'chart\\\\..\\\\x'"),
    ("gzip bomb", base64.b64encode(gzip.compress(b"\0" * (17 * 1024 * 1024))).decode(),
     "unpacks to more than 16777216 bytes"),
    ("not gzip", base64.b64encode(b"plain text").decode(), "not gzip data: Error -3 while decompressing data: "
                                                            "incorrect header check"),
]


@pytest.mark.corpus("archives")
@pytest.mark.parametrize(("name", "encoded", "message"), ARCHIVES, ids=[a[0] for a in ARCHIVES])
def test_archives_with_links_traversal_or_bombs_are_refused(*, name: str, encoded: str, message: str) -> None:
    assert unpack_archive(encoded, ArchiveLimits()) == RenderError("spec.chart.archive", None, message)


@pytest.mark.corpus("archives")
def test_an_archive_with_too_many_members_is_refused() -> None:
    members = [_file(f"chart/templates/t{i}.yaml") for i in range(12)]
    encoded = _archive([m for m, _ in members], {m.name: c for m, c in members})
    assert unpack_archive(encoded, ArchiveLimits(max_members=10)) == RenderError(
        "spec.chart.archive", None, "more than 10 entries")


@pytest.mark.corpus("archives")
def test_a_package_never_contains_what_a_link_points_at(chart: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", os.devnull)
    _replace_with_link(chart / "values.yaml", chart.parent / "outside" / "config")
    assert rudder_main(["package", str(chart), "--archive", "-n", "prod"]) == 1
    assert TOKEN not in capsys.readouterr().out
