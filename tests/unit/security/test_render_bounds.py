"""Rendering tenant templates is bounded (issue 11, F2 and F10): expressions that would build huge strings,
lists or integers fail at once with a RenderError naming the template and line; what slips past those checks
(CPU burners, memory growth the checks cannot foresee, endless output) is stopped by the render worker's
CPU, memory, wall-clock and output bounds; anything else a template can raise (recursion, unrepresentable
objects, over-long integers) is a RenderError too, never an exception, and no message quotes a value.
"""

from __future__ import annotations

import pickle
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rudder.cli.main import main as rudder_main
from rudder.models import parse_release_spec
from rudder.render import Chart, ReleaseInfo, RenderedChart, RenderedRelease, RenderError, chart_from_files, isolation
from rudder.render.engine import render_chart
from rudder.render.limits import MIB, RenderLimits
from rudder.render.release import render_release

RELEASE = ReleaseInfo("shop", "prod", 1)
IN_PROCESS = RenderLimits(isolate=False)
SENTINEL = "s3cr3t-SENTINEL-value"
BOUND = f"(limit {IN_PROCESS.max_string})"
ITEMS = f"(limit {IN_PROCESS.max_items})"


def render_inline(template: str, values: dict[str, object] | None = None) -> RenderedChart | RenderError:
    chart = chart_from_files({"ok.yaml": "kind: ConfigMap\n", "bomb.yaml": template})
    assert isinstance(chart, Chart), chart
    return render_chart(chart, values or {"secret": SENTINEL}, RELEASE, limits=IN_PROCESS)


# (template, the message it must fail with): each is caught by an in-template check, before the huge
# value exists, so each fails in milliseconds whatever the machine.
SIZE_BOMBS = [
    ('{{ "x" * 10**9 }}', f"repetition with * would make 1000000000 characters {BOUND}"),
    ('{{ 10**9 * "x" }}', f"repetition with * would make 1000000000 characters {BOUND}"),
    ("{{ values.secret * 10**8 }}", f"repetition with * would make {len(SENTINEL) * 10**8} characters {BOUND}"),
    ('{{ "x" | indent(10**9) }}', f"the indent filter would make 1000000000 characters {BOUND}"),
    ('{{ "x" | nindent(10**9) }}', f"the nindent filter would make 1000000000 characters {BOUND}"),
    ('{{ ("a\\n" * 1000000) | indent(100) }}', f"the indent filter would make 102000100 characters {BOUND}"),
    ('{{ "%900000000d" % 1 }}', f"the % format would make 900000000 characters {BOUND}"),
    ('{{ "%.900000000f" % 1 }}', f"the % format would make 900000000 characters {BOUND}"),
    ('{{ "%*d" % (900000000, 1) }}', f"the % format would make 900000000 characters {BOUND}"),
    ('{{ "%(a)900000000s" % {"a": 1} }}', f"the % format would make 900000000 characters {BOUND}"),
    ('{{ "{:>900000000}".format(1) }}', f"str.format would make 900000000 characters {BOUND}"),
    ('{{ "{:{w}}".format(1, w=900000000) }}', f"str.format would make 900000000 characters {BOUND}"),
    ('{{ "{a:>900000000}".format_map({"a": 1}) }}', f"str.format would make 900000000 characters {BOUND}"),
    ('{{ "%900000000d" | format(1) }}', f"the % format would make 900000000 characters {BOUND}"),
    ("{{ [1] * 900000000 }}", f"repetition with * would make 900000000 items {ITEMS}"),
    ("{{ (1, 2) * 900000000 }}", f"repetition with * would make 1800000000 items {ITEMS}"),
    ("{{ lipsum(1000000) }}", "lipsum: at most 100 paragraphs of at most 1000 words"),
    ("{{ lipsum(5, max=10**9) }}", "lipsum: at most 100 paragraphs of at most 1000 words"),
    ("{{ 10**(10**8) }}", f"the power with ** would make 332192810 bits (limit {IN_PROCESS.max_int_bits})"),
    ("{{ 2**(2**20) }}", f"the power with ** would make 1048576 bits (limit {IN_PROCESS.max_int_bits})"),
    ('{% set ns = namespace(x=3) %}{% for i in range(40) %}{% set ns.x = ns.x * ns.x %}{% endfor %}',
     f"the product with * would make 103874 bits (limit {IN_PROCESS.max_int_bits})"),
    ('{{ "x".ljust(10**9) }}', f"str.ljust would make 1000000000 characters {BOUND}"),
    ('{{ "x".rjust(10**9) }}', f"str.rjust would make 1000000000 characters {BOUND}"),
    ('{{ "x".center(10**9) }}', f"str.center would make 1000000000 characters {BOUND}"),
    ('{{ "1".zfill(10**9) }}', f"str.zfill would make 1000000000 characters {BOUND}"),
    ('{{ ("\\t" * 1000).expandtabs(10**6) }}', f"str.expandtabs would make 1000001000 characters {BOUND}"),
    ('{{ ("x" * 1000).replace("", "y" * 100000) }}', f"str.replace would make 100101000 characters {BOUND}"),
    ('{{ ("y" * 100000).join(range(1000)) }}', f"str.join would make 100000000 characters {BOUND}"),
    ('{{ "x" | center(10**9) }}', f"the center filter would make 1000000000 characters {BOUND}"),
    ('{{ ("x" * 1000) | replace("", "y" * 100000) }}', f"str.replace would make 100101000 characters {BOUND}"),
    ('{{ range(1000) | join("y" * 100000) }}', f"the join filter would make 100000000 characters {BOUND}"),
    ("{{ [1] | batch(10**9, 0) | list }}", f"the batch filter would make 1000000000 characters {BOUND}"),
    ("{{ [1] | slice(10**9) | list }}", f"the slice filter would make 1000000000 items {ITEMS}"),
    ('{{ ("x" * 3000000) + ("x" * 3000000) }}', f"concatenation with + would make 6000000 characters {BOUND}"),
    ("{{ [0] * 600000 + [0] * 600000 }}", f"concatenation with + would make 1200000 items {ITEMS}"),
]


