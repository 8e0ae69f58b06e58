"""Failure remediation against the real API server: an upgrade to a never-Ready revision is retried in place N
times and then rolled back exactly once, with no new revision; a failed first install with `uninstall` removes
its objects and `rudder.dev/reset-at` clears the counters so it installs again as the same revision;
RetryOnFailure keeps counting retries until a missing ConfigMap appears and the Release heals; `rudder reconcile
--force` re-applies a field another field manager took by server-side apply; counters survive a controller killed
mid-retry (one rollback still); invalid policies are refused at admission naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from tests.support.cli import RUDDER, run
from tests.support.cluster import Cluster
from tests.support.controller import LOG_DIR, ControllerProcess
from tests.support.releases import (
    CONFIGMAP,
    UNSCHEDULABLE,
    create_release,
    events_for,
    get_release,
    histories,
    patch_release,
    release_body,
    wait_release,
)
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration

TEMPLATES = {"configmap.yaml": CONFIGMAP, "deployment.yaml": UNSCHEDULABLE}
NOWHERE = {"nowhere": "true"}


def phases(cluster: Cluster, namespace: str, name: str) -> list[tuple[int, str | None]]:
    return [(h["spec"]["revision"], (h.get("status") or {}).get("phase")) for h in histories(cluster, namespace, name)]


def reasons(cluster: Cluster, namespace: str, name: str) -> list[str]:
    return [e.reason for e in events_for(cluster, namespace, name)]


def remediation(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    return dict((get_release(cluster, namespace, name).get("status") or {}).get("remediation") or {})


def test_upgrade_is_retried_then_rolled_back_once_without_a_new_revision(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    values = {"replicas": 1, "tag": "3.10", "greeting": "v1", "nodeSelector": {}}
    upgrade = {"remediation": {"retries": 2, "backoff": "1s", "strategy": "rollback"}}
    create_release(cluster, namespace, release_body("heal", templates=TEMPLATES, chart_values=values,
                                                    timeout="3s", upgrade=upgrade))
    wait_release(cluster, namespace, "heal", phase="Ready", revision=1)

    patch_release(cluster, namespace, "heal", {"spec": {"values": {"nodeSelector": NOWHERE, "greeting": "v2"}}})
    wait_for(lambda: remediation(cluster, namespace, "heal").get("remediated") == "rollback", timeout=90,
             what="the upgrade remediated by rollback")
    rel = wait_release(cluster, namespace, "heal", phase="Ready", revision=1, timeout=60)

    counters = rel["status"]["remediation"]
    assert (counters["upgradeFailures"], counters["installFailures"]) == (3, 0)
    assert phases(cluster, namespace, "heal") == [(1, "Deployed"), (2, "Failed")]  # retries wrote no history
    seen = reasons(cluster, namespace, "heal")
    assert seen.count("RemediationRollback") == 1
    assert seen.count("RemediationRetry") == 2
    assert "nodeSelector" not in rel["spec"].get("values", {})
    assert cluster.core.read_namespaced_config_map("heal-config", namespace).data == {"greeting": "v1"}
    assert not cluster.apps.read_namespaced_deployment("heal-web", namespace).spec.template.spec.node_selector

    # The same failing content again (a GitOps tool re-applying it) is not retried for ever: it stalls.
    patch_release(cluster, namespace, "heal", {"spec": {"values": {"nodeSelector": NOWHERE, "greeting": "v2"}}})
    wait_release(cluster, namespace, "heal", phase="Failed", message="remediated (rollback)", timeout=30)
    assert phases(cluster, namespace, "heal") == [(1, "Deployed"), (2, "Failed")]
    assert get_release(cluster, namespace, "heal")["status"]["revision"] == 1


def test_failed_first_install_is_uninstalled_and_reset_installs_it_again(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    values = {"replicas": 1, "tag": "3.10", "greeting": "hi", "nodeSelector": NOWHERE}
    install = {"remediation": {"retries": 1, "backoff": "1s"}}  # final action: uninstall (the default)
    create_release(cluster, namespace, release_body("gone", templates=TEMPLATES, chart_values=values,
                                                    timeout="3s", install=install))

    rel = wait_release(cluster, namespace, "gone", phase="Failed",
                       message="remediated (uninstall: its objects were deleted)", timeout=90)
    assert "revision" not in rel["status"] and rel["status"]["resources"] == []
    assert rel["status"]["remediation"]["installFailures"] == 2
    assert rel["status"]["remediation"]["remediated"] == "uninstall"
    assert cluster.core.list_namespaced_config_map(namespace, label_selector="rudder.dev/release=gone").items == []
    wait_for(lambda: not cluster.apps.list_namespaced_deployment(namespace).items, timeout=30,
             what="the failed install's Deployment deleted")
    assert phases(cluster, namespace, "gone") == [(1, "Failed")]
    assert reasons(cluster, namespace, "gone").count("RemediationUninstall") == 1

    # reset-at clears the counters: the same content installs again, as revision 1 (no new history).
    patch_release(cluster, namespace, "gone", {"metadata": {"annotations": {"rudder.dev/reset-at": "r1"}}})
    wait_for(lambda: (get_release(cluster, namespace, "gone").get("status") or {}).get("lastHandledResetAt")
             == "r1", timeout=30, what="reset-at handled")
    wait_for(lambda: cluster.apps.list_namespaced_deployment(namespace).items, timeout=30,
             what="the install applied again")
    assert "RemediationReset" in reasons(cluster, namespace, "gone")
    assert [revision for revision, _ in phases(cluster, namespace, "gone")] == [1]


def test_retry_on_failure_heals_when_the_missing_config_map_appears(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    install = {"strategy": {"name": "RetryOnFailure", "retryInterval": "1s"}}
    values_from = [{"configMapKeyRef": {"name": "late-values", "key": "values.yaml"}}]
    create_release(cluster, namespace, release_body("late", templates={"configmap.yaml": CONFIGMAP},
                                                    chart_values={"greeting": "default"}, timeout="3s",
                                                    install=install, valuesFrom=values_from))

    wait_release(cluster, namespace, "late", phase="Failed", message="late-values")
    wait_for(lambda: remediation(cluster, namespace, "late").get("installFailures", 0) >= 3, timeout=30,
             what="retries counted while the ConfigMap is missing")
    assert histories(cluster, namespace, "late") == []

    cluster.core.create_namespaced_config_map(namespace, {"metadata": {"name": "late-values"},
                                                          "data": {"values.yaml": "greeting: healed\n"}})
    rel = wait_release(cluster, namespace, "late", phase="Ready", revision=1, timeout=60)
    assert cluster.core.read_namespaced_config_map("late-config", namespace).data == {"greeting": "healed"}
    assert len(histories(cluster, namespace, "late")) == 1
    wait_for(lambda: "remediation" not in (get_release(cluster, namespace, "late").get("status") or {}),
             timeout=30, what="the counters cleared once Ready")
    assert rel["status"]["revision"] == 1


def test_force_reapplies_a_field_taken_by_another_field_manager(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    # Drift repair off: only force-at can take the field back, so the test shows that it does.
    create_release(cluster, namespace, release_body("forced", templates={"configmap.yaml": CONFIGMAP},
                                                    chart_values={"greeting": "mine"}, drift={"mode": "disabled"}))
    wait_release(cluster, namespace, "forced", phase="Ready", revision=1)

    config_maps = cluster.dynamic.resources.get(api_version="v1", kind="ConfigMap")
    config_maps.server_side_apply(
        body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "forced-config"},
              "data": {"greeting": "theirs"}},
        name="forced-config", namespace=namespace, field_manager="intruder", force_conflicts=True)

    # A plain reconcile (handled: its value recorded) leaves the other manager's field alone...
    done = run(RUDDER, cluster, "reconcile", "forced", "-n", namespace, "--wait", "--timeout", "60s")
    assert done.returncode == 0, done.stderr
    assert "reconciled" in done.stdout
    assert get_release(cluster, namespace, "forced")["status"]["lastHandledReconcileAt"]
    assert cluster.core.read_namespaced_config_map("forced-config", namespace).data == {"greeting": "theirs"}

    # ... force-at takes it back, writing no revision.
    done = run(RUDDER, cluster, "reconcile", "forced", "-n", namespace, "--force", "--wait", "--timeout", "60s")
    assert done.returncode == 0, done.stderr
    status = get_release(cluster, namespace, "forced")["status"]
    assert status["lastHandledForceAt"]
    assert cluster.core.read_namespaced_config_map("forced-config", namespace).data == {"greeting": "mine"}
    assert "ForcedApply" in reasons(cluster, namespace, "forced")
    assert len(histories(cluster, namespace, "forced")) == 1


def test_counters_survive_a_controller_restart_and_remediate_once(cluster: Cluster, iso_namespace: str) -> None:
    ns = iso_namespace
    proc = ControllerProcess(cluster.kubeconfig, args=["--namespace", ns])  # its own, to kill it
    proc.start(LOG_DIR)
    try:
        values = {"replicas": 1, "tag": "3.10", "greeting": "v1", "nodeSelector": {}}
        upgrade = {"remediation": {"retries": 2, "backoff": "4s"}}
        create_release(cluster, ns, release_body("phoenix", templates=TEMPLATES, chart_values=values,
                                                 timeout="3s", upgrade=upgrade))
        wait_release(cluster, ns, "phoenix", phase="Ready", revision=1)
        patch_release(cluster, ns, "phoenix", {"spec": {"values": {"nodeSelector": NOWHERE}}})
        wait_for(lambda: remediation(cluster, ns, "phoenix").get("nextRetryAt"), timeout=60,
                 what="the first retry scheduled")
        proc.kill()  # SIGKILL while the retry is pending: the counters are in status only
        proc.start(LOG_DIR)

        wait_for(lambda: remediation(cluster, ns, "phoenix").get("remediated") == "rollback", timeout=90,
                 what="the upgrade remediated by rollback")
        rel = wait_release(cluster, ns, "phoenix", phase="Ready", revision=1, timeout=60)
        assert rel["status"]["remediation"]["upgradeFailures"] == 3
        assert reasons(cluster, ns, "phoenix").count("RemediationRollback") == 1
        assert phases(cluster, ns, "phoenix") == [(1, "Deployed"), (2, "Failed")]
    finally:
        proc.stop()


@pytest.mark.parametrize(("spec", "field"), [
    ({"upgrade": {"remediation": {"strategy": "sometimes"}}}, "spec.upgrade.remediation.strategy"),
    ({"install": {"remediation": {"strategy": "rollback"}}}, "spec.install.remediation.strategy"),
    ({"install": {"remediation": {"retries": -1}}}, "spec.install.remediation.retries"),
    ({"upgrade": {"strategy": {"name": "RetryOnFailure", "retryInterval": "soon"}}},
     "spec.upgrade.strategy.retryInterval"),
])
def test_invalid_remediation_is_refused_at_admission_naming_the_field(
    cluster: Cluster, namespace: str, spec: dict[str, Any], field: str
) -> None:
    with pytest.raises(ApiException) as err:
        create_release(cluster, namespace, release_body("bad", **spec))
    assert err.value.status == 422
    assert field in str(err.value.body)
