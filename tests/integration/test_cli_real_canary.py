"""The command lines against the real canary controller, with nothing written by hand: the session's controller
runs real CanaryReleases of a `web` Release whose traffic comes from the simulator and is measured by a real
Prometheus.

- The pipeline example (examples/pipelines/canary-deploy.sh), given examples/pipelines/canary.yaml rendered as the
  CI jobs render it, passes (exit 0) when a good version is promoted, and fails (exit 1, leaving the HTML report)
  when a version with a 30% error rate is rolled back.
  Still running at its CANARY_TIMEOUT, the canary is aborted and the pipeline ends (exit 1) only once the rollback
  is done; a manifest the API refuses is an error (4), not a failed canary (1).
- `kubectl canary wait` exits 0 once promoted (the Release is by then Ready at the new revision), 1 once rolled
  back or aborted (copies gone, the Release untouched), 2 when its --timeout passes in the middle of a step, and 3
  at an untimed pause step or a manual pause; it sits through a timed pause step and never returns earlier.
- `kubectl canary report` of a rolled-back canary has an SVG plot of canary against baseline per metric and every
  verdict with its p-value and interval.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from canary.cli.status import interval
from canary.models import parse_canary
from rudder.cli.output import format_number
from simulator.profiles import Profile
from tests.support.canary import Bed, canary_bed
from tests.support.cli import KUBECTL_CANARY, REPO, Running, pipeline_env, run
from tests.support.cluster import Cluster
from tests.support.prometheus import PrometheusFactory
from tests.support.releases import get_release, histories
from tests.support.wait import wait_for

# The session's controllers (Release and CanaryRelease) and the ClusterMetricPolicy library.
pytestmark = [pytest.mark.integration, pytest.mark.prometheus, pytest.mark.usefixtures("controller", "policies")]

SCRIPT = REPO / "examples" / "pipelines" / "canary-deploy.sh"
TEMPLATE = REPO / "examples" / "pipelines" / "canary.yaml"
ERRORS = Profile(error_rate=0.3, latency_median=0.05, latency_sigma=0.2)
T = TypeVar("T")


def pipeline_manifest(directory: Path, namespace: str, version: str, prometheus_url: str, *,
                      metrics: list[dict[str, Any]] | None = None, step: str = "12s",
                      analysis_fields: dict[str, Any] | None = None) -> Path:
    """examples/pipelines/canary.yaml as the CI jobs render it (`sed s/__VERSION__/$SHA/g`), then fitted to the
    test bed: its namespace, the test chart's `tag` value, its Prometheus, and one step of seconds, not minutes
    (and `metrics` instead of the example's, and the `analysis` fields given)."""
    body = yaml.safe_load(TEMPLATE.read_text().replace("__VERSION__", version))
    assert body["metadata"]["name"] == f"web-{version}" and body["spec"]["release"] == "web"
    body["metadata"]["namespace"] = namespace
    spec = body["spec"]
    spec["values"] = {"tag": version}
    spec["steps"] = [{"weight": 50, "duration": step}]
    spec["analysis"].update(interval="4s", prometheus={"url": prometheus_url})
    if metrics is not None:
        spec["analysis"]["metrics"] = metrics
    spec["analysis"].update(analysis_fields or {})
    spec["progressDeadline"] = "2m"
    path = directory / f"canary-{version}.yaml"
    path.write_text(yaml.safe_dump(body))
    return path


@dataclass
class Exit:
    """How a command ended: its exit code, stdout, and stderr's lines."""

    code: int
    out: str
    err: list[str]


def start_pipeline(cluster: Cluster, tmp_path: Path, manifest: Path, timeout: str = "3m") -> Running:
    env = pipeline_env(cluster, tmp_path / "bin", REPORT_DIR=str(tmp_path / "reports"), CANARY_TIMEOUT=timeout)
    return Running.start(["bash", str(SCRIPT), str(manifest)], cluster, env=env)


def pipeline(cluster: Cluster, tmp_path: Path, manifest: Path, timeout: str = "3m") -> Exit:
    """The pipeline script run on `manifest` to its end."""
    script = start_pipeline(cluster, tmp_path, manifest, timeout)
    try:
        code, out = script.finish(timeout=200)
    finally:
        script.stop()
    return Exit(code, out, script.seen)


def wait_outcome(cluster: Cluster, namespace: str, name: str, then: Callable[[], T]) -> tuple[Exit, T]:
    """`kubectl canary wait NAME` to its end, and what `then` reads the moment it returns (so a wait that
    returned before the outcome was final shows)."""
    waiting = Running.start(KUBECTL_CANARY, cluster, "wait", name, "-n", namespace, "--timeout", "3m",
                            "--interval", "0.5s")
    try:
        code, out = waiting.finish(timeout=200)
        seen = then()
    finally:
        waiting.stop()
    return Exit(code, out, waiting.seen), seen


def pipeline_and_wait(cluster: Cluster, bed: Bed, tmp_path: Path, manifest: Path, name: str, *,
                      then: Callable[[], T]) -> tuple[Exit, Exit, T]:
    """The pipeline script run on `manifest`, and alongside it a `kubectl canary wait` of our own once the
    script has applied the CanaryRelease `name`: both exits, and what `then` read when the wait returned."""
    script = start_pipeline(cluster, tmp_path, manifest)
    try:
        wait_for(lambda: bed.get(name), timeout=60, what="the CanaryRelease applied by the pipeline")
        waited, seen = wait_outcome(cluster, bed.namespace, name, then)
        code, out = script.finish(timeout=60)
    finally:
        script.stop()
    return Exit(code, out, script.seen), waited, seen


def kubectl_canary(cluster: Cluster, namespace: str, *args: str) -> tuple[int, str, str]:
    done = run(KUBECTL_CANARY, cluster, *args, "-n", namespace)
    return done.returncode, done.stdout, done.stderr


def analysis(bed: Bed, on_inconclusive: str = "extend") -> dict[str, Any]:
    return {"interval": "4s", "prometheus": {"url": bed.prometheus.url}, "metrics": [{"policy": "http-error-rate"}],
            "failureLimit": 0, "onInconclusive": on_inconclusive}


def progress_phases(lines: list[str]) -> list[str]:
    """The phases `wait` reported on stderr (`HH:MM:SS Phase ...`), in order."""
    return [parts[1] for parts in (line.split() for line in lines) if len(parts) > 1]


def assert_release_untouched(bed: Bed) -> None:
    release = get_release(bed.cluster, bed.namespace, "web")
    assert release["status"]["revision"] == 1
    assert (release["spec"].get("values") or {}).get("tag") is None
    assert len(histories(bed.cluster, bed.namespace, "web")) == 1


def test_pipeline_passes_when_the_canary_is_promoted(
    cluster: Cluster, namespace: str, prometheus_factory: PrometheusFactory, tmp_path: Path
) -> None:
    with canary_bed(cluster, namespace, prometheus_factory) as bed:
        # The example's http-latency-p99 judges one point per 30s rate window and wants 10 a side: more than a 12s step
        # gathers, so it would stay Inconclusive and the example's `onInconclusive: pause` would stop the canary
        # for a decision (exit 3). The error rate alone can promote a good version in seconds; on a loaded machine
        # a 12s step may still end before it has the requests a Pass needs, so the step is extended look by look
        # until it has them (the example's minute-long steps gather them within the step).
        manifest = pipeline_manifest(tmp_path, namespace, "3.9", bed.prometheus.url,
                                     metrics=[{"policy": "http-error-rate"}],
                                     analysis_fields={"onInconclusive": "extend", "maxExtensions": 20})
        script, waited, release = pipeline_and_wait(cluster, bed, tmp_path, manifest, "web-3.9",
                                                    then=lambda: get_release(cluster, namespace, "web"))

        assert waited.code == 0, waited.err
        assert waited.out.startswith(f"CanaryRelease {namespace}/web-3.9: promoted: Promoted"), waited.out
        assert "Progressing" in progress_phases(waited.err), "wait followed the canary through its step"
        assert release["status"]["phase"] == "Ready" and release["status"]["revision"] == 2, release["status"]
        assert release["spec"]["values"]["tag"] == "3.9"
        assert script.code == 0, script.err
        assert f"CanaryRelease {namespace}/web-3.9: promoted" in script.out
        assert "canary: web-3.9 promoted" in script.out
        assert "Progressing" in progress_phases(script.err), "the pipeline's wait showed progress"
        assert not (tmp_path / "reports").exists(), "a report only when the canary did not promote"
        assert bed.copies() == []


def test_pipeline_fails_when_the_canary_is_rolled_back_and_the_report_shows_why(
    cluster: Cluster, namespace: str, prometheus_factory: PrometheusFactory, tmp_path: Path
) -> None:
    with canary_bed(cluster, namespace, prometheus_factory, profiles={"4.0": ERRORS}) as bed:
        manifest = pipeline_manifest(tmp_path, namespace, "4.0", bed.prometheus.url)
        script, waited, copies = pipeline_and_wait(cluster, bed, tmp_path, manifest, "web-4.0", then=bed.copies)

        assert waited.code == 1, waited.err
        assert waited.out.startswith(f"CanaryRelease {namespace}/web-4.0: rolled back or failed: RolledBack "
                                     "(AnalysisFailed)"), waited.out
        assert "http-error-rate" in waited.out
        assert copies == []
        assert_release_untouched(bed)
        assert script.code == 1, script.err
        assert "promoted" not in script.out
        assert "canary: web-4.0 rolled back or failed; why:" in script.err
        assert any(line.startswith("Phase:") and "RolledBack (AnalysisFailed)" in line for line in script.err)
        kept = tmp_path / "reports" / "web-4.0-report.html"
        assert "http-error-rate" in kept.read_text(), "the pipeline keeps the report as an artifact"

        report = tmp_path / "web-4.0.html"
        code, _, err = kubectl_canary(cluster, namespace, "report", "web-4.0", "-o", str(report))
        assert code == 0, err
        assert_report_shows_why(report.read_text(), bed.get("web-4.0"))


def test_pipeline_aborts_a_canary_without_an_outcome_at_its_timeout_and_waits_for_the_rollback(
    cluster: Cluster, namespace: str, prometheus_factory: PrometheusFactory, tmp_path: Path
) -> None:
    with canary_bed(cluster, namespace, prometheus_factory) as bed:
        manifest = pipeline_manifest(tmp_path, namespace, "3.9", bed.prometheus.url, step="10m")
        script = pipeline(cluster, tmp_path, manifest, timeout="8s")
        canary = bed.get("web-3.9")  # read at once: the pipeline ends only once the rollback is done

        assert script.code == 1, script.err
        assert "canary: web-3.9 has no outcome after 8s; aborting it" in script.err, script.err
        assert f"CanaryRelease {namespace}/web-3.9: timed out" in script.out
        assert f"CanaryRelease {namespace}/web-3.9: rolled back or failed: RolledBack (Aborted)" in script.out, \
            script.out
        assert "canary: web-3.9 rolled back or failed (aborted after 8s without an outcome); why:" in script.err
        assert canary["status"]["phase"] == "RolledBack" and canary["status"]["weight"] == 0, canary["status"]
        assert bed.copies() == []
        assert_release_untouched(bed)
        assert (tmp_path / "reports" / "web-3.9-report.html").exists()


def test_pipeline_exits_4_not_1_when_the_manifest_is_rejected(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    body = yaml.safe_load(TEMPLATE.read_text().replace("__VERSION__", "3.9"))
    body["metadata"]["namespace"] = namespace
    body["spec"]["steps"] = [{"weight": 50, "duration": "1m", "pause": {}}]  # the CRD refuses a step of both kinds
    manifest = tmp_path / "canary.yaml"
    manifest.write_text(yaml.safe_dump(body))
    script = pipeline(cluster, tmp_path, manifest)
    assert script.code == 4, script.err
    assert f"canary: could not apply {manifest}" in script.err
    assert any("a step is either {weight, duration} or {pause}" in line for line in script.err), script.err
    assert script.out == ""


def assert_report_shows_why(page: str, canary: dict[str, Any]) -> None:
    """A plot of canary against baseline per metric, and every verdict of the live status with its p-value
    and interval."""
    status = parse_canary(canary).status
    names = [m["policy"] for m in canary["spec"]["analysis"]["metrics"]]
    assert status.analysis, "the controller recorded its analyses"
    for name in names:
        plot = re.search(rf'<svg [^>]*aria-label="{re.escape(name)}: canary vs baseline"[^>]*>(.*?)</svg>', page,
                         re.DOTALL)
        assert plot, f"no canary-vs-baseline plot for {name}"
        series = re.findall(r"<polyline [^>]*><title>(canary|baseline)</title>", plot.group(1))
        assert sorted(series) == ["baseline", "canary"], f"{name}: both series plotted, got {series}"
        measured = [m for r in status.analysis for m in r.metrics if m.name == name and m.canary is not None]
        dots = re.findall(r"<circle [^>]*><title>canary ([^<]*)</title>", plot.group(1))
        assert dots == [format_number(m.canary) for m in measured], f"{name}: a dot per analysis that measured it"
    failing = [(r, m) for r in status.analysis for m in r.metrics if m.verdict == "Fail"]
    assert failing, "the rollback came from a failed metric"
    for record in status.analysis:
        for metric in record.metrics:
            numbers = [format_number(v) for v in (metric.canary, metric.baseline, metric.effect, metric.p_value)]
            row = f'<td class="v-{metric.verdict}">{metric.verdict}</td>' + "".join(
                f'<td class="num">{cell}</td>' for cell in [*numbers, escape(interval(metric))])
            assert row in page, f"{metric.name} at {record.time}: verdict, values, p-value and interval in the table"
    record, metric = failing[-1]
    why = page.split("<h2>Why</h2>", 1)[1].split("</ul>", 1)[0] if "<h2>Why</h2>" in page else ""
    assert f"{metric.name} was Fail" in why, "the report says why it was rolled back"
    assert f"p-value {format_number(metric.p_value)}" in why
    assert f"interval of canary - baseline {escape(interval(metric))}" in why
    assert metric.p_value is not None and metric.ci_low is not None and metric.ci_high is not None


def test_wait_exits_3_at_an_untimed_pause_step_not_at_a_timed_one_and_0_once_promoted(
    cluster: Cluster, namespace: str, prometheus_factory: PrometheusFactory
) -> None:
    with canary_bed(cluster, namespace, prometheus_factory) as bed:
        bed.canary("gate", {
            "release": "web", "values": {"tag": "3.9"},
            "steps": [{"weight": 50, "duration": "8s"}, {"pause": {"duration": "4s"}}, {"pause": {}}],
            "analysis": analysis(bed), "progressDeadline": "2m",
        })
        waited, held = wait_outcome(cluster, namespace, "gate", lambda: bed.get("gate")["status"])

        assert waited.code == 3, waited.err
        assert "paused, waiting for a decision" in waited.out, waited.out
        assert "PauseStep" in waited.out and "step 3/3" in waited.out, waited.out
        assert any("a timed pause: it resumes by itself" in line for line in waited.err), \
            "wait sat through the timed pause step"
        assert (held["phase"], held["pausedReason"], held["step"]) == ("Paused", "PauseStep", 2)
        assert bed.copies(), "paused canaries keep their copies"
        assert_release_untouched(bed)

        code, out, err = kubectl_canary(cluster, namespace, "promote", "gate", "--wait", "--timeout", "60s")
        assert code == 0, err
        assert "promote done" in out
        waited, release = wait_outcome(cluster, namespace, "gate", lambda: get_release(cluster, namespace, "web"))
        assert waited.code == 0, waited.err
        assert waited.out.startswith(f"CanaryRelease {namespace}/gate: promoted: Promoted"), waited.out
        assert release["status"]["phase"] == "Ready" and release["status"]["revision"] == 2, release["status"]


def test_wait_exits_2_on_timeout_mid_step_3_when_paused_by_hand_and_1_once_aborted(
    cluster: Cluster, namespace: str, prometheus_factory: PrometheusFactory
) -> None:
    with canary_bed(cluster, namespace, prometheus_factory) as bed:
        bed.canary("long", {
            "release": "web", "values": {"tag": "3.9"}, "steps": [{"weight": 50, "duration": "10m"}],
            "analysis": analysis(bed), "progressDeadline": "2m",
        })
        bed.wait("long", lambda s: s.get("phase") == "Progressing" and s.get("weight") == 50, "progressing at 50%")

        started = time.monotonic()
        code, out, err = kubectl_canary(cluster, namespace, "wait", "long", "--timeout", "5s", "--interval", "0.5s")
        assert code == 2, err
        assert time.monotonic() - started >= 5
        assert "timed out: no final outcome within 5s; last seen: Progressing at step 1/1 (50%)" in out, out
        assert bed.get("long")["status"]["phase"] == "Progressing", "a timed-out wait leaves the canary alone"

        code, out, err = kubectl_canary(cluster, namespace, "pause", "long", "--wait", "--timeout", "60s")
        assert code == 0, err
        assert "pause done; phase Paused" in out
        code, out, err = kubectl_canary(cluster, namespace, "wait", "long", "--timeout", "60s", "--interval", "0.5s")
        assert code == 3, err
        assert "paused, waiting for a decision" in out and "ManualPause" in out, out

        code, out, err = kubectl_canary(cluster, namespace, "abort", "long", "--wait", "--timeout", "60s")
        assert code == 0, err
        assert "abort done" in out
        waited, copies = wait_outcome(cluster, namespace, "long", bed.copies)
        assert waited.code == 1, waited.err
        assert waited.out.startswith(f"CanaryRelease {namespace}/long: rolled back or failed: RolledBack (Aborted)"), \
            waited.out
        assert copies == []
        assert_release_untouched(bed)
