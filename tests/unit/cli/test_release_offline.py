"""The offline half of `rudder`: argument parsing, values layering (-f files in order, then --set, then
--set-string; a null survives to remove a chart default), chart loading, `template` rendering exactly what
the controller's renderer and planner produce, `package` making a Release that renders the same, and one-line
errors (naming the file, line, flag or field) with a non-zero exit and no traceback."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from rudder.cli.chartsource import chart_spec, collect_values, layer, load_chart, release_body
from rudder.cli.connection import Target, resolve_namespace
from rudder.cli.errors import CliError
from rudder.cli.main import build_parser, main
from rudder.cli.output import parse_timeout
from rudder.domain import ReleaseIdentity, RevisionPlan, plan_revision
from rudder.models import parse_release_spec
from rudder.render import RenderedRelease, load_documents, render_release
from rudder.render.engine import ReleaseInfo

REPO = Path(__file__).resolve().parents[3]
WEB_APP = REPO / "examples" / "web-app"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def no_kubeconfig(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Offline commands must not need a cluster: point every kubeconfig lookup at nothing."""
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)


# --- parsing --------------------------------------------------------------------------------------


def test_install_flags_parse_repeatable_values_and_sets() -> None:
    args = build_parser().parse_args([
        "install", "shop", "charts/web", "-n", "prod", "-f", "a.yaml", "--values", "b.yaml",
        "--set", "image.tag=2", "--set", "replicas=3", "--set-string", "port=80", "--wait", "--timeout", "90s",
        "-o", "json", "--kubeconfig", "/k", "--context", "c", "--archive",
    ])
    assert (args.name, args.chart_dir, args.namespace) == ("shop", "charts/web", "prod")
    assert args.values == ["a.yaml", "b.yaml"]
    assert args.set == ["image.tag=2", "replicas=3"] and args.set_string == ["port=80"]
    assert args.wait and args.timeout == "90s" and args.output == "json" and args.archive
    assert (args.kubeconfig, args.context) == ("/k", "c")


def test_rollback_revision_is_optional_and_defaults_to_previous() -> None:
    assert build_parser().parse_args(["rollback", "shop"]).revision == 0
    assert build_parser().parse_args(["rollback", "shop", "3"]).revision == 3


def test_upgrade_install_flag_and_bad_output_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert build_parser().parse_args(["upgrade", "-i", "shop", "c"]).install
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["status", "shop", "-o", "xml"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize(("text", "seconds"), [("5m", 300), ("90s", 90), ("1h30m", 5400), ("45", 45), ("2.5", 2.5)])
def test_timeouts(text: str, seconds: float) -> None:
    assert parse_timeout(text) == seconds


@pytest.mark.parametrize("text", ["5 minutes", "-1", "0s", ""])
def test_bad_timeouts_name_the_flag(text: str) -> None:
    with pytest.raises(CliError, match="--timeout"):
        parse_timeout(text)


# --- values ---------------------------------------------------------------------------------------


def test_values_files_merge_in_order_then_set_then_set_string(tmp_path: Path) -> None:
    first = write(tmp_path / "a.yaml", "image: {repository: web, tag: '1'}\nreplicas: 2\nenv: {A: x}\n")
    second = write(tmp_path / "b.yaml", "image: {tag: '2'}\nenv: {B: y}\n")
    values = collect_values([str(first), str(second)], ["replicas=5", "env.A=z"], ["image.tag=3"])
    assert values == {"image": {"repository": "web", "tag": "3"}, "replicas": 5, "env": {"A": "z", "B": "y"}}


def test_a_null_override_is_kept_so_the_controller_removes_the_chart_default() -> None:
    assert collect_values([], ["config.LOG_LEVEL=null"], []) == {"config": {"LOG_LEVEL": None}}
    assert layer({"a": {"b": 1}}, {"a": None}) == {"a": None}


def test_bad_values_name_the_file_line_or_expression(tmp_path: Path) -> None:
    with pytest.raises(CliError, match=r"values file .*bad.yaml:2: invalid YAML"):
        collect_values([str(write(tmp_path / "bad.yaml", "a: [\n"))], [], [])
    with pytest.raises(CliError, match=r"values file .*list.yaml: must be a YAML mapping"):
        collect_values([str(write(tmp_path / "list.yaml", "- 1\n"))], [], [])
    with pytest.raises(CliError, match=r"values file .*missing.yaml: No such file"):
        collect_values([str(tmp_path / "missing.yaml")], [], [])
    with pytest.raises(CliError, match=r"--set-string 'a\[=b'"):
        collect_values([], [], ["a[=b"])


# --- charts and template ----------------------------------------------------------------------------


def test_chart_directory_errors_name_the_directory_or_file(tmp_path: Path) -> None:
    with pytest.raises(CliError, match="no such directory"):
        load_chart(str(tmp_path / "nope"))
    with pytest.raises(CliError, match="not a directory"):
        load_chart(str(write(tmp_path / "file", "x")))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CliError, match="the chart has no templates"):
        load_chart(str(empty))
    write(tmp_path / "broken" / "templates" / "cm.yaml", "kind: ConfigMap\n")
    write(tmp_path / "broken" / "Chart.yaml", "name: [\n")
    with pytest.raises(CliError, match=r"broken/Chart.yaml:2: invalid YAML"):
        load_chart(str(tmp_path / "broken"))


