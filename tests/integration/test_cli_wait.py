"""`rudder wait` against the real controller returns each exit code in its scenario: 0 when the awaited
revision (by generation, by number, or the current spec's) is Ready; 1 when it missed its deadline, or when
the awaited generation made no revision because the API server refused what it rendered or the controller
refused the spec (with the message, not a timeout); 5 when `atomic` rolled it back; 6 when a newer change
replaced it before it became Ready; 3 when the Release is suspended; 2 when the time is up; 4 for a Release
that does not exist. Each revision's ReleaseHistory records the generation it was made from."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from rudder.domain.revision_origin import GENERATION_ANNOTATION
from tests.support.cli import RUDDER, Running, run
from tests.support.cluster import Cluster
from tests.support.controller import ControllerProcess
from tests.support.releases import DEPLOYMENT, create_release, histories, patch_release, release_body, wait_release
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration

# Pods that can never be scheduled while `nodeSelector` names no node: a revision that never becomes Ready.
SCHEDULABLE_IF = DEPLOYMENT.replace(
    "      containers:", "      nodeSelector: {{ values.nodeSelector | tojson }}\n      containers:")
NOWHERE = {"nowhere": "true"}


def app(name: str, node_selector: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return release_body(name, templates={"deployment.yaml": SCHEDULABLE_IF},
                        chart_values={"replicas": 1, "tag": "3.10", "nodeSelector": node_selector or {}}, **spec)


def wait(cluster: Cluster, namespace: str, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run(RUDDER, cluster, "wait", name, "-n", namespace, "--interval", "0.5s", *args)


def start_wait(cluster: Cluster, namespace: str, name: str, *args: str) -> Running:
    return Running.start(RUDDER, cluster, "wait", name, "-n", namespace, "--interval", "0.5s", *args)


def outcome(waiting: Running, progress: str, then: Callable[[], object] = lambda: None) -> tuple[int, str]:
    """Once the running wait has reported `progress` on stderr, do `then`; the wait's exit code and stdout."""
    try:
        waiting.expect_line(lambda line: progress in line, timeout=60, what=repr(progress))
        then()
        return waiting.finish(timeout=120)
    finally:
        waiting.stop()


def generations(cluster: Cluster, namespace: str, name: str) -> dict[int, str]:
    return {h["spec"]["revision"]: h["metadata"]["annotations"].get(GENERATION_ANNOTATION)
            for h in histories(cluster, namespace, name)}


def test_ready_by_current_spec_and_by_generation_then_suspended(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    create_release(cluster, namespace, app("web"))
    done = wait(cluster, namespace, "web", "--for-current", "--timeout", "2m")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == f"Release {namespace}/web generation 1: Ready: revision 1 is Ready\n"

    patched = patch_release(cluster, namespace, "web", {"spec": {"values": {"tag": "3.9"}}})
    generation = patched["metadata"]["generation"]
    done = wait(cluster, namespace, "web", "--generation", str(generation), "--timeout", "2m")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "revision 2 is Ready" in done.stdout
    assert generations(cluster, namespace, "web") == {1: "1", 2: str(generation)}
    assert wait(cluster, namespace, "web", "--revision", "2").returncode == 0

    patch_release(cluster, namespace, "web", {"spec": {"suspend": True}})
    done = wait(cluster, namespace, "web", "--for-current", "--timeout", "2m")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "suspended at revision 2 (spec.suspend)" in done.stdout


def test_missed_deadline_refused_apply_and_invalid_spec_exit_1_with_the_reason(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    create_release(cluster, namespace, app("slow", NOWHERE, timeout="5s"))
    done = wait(cluster, namespace, "slow", "--revision", "1", "--timeout", "2m")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "revision 1 failed: ProgressDeadlineExceeded: revision 1 not ready within 5s" in done.stdout

    # The API server refuses what generation 2 renders (a port out of range): no revision, Failed at once.
    broken = {"service.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: slow}\n"
                              "spec: {ports: [{port: 99999}]}\n"}
    patched = patch_release(cluster, namespace, "slow", {"spec": {"chart": {"templates": broken}}})
    done = wait(cluster, namespace, "slow", "--generation", str(patched["metadata"]["generation"]),
                "--timeout", "2m")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"generation {patched['metadata']['generation']} made no revision" in done.stdout
    assert "99999" in done.stdout

    # A spec the CRD accepts but the controller refuses (InvalidSpec): Failed with the field, not a timeout.
    patch_release(cluster, namespace, "slow", {"spec": {"timeout": "99999999h"}})
    done = wait(cluster, namespace, "slow", "--for-current", "--timeout", "2m")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "made no revision: InvalidSpec: spec.timeout: duration too long" in done.stdout


def test_atomic_rollback_exits_5(cluster: Cluster, namespace: str, controller: ControllerProcess) -> None:
    create_release(cluster, namespace, app("atom", timeout="8s", atomic=True))
    wait_release(cluster, namespace, "atom", phase="Ready", revision=1)

    patched = patch_release(cluster, namespace, "atom", {"spec": {"values": {"nodeSelector": NOWHERE}}})
    waiting = start_wait(cluster, namespace, "atom", "--generation", str(patched["metadata"]["generation"]),
                         "--timeout", "2m")
    code, out = outcome(waiting, "at revision 2")
    assert code == 5, (out, waiting.seen)
    assert out == (f"Release {namespace}/atom generation {patched['metadata']['generation']}: rolled back: "
                   "revision 2 failed and revision 1 was made current again\n")
    assert wait(cluster, namespace, "atom", "--revision", "2").returncode == 5


def test_a_newer_change_before_ready_exits_6(cluster: Cluster, namespace: str, controller: ControllerProcess) -> None:
    create_release(cluster, namespace, app("race", timeout="5m"))
    wait_release(cluster, namespace, "race", phase="Ready", revision=1)
    patch_release(cluster, namespace, "race", {"spec": {"values": {"nodeSelector": NOWHERE}}})
    wait_release(cluster, namespace, "race", phase="Progressing", revision=2)

    waiting = start_wait(cluster, namespace, "race", "--revision", "2", "--timeout", "2m")
    # The good change lands while revision 2 progresses: back to what revision 1 ran (a new revision all the
    # same, as in Helm).
    code, out = outcome(waiting, "Progressing at revision 2", lambda: patch_release(
        cluster, namespace, "race", {"spec": {"values": {"nodeSelector": {"nowhere": None}}}}))
    assert code == 6, (out, waiting.seen)
    assert out == (f"Release {namespace}/race revision 2: superseded: revision 2 was replaced by revision 3 "
                   "before it became Ready\n")
    # Revision 3 itself goes on to Ready.
    assert wait(cluster, namespace, "race", "--revision", "3", "--timeout", "2m").returncode == 0


def test_timeout_exits_2_and_a_missing_release_4(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    create_release(cluster, namespace, app("stuck", NOWHERE, timeout="10m"))
    wait_for(lambda: generations(cluster, namespace, "stuck"), timeout=60, what="revision 1 made")
    done = wait(cluster, namespace, "stuck", "--for-current", "--timeout", "3s")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "timed out: no outcome within 3s; last seen: Progressing at revision 1" in done.stdout

    missing = wait(cluster, namespace, "nothing", "--for-current")
    assert (missing.returncode, missing.stderr) == (4, f"error: Release {namespace}/nothing not found\n")
