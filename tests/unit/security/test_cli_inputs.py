"""Bad input to the command lines gives a clean message and exit code, never a traceback (issue 11: F16, F19,
F25, F26).

Pins down: `kubectl canary judge` exits 2 (the contract's "invalid input") with a JSON error naming the file
for impossible ratio files (errors > total, negative, fractional, NaN, infinite, `1e999`, booleans, strings,
5000-digit integers), binary or non-UTF-8 data and policy files, infinite samples and malformed buckets;
garbage, binary or wrongly shaped kubeconfigs are one `error: kubeconfig ...` line with each CLI's error
code (1 for `rudder`, 4 for `kubectl canary`); `kubectl canary report -f` writes its default file in the
working directory whatever `metadata.name` says; `--set` parses Unicode digits, signs, int64 bounds,
5000-digit numbers and `{}` exactly as Helm's strvals does (facts from helm/helm pkg/strvals: values go
through Go's `strconv.ParseInt(v, 10, 64)` unless they start with 0; `{}` is a list holding one empty
string; list indexes go through `strconv.Atoi` and may not be negative).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from canary.cli.main import main as canary_main
from canary.cli.report import default_output
from rudder.cli.main import main as rudder_main
from rudder.render.setvalues import SetSyntaxError, parse_set

REPO = Path(__file__).resolve().parents[3]


def _judge(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, dict[str, Any]]:
    code = canary_main(["judge", *map(str, args)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, json.loads(captured.err or captured.out)


GOOD_RATIO = '{"errors": 1, "total": 1000}'

BAD_RATIOS = [
    ('{"errors": 11, "total": 10}', "errors (11) cannot exceed total (10)"),
    ('{"errors": -1, "total": 10}', "errors must be a whole number >= 0, not -1"),
    ('{"errors": 1, "total": -10}', "total must be a whole number >= 0, not -10"),
    ('{"errors": 1.5, "total": 10}', "errors must be a whole number >= 0, not 1.5"),
    ('{"errors": NaN, "total": 10}', "errors must be a whole number >= 0, not nan"),
    ('{"errors": 1, "total": Infinity}', "total must be a whole number >= 0, not inf"),
    ('{"errors": 1, "total": 1e999}', "total must be a whole number >= 0, not inf"),
    ('{"errors": 1, "total": -1e999}', "total must be a whole number >= 0, not -inf"),
    ('{"errors": true, "total": 10}', "errors must be a number, not true"),
    ('{"errors": "1", "total": 10}', 'errors must be a number, not "1"'),
    ('{"errors": null, "total": 10}', "errors must be a number, not null"),
    ('{"errors": [1], "total": 10}', "errors must be a number, not [1]"),
    ('{"errors": 1, "total": ' + "9" * 5000 + "}", "invalid JSON: a number too long or nesting too deep"),
    ('{"errors": 1, "total": ' + "9" * 400 + "}", "total is beyond a float's range"),
    ('{"errors": 1}', 'expected JSON {"errors": E, "total": N}'),
    ("[1, 2]", 'expected JSON {"errors": E, "total": N}'),
    ("{" * 100000, "invalid JSON"),
]


@pytest.mark.corpus("cli")
@pytest.mark.parametrize(("content", "problem"), BAD_RATIOS)
def test_impossible_ratio_files_are_invalid_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, problem: str
) -> None:
    canary, baseline = tmp_path / "canary.json", tmp_path / "baseline.json"
    canary.write_text(content)
    baseline.write_text(GOOD_RATIO)
    code, out = _judge(capsys, "--policy", "http-error-rate", "--canary", canary, "--baseline", baseline)
    assert code == 2
    assert out["error"].startswith(f"{canary}: ")
    assert problem in out["error"]


@pytest.mark.corpus("cli")
@pytest.mark.parametrize(("content", "problem"), [
    (b"\xff\xfe\x00\x01binary\x00", "not a text file (not UTF-8)"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not a text file (not UTF-8)"),
    (b"1\n2\n1e999\n", "3: not a finite number: '1e999'"),
    (b"1\n-inf\n", "2: not a finite number: '-inf'"),
    (b"[1, 2, Infinity]", "expected finite numbers (NaN marks a missing sample)"),
    (b"[1, 2, 1e999]", "expected finite numbers (NaN marks a missing sample)"),
    (b"1\n" + b"9" * 5000 + b"\n", "2: not a finite number"),
    (b"1\nzwei\n", "2: not a number: 'zwei'"),
    (b"[1, \"2\"]", "expected numbers, one per line or a JSON array"),
])
def test_bad_sample_files_are_invalid_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, problem: str
) -> None:
    canary, baseline = tmp_path / "canary.txt", tmp_path / "baseline.txt"
    canary.write_bytes(content)
    baseline.write_text("1\n2\n3\n")
    code, out = _judge(capsys, "--policy", "http-latency-p95", "--canary", canary, "--baseline", baseline)
    assert code == 2
    assert out["error"].startswith(f"{canary}")
    assert problem in out["error"]


QUANTILE_POLICY = """apiVersion: rudder.dev/v1alpha1
kind: ClusterMetricPolicy
metadata: {name: latency-q}
spec: {type: distribution, test: quantile, quantile: 0.9, queries: {buckets: b}}
"""


@pytest.mark.corpus("cli")
@pytest.mark.parametrize(("buckets", "problem"), [
    ({"0.1": "x", "+Inf": 4}, "bucket 0.1 must have a finite count >= 0"),
    ({"0.1": -1, "+Inf": 4}, "bucket 0.1 must have a finite count >= 0"),
    ({"0.1": [1], "+Inf": 4}, "bucket 0.1 must have a finite count >= 0"),
    ({"0.1": True, "+Inf": 4}, "bucket 0.1 must have a finite count >= 0"),
    ({"zero": 1, "+Inf": 4}, "bucket bound 'zero' is not a number"),
])
def test_bad_bucket_files_are_invalid_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, buckets: dict[str, Any], problem: str
) -> None:
    (tmp_path / "policy.yaml").write_text(QUANTILE_POLICY)
    canary, baseline = tmp_path / "canary.json", tmp_path / "baseline.json"
    canary.write_text(json.dumps({"buckets": buckets}))
    baseline.write_text(json.dumps({"buckets": {"0.1": 1, "+Inf": 4}}))
    code, out = _judge(capsys, "--policy", tmp_path / "policy.yaml", "--canary", canary, "--baseline", baseline)
    assert code == 2
    assert out["error"] == f"{canary}: {problem}"


@pytest.mark.corpus("cli")
@pytest.mark.parametrize(("content", "problem"), [
    (b"\xff\xfe\x00binary policy", "not a text file (not UTF-8)"),
    (QUANTILE_POLICY.replace("quantile: 0.9", "quantile: 0.9, critical: 'false'").encode(),
     "spec.critical: expected true or false, got 'false'"),
    (QUANTILE_POLICY.replace("quantile: 0.9", "quantile: 0.9, minSamples: 0").encode(),
     "spec.minSamples: expected an integer >= 1, got 0"),
])
def test_bad_policy_files_are_invalid_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, problem: str
) -> None:
    (tmp_path / "policy.yaml").write_bytes(content)
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"buckets": {"0.1": 1, "+Inf": 4}}))
    code, out = _judge(capsys, "--policy", tmp_path / "policy.yaml", "--canary", data, "--baseline", data)
    assert code == 2
    assert problem in out["error"]


def test_a_sound_ratio_file_still_gets_a_verdict(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    canary, baseline = tmp_path / "canary.json", tmp_path / "baseline.json"
    canary.write_text('{"errors": 0, "total": 5000}')
    baseline.write_text('{"errors": 0.0, "total": 5000.0}')
    code, out = _judge(capsys, "--policy", "http-error-rate", "--canary", canary, "--baseline", baseline)
    assert code == 0
    assert out["verdict"] == "Pass"


# -- kubeconfigs (F16) --------------------------------------------------------------------------------

KUBECONFIGS = {
    "unclosed": b"garbage: [unclosed\n",
    "scalar": b"just a string\n",
    "random": bytes(range(256)) * 2,
    "wrong-shape": b"apiVersion: v1\nclusters: 5\ncontexts: {a: 1}\ncurrent-context: [x]\n",
    "utf16": "apiVersion: v1\n".encode("utf-16"),
    "empty-contexts": b"apiVersion: v1\nkind: Config\ncontexts: []\nclusters: []\nusers: []\n",
    "alias-loop": b"a: &a [*a]\n",
}


@pytest.mark.corpus("cli")
@pytest.mark.parametrize("cli", ["rudder", "kubectl-canary"])
@pytest.mark.parametrize("kind", sorted(KUBECONFIGS))
def test_unusable_kubeconfigs_are_one_clean_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: str, kind: str
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    path = tmp_path / "kubeconfig"
    path.write_bytes(KUBECONFIGS[kind])
    main, code = (rudder_main, 1) if cli == "rudder" else (canary_main, 4)
    assert main(["status", "web", "--kubeconfig", str(path)]) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: kubeconfig")
    assert captured.err.count("\n") == 1
    assert "Traceback" not in captured.err


@pytest.mark.corpus("cli")
@pytest.mark.parametrize("cli", [("rudder.cli.main", 1), ("canary.cli.main", 4)])
def test_a_binary_kubeconfig_leaves_no_traceback_from_the_real_entry_point(tmp_path: Path,
                                                                           cli: tuple[str, int]) -> None:
    path = tmp_path / "kubeconfig"
    path.write_bytes(b"\x00\xff\xfe" * 100)
    done = subprocess.run([sys.executable, "-m", cli[0], "status", "web", "--kubeconfig", str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == cli[1]
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(f"error: kubeconfig {path}: not a usable kubeconfig file")


# -- report file names (F19) ------------------------------------------------------------------------


@pytest.mark.corpus("cli")
@pytest.mark.parametrize(("name", "expected"), [
    ("../../../../tmp/pwned", "_.._.._.._tmp_pwned-report.html"),
    ("/etc/cron.d/job", "_etc_cron.d_job-report.html"),
    ("..", "canary-report.html"),
    ("a/b\\c", "a_b_c-report.html"),
    ("~root", "_root-report.html"),
    ("-rf", "rf-report.html"),
    ("x\n\x00y", "x__y-report.html"),
    ("", "canary-report.html"),
    (12, "12-report.html"),
    ("web-v2", "web-v2-report.html"),
])
def test_the_default_report_file_stays_in_the_working_directory(name: object, expected: str) -> None:
    assert default_output(name) == expected


@pytest.mark.corpus("cli")
def test_report_from_a_file_with_a_hostile_name_writes_here(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps({
        "apiVersion": "rudder.dev/v1alpha1", "kind": "CanaryRelease",
        "metadata": {"name": "../escaped", "namespace": "prod"},
        "spec": {"release": "web", "steps": [{"weight": 10, "duration": "1m"}]},
        "status": {"phase": "Progressing"},
    }))
    monkeypatch.chdir(work)
    assert canary_main(["report", "-f", str(saved)]) == 0
    assert [p.name for p in work.iterdir()] == ["_escaped-report.html"]
    assert not (tmp_path / "escaped-report.html").exists()
    assert capsys.readouterr().out == "wrote _escaped-report.html\n"


@pytest.mark.corpus("cli")
@pytest.mark.parametrize(("content", "problem"), [
    (b"\xff\xfe\x00binary", "invalid start byte"),
    (b"kind: CanaryRelease\nmetadata: {name: x}\nspec: {n: " + b"9" * 5000 + b"}\n",
     "not YAML or JSON (ConstructorError)"),
    (b"kind: CanaryRelease\nmetadata: [unclosed\n", "not YAML or JSON (ParserError)"),
    (b"kind: ConfigMap\n", "expected one CanaryRelease, found 0"),
])
def test_report_from_an_unusable_file_is_one_clean_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, problem: str
) -> None:
    saved = tmp_path / "saved.yaml"
    saved.write_bytes(content)
    monkeypatch.chdir(tmp_path)
    assert canary_main(["report", "-f", str(saved)]) == 4
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: --file {saved}: ")
    assert problem in captured.err
    assert "Traceback" not in captured.err
    assert [p.name for p in tmp_path.iterdir()] == ["saved.yaml"]


# -- --set as Helm parses it (F25, F16) --------------------------------------------------------------

HELM_FACTS = [
    ("a=\u00b2", "\u00b2"),       # superscript two: not an ASCII digit, ParseInt fails, a string
    ("a=\u0663", "\u0663"),       # Arabic-Indic three
    ("a=\uff11", "\uff11"),       # fullwidth one
    ("a=+5", 5),                  # ParseInt accepts a sign
    ("a=-0", 0),
    ("a=-01", -1),                # only a *leading* zero keeps the text
    ("a=007", "007"),
    ("a=--1", "--1"),
    ("a=1_000", "1_000"),         # base 10 given: no underscores
    ("a= 1", " 1"),
    ("a=9223372036854775807", 9223372036854775807),
    ("a=9223372036854775808", "9223372036854775808"),
    ("a=-9223372036854775808", -9223372036854775808),
    ("a=-9223372036854775809", "-9223372036854775809"),
    ("a=" + "9" * 5000, "9" * 5000),
    ("a=1e3", "1e3"),
    ("a={}", [""]),               # valList: one item, the empty string before '}'
    ("a={,}", ["", ""]),
    ("a={\u00b2,2}", ["\u00b2", 2]),
    ("a=NULL", None),
    ("a=True", True),
]


@pytest.mark.corpus("values")
@pytest.mark.parametrize(("expression", "value"), HELM_FACTS)
def test_set_values_are_typed_as_helm_types_them(expression: str, value: object) -> None:
    assert parse_set([expression]) == {"a": value}


@pytest.mark.corpus("values")
@pytest.mark.parametrize(("expression", "problem"), [
    ("a[\u00b2]=1", "list index '\u00b2' is not a non-negative integer"),
    ("a[-1]=1", "list index '-1' is not a non-negative integer"),
    ("a[" + "9" * 5000 + "]=1", "is not a non-negative integer"),
    ("a[99999999]=1", "list index 99999999 is larger than 65536"),
])
def test_bad_list_indexes_are_syntax_errors(expression: str, problem: str) -> None:
    with pytest.raises(SetSyntaxError, match=r"^--set ") as caught:
        parse_set([expression])
    assert problem in str(caught.value)


def test_a_signed_index_is_read_as_atoi_reads_it() -> None:
    assert parse_set(["a[+1]=x"]) == {"a": [None, "x"]}


@pytest.mark.corpus("cli")
@pytest.mark.parametrize("expression", ["a=\u00b2", "a=\u0663", "a=" + "9" * 5000, "a[\u00b2]=1", "a=--1"])
def test_rudder_template_with_odd_set_values_never_tracebacks(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, expression: str
) -> None:
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("a: 1\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: {{ values.a | string | tojson }}}\n")
    code = rudder_main(["template", "r", str(chart), "--set", expression, "-n", "default"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    if expression.startswith("a[\u00b2]"):
        assert code == 1
        assert captured.err.startswith("error: --set 'a[\u00b2]=1': list index")
    else:
        assert code == 0, captured.err
        assert "kind: ConfigMap" in captured.out


# -- the controller's Prometheus flags (F5) ----------------------------------------------------------


@pytest.mark.corpus("cli")
@pytest.mark.parametrize(("flags", "problem"), [
    (["--prometheus-allow", "ftp://prometheus:9090"], "'ftp://prometheus:9090' must start with http:// or https://"),
    (["--prometheus-allow", "http://a@b:9090"], "'http://a@b:9090' must not contain user info"),
    (["--prometheus-allow", "prometheus:99999"], "'prometheus:99999' has a port out of range"),
    (["--prometheus-url", "http://p:9090/?x=1"], "--prometheus-url 'http://p:9090/?x=1' must not contain a query"),
    (["--prometheus-url", "http://p:9090/a/../b"], "has a path segment '..' that is not a plain name"),
])
def test_bad_prometheus_flags_stop_the_controller_at_startup(
    capsys: pytest.CaptureFixture[str], flags: list[str], problem: str
) -> None:
    from rudder.controller import parse_args  # noqa: PLC0415 - the controller module starts nothing on import

    with pytest.raises(SystemExit) as caught:
        parse_args(flags)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "rudder-controller: error: --prometheus-allow/--prometheus-url: " in err
    assert problem in err