def test_template_prints_exactly_what_the_controller_plans(
    capsys: pytest.CaptureFixture[str], no_kubeconfig: None
) -> None:
    code, out, err = run(capsys, "template", "shop", str(WEB_APP), "-n", "prod", "--set", "image.tag=1.28",
                         "--revision", "3")
    assert code == 0, err
    printed = list(load_documents(out))
    chart = chart_spec(load_chart(str(WEB_APP)), archive=False)
    body = release_body("shop", "prod", chart, {"image": {"tag": "1.28"}})
    plan = plan_revision(parse_release_spec(body["spec"]), ReleaseIdentity("shop", "prod", ""), 3)
    assert isinstance(plan, RevisionPlan)
    expected = [{**o, "metadata": {k: v for k, v in o["metadata"].items() if k != "ownerReferences"}}
                for o in plan.objects]
    assert printed == expected
    deployment = next(o for o in printed if o["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":1.28")
    assert deployment["metadata"]["labels"]["rudder.dev/release"] == "shop"
    assert deployment["metadata"]["annotations"]["rudder.dev/revision"] == "3"
    assert all(o["metadata"]["namespace"] == "prod" for o in printed)


def test_template_json_is_one_list_and_the_namespace_comes_from_the_kubeconfig_context(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubeconfig = write(tmp_path / "kubeconfig", yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "work",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "work", "context": {"cluster": "c", "user": "u", "namespace": "team-a"}},
                     {"name": "other", "context": {"cluster": "c", "user": "u", "namespace": "team-b"}}],
    }))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    code, out, _ = run(capsys, "template", "shop", str(WEB_APP), "-o", "json")
    assert code == 0
    listing = json.loads(out)
    assert listing["kind"] == "List" and {o["metadata"]["namespace"] for o in listing["items"]} == {"team-a"}
    assert resolve_namespace(Target(context="other")) == "team-b"
    assert resolve_namespace(Target(namespace="explicit")) == "explicit"


def test_template_errors_are_one_line_naming_template_and_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, no_kubeconfig: None
) -> None:
    write(tmp_path / "c" / "templates" / "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
          "data:\n  a: {{ values.missing.deep }}\n")
    code, out, err = run(capsys, "template", "shop", str(tmp_path / "c"))
    assert code == 1 and out == ""
    assert err == f"error: render failed: {tmp_path / 'c' / 'templates' / 'cm.yaml'}:6: values.missing is undefined\n"
    write(tmp_path / "d" / "templates" / "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
          "  namespace: elsewhere\n")
    code, _, err = run(capsys, "template", "shop", str(tmp_path / "d"), "-n", "prod")
    assert code == 1 and "cm.yaml: ConfigMap/x: namespace 'elsewhere' is not the Release's namespace 'prod'" in err
    assert "Traceback" not in err


def test_bad_set_and_missing_chart_fail_cleanly(capsys: pytest.CaptureFixture[str], no_kubeconfig: None) -> None:
    code, _, err = run(capsys, "template", "shop", str(WEB_APP), "--set", "a[=b")
    assert code == 1 and err.startswith("error: --set 'a[=b'") and err.count("\n") == 1
    code, _, err = run(capsys, "template", "shop", "/no/such/chart")
    assert (code, err) == (1, "error: chart directory /no/such/chart: no such directory\n")


# --- package --------------------------------------------------------------------------------------


def rendered_objects(release: dict[str, Any], namespace: str = "prod") -> list[Any]:
    info = ReleaseInfo(release["metadata"]["name"], namespace, 1)
    rendered = render_release(parse_release_spec(release["spec"]), info)
    assert isinstance(rendered, RenderedRelease)
    return [o.body for o in rendered.objects]


def test_package_inline_and_archive_render_like_the_chart_directory(
    capsys: pytest.CaptureFixture[str], no_kubeconfig: None
) -> None:
    code, inline_out, _ = run(capsys, "package", str(WEB_APP), "--set", "replicaCount=4")
    assert code == 0
    inline = yaml.safe_load(inline_out)
    assert inline["kind"] == "Release" and inline["metadata"] == {"name": "web-app"}
    assert "deployment.yaml" in inline["spec"]["chart"]["templates"]
    assert inline["spec"]["values"] == {"replicaCount": 4}
    code, archive_out, _ = run(capsys, "package", str(WEB_APP), "--archive", "--name", "shop", "-n", "prod",
                               "--set", "replicaCount=4")
    assert code == 0
    packed = yaml.safe_load(archive_out)
    assert packed["metadata"] == {"name": "shop", "namespace": "prod"}
    assert base64.b64decode(packed["spec"]["chart"]["archive"])[:2] == b"\x1f\x8b"  # gzip
    inline["metadata"]["name"] = "shop"
    assert rendered_objects(packed) == rendered_objects(inline)
    _, again, _ = run(capsys, "package", str(WEB_APP), "--archive", "--name", "shop", "-n", "prod",
                      "--set", "replicaCount=4")
    assert again == archive_out  # reproducible: the same directory gives the same bytes


def test_a_broken_chart_is_never_packaged(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, no_kubeconfig: None
) -> None:
    write(tmp_path / "c" / "templates" / "x.yaml", "{% if %}\n")
    code, out, err = run(capsys, "package", str(tmp_path / "c"))
    assert code == 1 and out == "" and "x.yaml:1: syntax error" in err
