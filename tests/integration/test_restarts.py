"""Restart safety with a real controller process killed (SIGKILL) at chosen points: a Release killed
mid-apply converges to the right revision with exactly one ReleaseHistory per revision; a CanaryRelease
killed after the fork, mid-step and mid-promotion resumes from its status with no lost step, no orphaned
copy and no double promotion. These tests run their own controller in an `iso-` namespace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rudder.domain.revision_origin import GENERATION_ANNOTATION
from tests.support.canary import canary_bed
from tests.support.cli import RUDDER, run
from tests.support.cluster import Cluster
from tests.support.controller import LOG_DIR, ControllerProcess
from tests.support.prometheus import PrometheusFactory
from tests.support.releases import create_release, histories, patch_release, release_body, wait_release
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration

MANY = "".join(
    f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}}}\ndata: {{v: {{{{ values.v | quote }}}}}}\n"
    for i in range(40)
)


@pytest.fixture
def own_controller(cluster: Cluster, iso_namespace: str) -> Iterator[ControllerProcess]:
    proc = ControllerProcess(cluster.kubeconfig, args=["--namespace", iso_namespace])
    proc.start(LOG_DIR)
    try:
        yield proc
    finally:
        proc.stop()


def restart(proc: ControllerProcess) -> None:
    proc.kill()
    proc.start(LOG_DIR)


def managed(cluster: Cluster, namespace: str, revision: str) -> int:
    items = cluster.core.list_namespaced_config_map(namespace, label_selector="rudder.dev/release=many").items
    return sum(1 for c in items if (c.metadata.annotations or {}).get("rudder.dev/revision") == revision)


def test_release_killed_mid_apply_converges_without_duplicate_history(
    cluster: Cluster, iso_namespace: str, own_controller: ControllerProcess
) -> None:
    ns = iso_namespace
    create_release(cluster, ns, release_body("many", templates={"cms.yaml": MANY}, chart_values={"v": "1"}))
    wait_for(lambda: managed(cluster, ns, "1") > 0, timeout=60, interval=0.05, what="the apply under way")
    restart(own_controller)
    wait_release(cluster, ns, "many", phase="Ready", revision=1)
    assert managed(cluster, ns, "1") == 40
    assert [h["spec"]["revision"] for h in histories(cluster, ns, "many")] == [1]

    patch_release(cluster, ns, "many", {"spec": {"values": {"v": "2"}}})
    wait_for(lambda: managed(cluster, ns, "2") > 0, timeout=60, interval=0.05, what="the upgrade under way")
    restart(own_controller)
    wait_release(cluster, ns, "many", phase="Ready", revision=2)
    assert managed(cluster, ns, "2") == 40
    assert [h["spec"]["revision"] for h in histories(cluster, ns, "many")] == [1, 2]
    # Each history records the generation it was made from, restarts or not: `rudder wait` finds revision 2.
    assert [h["metadata"]["annotations"][GENERATION_ANNOTATION] for h in histories(cluster, ns, "many")] == ["1", "2"]
    done = run(RUDDER, cluster, "wait", "many", "-n", ns, "--generation", "2", "--timeout", "1m")
    assert (done.returncode, done.stdout) == (0, f"Release {ns}/many generation 2: Ready: revision 2 is Ready\n")


@pytest.mark.prometheus
def test_canary_killed_after_fork_mid_step_and_mid_promotion_promotes_once(
    cluster: Cluster, iso_namespace: str, own_controller: ControllerProcess, policies: list[str],
    prometheus_factory: PrometheusFactory,
) -> None:
    with canary_bed(cluster, iso_namespace, prometheus_factory) as bed:
        bed.canary("phoenix", {
            "release": "web", "values": {"tag": "3.9"},
            "steps": [{"weight": 25, "duration": "12s"}, {"weight": 50, "duration": "12s"}],
            "analysis": {"interval": "4s", "prometheus": {"url": bed.prometheus.url},
                         "metrics": [{"policy": "http-error-rate"}], "failureLimit": 0, "onInconclusive": "extend"},
            "progressDeadline": "2m",
        })

        # Kill point 1: right after the fork.
        wait_for(bed.copies, timeout=60, interval=0.05, what="copies created")
        restart(own_controller)
        # Kill point 2: mid-step, after an analysis was recorded.
        bed.wait("phoenix", lambda s: bool(s.get("analysis")), "an analysis recorded")
        before = bed.get("phoenix")["status"]
        restart(own_controller)
        after = bed.wait("phoenix", lambda s: len(s.get("analysis") or []) > len(before["analysis"]),
                         "analysis resumed")["status"]
        assert after["step"] >= before["step"], "no step lost"
        # Kill point 3: mid-promotion.
        bed.wait("phoenix", lambda s: s.get("phase") in ("Promoting", "Promoted"), "promotion started",
                 timeout=120)
        restart(own_controller)

        done = bed.wait_phase("phoenix", "Promoted")
        assert done["status"]["promotedRevision"] == 2
        wait_release(cluster, iso_namespace, "web", phase="Ready", revision=2)
        assert [h["spec"]["revision"] for h in histories(cluster, iso_namespace, "web")] == [1, 2]
        assert bed.copies() == []
        steps = {r["step"] for r in done["status"]["analysis"]}
        assert steps == {0, 1}, "both steps were analysed: none skipped"