@pytest.mark.corpus("sandbox")
@pytest.mark.parametrize(("template", "message"), SIZE_BOMBS, ids=[t for t, _ in SIZE_BOMBS])
def test_oversized_expressions_fail_at_once_naming_template_and_line(template: str, message: str) -> None:
    result = render_inline("kind: ConfigMap\nx: 1\n" + template + "\n")
    assert result == RenderError("bomb.yaml", 3, message)
    assert SENTINEL not in str(result)


# Anything else a template can raise becomes a RenderError at the template (F10).
LONG_INT = ("Exceeds the limit (4300 digits) for integer string conversion; "
            "use sys.set_int_max_str_digits() to increase the limit")
RAISERS = [
    ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "recursion too deep (a macro or include calling itself?)"),
    ("{{ cycler(1, 2) | toyaml }}", "toyaml: cannot represent a Cycler"),
    ("{{ joiner() | tojson }}", "tojson: cannot represent a Joiner"),
    ("{{ namespace(a=1) | toyaml }}", "toyaml: cannot represent a Namespace"),
    ("{{ {'a': cycler(1)} | toyaml }}", "toyaml: cannot represent a value inside a dict (RepresenterError)"),
    ("{{ [cycler(1)] | tojson }}", "tojson: cannot represent a value inside a list (TypeError)"),
    ("{{ 10**5000 }}", f"ValueError: {LONG_INT}"),
    ("{{ (10**5000) | string }}", f"ValueError: {LONG_INT}"),
]


@pytest.mark.corpus("sandbox")
@pytest.mark.parametrize(("template", "message"), RAISERS, ids=[t for t, _ in RAISERS])
def test_template_exceptions_become_render_errors(template: str, message: str) -> None:
    assert render_inline(template + "\n") == RenderError("bomb.yaml", 1, message)


@pytest.mark.corpus("sandbox")
def test_include_recursion_is_a_render_error() -> None:
    chart = chart_from_files({"a.yaml": "x: 1\n{% include '_loop.j2' %}\n", "_loop.j2": "{% include '_loop.j2' %}\n"})
    assert isinstance(chart, Chart)
    result = render_chart(chart, {}, RELEASE, limits=IN_PROCESS)
    assert result == RenderError("_loop.j2", 1, "recursion too deep (a macro or include calling itself?)")


@pytest.mark.corpus("sandbox")
def test_values_nested_too_deeply_for_the_renderer_are_a_render_error() -> None:
    deep: dict[str, object] = {}
    cursor = deep
    for _ in range(5000):
        cursor["a"] = {}
        cursor = cursor["a"]  # type: ignore[assignment]
    chart = chart_from_files({"a.yaml": "kind: ConfigMap\n"})
    assert isinstance(chart, Chart)
    assert render_chart(chart, deep, RELEASE, limits=IN_PROCESS) == RenderError(
        None, None, "values or output nested too deeply")


