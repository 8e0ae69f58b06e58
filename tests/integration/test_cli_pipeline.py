"""The pipeline example `examples/pipelines/canary-deploy.sh` against the local cluster: it applies the
CanaryRelease with kubectl, waits through `kubectl canary wait` (the plugin found on PATH by kubectl), and
passes the pipeline on promotion, fails it on rollback and leaves the HTML report behind.

The canary's status is driven here through the status subresource, as the canary controller would write it
(the namespace is an `iso-` one, which no controller of the test session touches). The end-to-end version, with
the real canary controller promoting and rolling back real copies, comes with the canary controller's tests."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.support.cli import REPO, CanaryDriver, Running, cli_env
from tests.support.cluster import Cluster
from tests.support.wait import wait_for
from tests.unit.cli.canaries import PROGRESSING, ROLLED_BACK, SPEC, with_status

pytestmark = pytest.mark.integration

SCRIPT = REPO / "examples" / "pipelines" / "canary-deploy.sh"
KUBECTL = shutil.which("kubectl") or str(Path.home() / ".cache" / "rudder" / "bin" / "kubectl-v1.37.2")


@pytest.fixture
def pipeline_env(cluster: Cluster, tmp_path: Path) -> dict[str, str]:
    """kubectl on PATH, and kubectl-canary next to it as a pipeline's `pip install` would put it."""
    if not Path(KUBECTL).exists():
        pytest.fail(f"no kubectl binary at {KUBECTL}: run scripts/bootstrap.sh (deploy/local/build.sh builds it)")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    plugin = bin_dir / "kubectl-canary"
    plugin.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m canary.cli.main "$@"\n')
    plugin.chmod(0o755)
    return cli_env(cluster, PATH=f"{bin_dir}:{Path(KUBECTL).parent}:/usr/bin:/bin", KUBECTL=KUBECTL,
                   REPORT_DIR=str(tmp_path / "reports"), CANARY_TIMEOUT="2m")


def manifest(tmp_path: Path, namespace: str, name: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "rudder.dev/v1alpha1", "kind": "CanaryRelease",
                                    "metadata": {"name": name, "namespace": namespace}, "spec": SPEC}))
    return path


def start(cluster: Cluster, env: dict[str, str], path: Path) -> Running:
    return Running.start(["bash", str(SCRIPT), str(path)], cluster, env=env)


def shows(phase: str) -> Callable[[str], bool]:
    return lambda line: f" {phase}" in line


def applied(canaries: CanaryDriver, name: str) -> None:
    wait_for(lambda: canaries.get(name), timeout=60, what=f"CanaryRelease {name} applied by the script")


def test_the_pipeline_passes_when_the_canary_is_promoted(
    cluster: Cluster, iso_namespace: str, pipeline_env: dict[str, str], tmp_path: Path
) -> None:
    canaries = CanaryDriver(cluster, iso_namespace)
    script = start(cluster, pipeline_env, manifest(tmp_path, iso_namespace, "web-good"))
    try:
        applied(canaries, "web-good")
        for phase in ("Progressing", "Promoting"):
            canaries.set_status("web-good", with_status(PROGRESSING, phase=phase))
            script.expect_line(shows(phase), what=f"wait reporting {phase}")
        canaries.set_status("web-good", with_status(PROGRESSING, phase="Promoted", promotedRevision=5))
        code, out = script.finish()
    finally:
        script.stop()
    assert code == 0, script.seen
    assert "canary: web-good promoted" in out
    assert not (tmp_path / "reports").exists()


def test_the_pipeline_fails_on_rollback_and_keeps_the_report(
    cluster: Cluster, iso_namespace: str, pipeline_env: dict[str, str], tmp_path: Path
) -> None:
    canaries = CanaryDriver(cluster, iso_namespace)
    script = start(cluster, pipeline_env, manifest(tmp_path, iso_namespace, "web-bad"))
    try:
        applied(canaries, "web-bad")
        canaries.set_status("web-bad", with_status(ROLLED_BACK, phase="RollingBack"))
        script.expect_line(lambda line: " RollingBack" in line, what="wait reporting RollingBack")
        canaries.set_status("web-bad", ROLLED_BACK)
        code, _ = script.finish()
    finally:
        script.stop()
    assert code == 1, script.seen
    assert any("rolled back or failed" in line for line in script.seen)
    report = tmp_path / "reports" / "web-bad-report.html"
    assert "http-error-rate was High" in report.read_text()