@pytest.mark.corpus("sandbox")
def test_endless_output_stops_at_the_output_bound() -> None:
    limits = RenderLimits(isolate=False, output_bytes=1 * MIB)
    chart = chart_from_files({"a.yaml": "{% for i in range(100000) %}{{ 'x' * 1000 }}\n{% endfor %}"})
    assert isinstance(chart, Chart)
    assert render_chart(chart, {}, RELEASE, limits=limits) == RenderError(
        "a.yaml", None, "the rendered output exceeds the limit of 1 MiB for the chart")


@pytest.mark.corpus("sandbox")
def test_output_bound_is_for_the_whole_chart() -> None:
    limits = RenderLimits(isolate=False, output_bytes=1 * MIB)
    block = "{% for i in range(700) %}# {{ 'x' * 1000 }}\n{% endfor %}"
    chart = chart_from_files({"a.yaml": block, "b.yaml": block})
    assert isinstance(chart, Chart)
    assert render_chart(chart, {}, RELEASE, limits=limits) == RenderError(
        "b.yaml", None, "the rendered output exceeds the limit of 1 MiB for the chart")


def test_ordinary_charts_are_not_affected_by_the_checks() -> None:
    result = render_inline(
        'kind: ConfigMap\nx: "{{ "-" * 20 }}"\ny: {{ 2 ** 10 }}\nz: "{{ "%5d" % 3 }}{{ "{:>4}".format(1) }}"\n'
        'w: {{ [1, 2] * 2 }}\nv: "{{ "a".ljust(3) }}{{ "b" | center(3) }}{{ [1, 2] | join(",") }}"\n'
    )
    assert isinstance(result, RenderedChart), result
    assert result.objects[0].body == {
        "kind": "ConfigMap", "x": "-" * 20, "y": 1024, "z": "    3   1", "w": [1, 2, 1, 2], "v": "a   b 1,2",
    }


# -- the worker process: CPU, memory and wall clock ------------------------------------------------------

# A wall clock far past the CPU bound, so a loaded machine cannot turn a CPU failure into a timeout.
WORKER = RenderLimits(cpu_seconds=1, memory_bytes=128 * MIB, wall_clock=600)
ROOMY = RenderLimits(cpu_seconds=30, memory_bytes=128 * MIB)  # only the memory or output bound can trip
CPU_BOMB = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
MEMORY_BOMB = '{% set ns = namespace(s="x") %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}'
WORKER_BOMBS = [
    ("nested range loops", CPU_BOMB, WORKER, 1, "the render exceeded its CPU time limit of 1 s"),
    ("doubling with ~", MEMORY_BOMB, ROOMY, 1, "the render exceeded its memory limit of 128 MiB"),
    ("nested range loops printing", "{% for i in range(100000) %}{% for j in range(100000) %}{{ 'x' * 1000 }}"
     "{% endfor %}{% endfor %}", ROOMY, None, "the rendered output exceeds the limit of 16 MiB for the chart"),
]


def spec_with(template: str) -> object:
    return parse_release_spec({"chart": {"templates": {"a.yaml": "kind: ConfigMap\n", "bomb.yaml": template}},
                               "values": {"secret": SENTINEL}})


@pytest.fixture
def threaded() -> Iterator[None]:
    """Another thread is running, as in the controller: renders go through the worker host."""
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    yield
    stop.set()
    thread.join()


@pytest.fixture(autouse=True)
def fresh_memo() -> Iterator[None]:
    isolation._memo.clear()
    yield
    isolation._memo.clear()


@pytest.mark.corpus("sandbox")
@pytest.mark.parametrize(("name", "template", "limits", "line", "message"), WORKER_BOMBS,
                         ids=[b[0] for b in WORKER_BOMBS])
@pytest.mark.parametrize("caller", ["single-threaded", "threaded"])
def test_worker_bounds_fail_the_render_naming_the_template(
    *, name: str, template: str, limits: RenderLimits, line: int | None, message: str, caller: str,
    request: pytest.FixtureRequest,
) -> None:
    if caller == "threaded":
        request.getfixturevalue("threaded")
    result = render_release(spec_with(template), RELEASE, render_limits=limits)  # type: ignore[arg-type]
    assert result == RenderError("bomb.yaml", line, message)
    # The caller survives, and renders the next chart normally.
    after = render_release(spec_with("kind: Secret\n"), RELEASE, render_limits=WORKER)  # type: ignore[arg-type]
    assert isinstance(after, RenderedRelease)
    assert [o.body["kind"] for o in after.objects] == ["ConfigMap", "Secret"]


def stuck_in_c(*, limits: RenderLimits, progress: Callable[[str], None]) -> None:
    """A job that cannot be interrupted by SIGXCPU, as a template inside one long C call."""
    progress("bomb.yaml")
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGXCPU})
    while True:
        pass


def asleep(*, limits: RenderLimits, progress: Callable[[str], None]) -> None:
    progress("bomb.yaml")
    threading.Event().wait()


@pytest.mark.corpus("sandbox")
def test_a_worker_stuck_past_the_soft_cpu_limit_is_killed_and_reported_as_cpu() -> None:
    _, payload = isolation.fork_and_collect(stuck_in_c, (), WORKER)
    assert pickle.loads(payload) == RenderError("bomb.yaml", None, "the render exceeded its CPU time limit of 1 s")


@pytest.mark.corpus("sandbox")
def test_the_wall_clock_bound_kills_a_render_that_waits() -> None:
    tag, payload = isolation.fork_and_collect(asleep, (), RenderLimits(wall_clock=0.5))
    assert pickle.loads(payload) == RenderError("bomb.yaml", None, "the render took longer than 0.5 s")
    assert tag == b"W"  # a wall-clock failure depends on load: never remembered


@pytest.mark.corpus("sandbox")
def test_a_failed_render_is_remembered_not_repeated(monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[int] = []
    real = isolation.fork_and_collect

    def counting(*args: object) -> tuple[bytes, bytes]:
        runs.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(isolation, "fork_and_collect", counting)
    spec = spec_with(MEMORY_BOMB)
    first = render_release(spec, RELEASE, render_limits=ROOMY)  # type: ignore[arg-type]
    second = render_release(spec, RELEASE, render_limits=ROOMY)  # type: ignore[arg-type]
    assert first == second == RenderError("bomb.yaml", 1, "the render exceeded its memory limit of 128 MiB")
    assert len(runs) == 1
    # Other inputs are rendered afresh.
    assert isinstance(render_release(spec_with("kind: A\n"), RELEASE, render_limits=ROOMY), RenderedRelease)  # type: ignore[arg-type]
    assert len(runs) == 2


@pytest.mark.corpus("sandbox")
def test_worker_messages_never_quote_values() -> None:
    template = "{% for i in range(100000) %}{% for j in range(100000) %}{{ values.secret }}{% endfor %}{% endfor %}"
    result = render_release(spec_with(template), RELEASE, render_limits=WORKER)  # type: ignore[arg-type]
    assert isinstance(result, RenderError)
    assert SENTINEL not in str(result)


# -- the CLI renders within the same bounds --------------------------------------------------------------


def chart_dir(tmp_path: Path, template: str) -> Path:
    (tmp_path / "chart" / "templates").mkdir(parents=True)
    (tmp_path / "chart" / "Chart.yaml").write_text("name: bomb\nversion: 0.1.0\n")
    (tmp_path / "chart" / "templates" / "bomb.yaml").write_text(template)
    return tmp_path / "chart"


CLI_BOMBS = [
    # (name, template, RUDDER_RENDER_TIMEOUT, message): only the bound under test can trip
    ("size check", 'x: {{ "x" * 10**9 }}\n', "30",
     f"bomb.yaml:1: repetition with * would make 1000000000 characters {BOUND}"),
    ("cpu", CPU_BOMB, "1", "bomb.yaml:1: the render exceeded its CPU time limit of 1 s"),
    ("memory", MEMORY_BOMB, "30", "bomb.yaml:1: the render exceeded its memory limit of 128 MiB"),
]


@pytest.mark.corpus("sandbox")
@pytest.mark.parametrize(("name", "template", "cpu", "message"), CLI_BOMBS, ids=[b[0] for b in CLI_BOMBS])
@pytest.mark.parametrize("verb", ["template", "package"])
def test_cli_renders_within_the_bounds(
    *, name: str, template: str, cpu: str, message: str, verb: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("RUDDER_RENDER_TIMEOUT", cpu)
    # A wall clock far past the CPU bound (the CLI renders in this process's child).
    monkeypatch.setattr(RenderLimits, "wall_seconds", property(lambda self: 600.0))
    monkeypatch.setenv("RUDDER_RENDER_MEMORY_MIB", "128")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    chart = chart_dir(tmp_path, template)
    args = ["template", "bomb", str(chart)] if verb == "template" else ["package", str(chart)]
    args += ["-n", "prod"]
    assert rudder_main(args) == 1
    out, err = capsys.readouterr()
    assert err == f"error: render failed: {chart}/templates/{message}\n"
    assert out == ""


@pytest.mark.corpus("sandbox")
def test_cli_refuses_a_bad_render_limit_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RUDDER_RENDER_MEMORY_MIB", "lots")
    assert rudder_main(["template", "x", str(chart_dir(tmp_path, "kind: A\n"))]) == 1
    assert capsys.readouterr().err == "error: RUDDER_RENDER_MEMORY_MIB: not a number\n"
