"""Drift policy against the real API server: `warn` reports drift (Drifted condition, status.drifted and a
Warning event naming object and field) without repairing it; `enabled` repairs everything except ignored
fields, so a Deployment scaled by another field manager (an HPA stand-in, through the scale subresource) keeps
its replicas across drift repair and upgrade; `disabled` neither reports nor repairs; `conflicts: report`
leaves a field another manager owns and reports the conflict naming that manager (an upgrade that would take
it fails, nothing applied); `rudder diff` shows no change for an ignored field another manager owns."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.cli import REPO, RUDDER, run
from tests.support.cluster import Cluster
from tests.support.controller import ControllerProcess
from tests.support.releases import (
    RECONCILES,
    WEB_TEMPLATES,
    create_release,
    events_for,
    get_release,
    nudge,
    patch_release,
    release_body,
    wait_release,
)
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration

SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ release.name }}-token
stringData:
  token: not-a-real-token
"""


def _drifted(cluster: Cluster, namespace: str, name: str) -> dict[str, Any] | None:
    conditions = get_release(cluster, namespace, name)["status"].get("conditions") or []
    return next((c for c in conditions if c["type"] == "Drifted"), None)


def _greeting(cluster: Cluster, namespace: str, name: str) -> str:
    return str(cluster.core.read_namespaced_config_map(f"{name}-config", namespace).data["greeting"])


def _start(cluster: Cluster, namespace: str, name: str, drift: dict[str, Any],
           templates: dict[str, str] | None = None) -> None:
    create_release(cluster, namespace, release_body(name, templates, drift=drift))
    rel = wait_release(cluster, namespace, name, phase="Ready", revision=1)
    kept = rel["spec"].get("drift") or {}
    assert kept.get("mode") == drift.get("mode", "enabled"), \
        "the cluster's Release CRD dropped spec.drift: a CRD without it is installed (crds/release.yaml)"


def _after_a_pass(cluster: Cluster, controller: ControllerProcess, action: Any) -> None:
    """Do `action` (a change of a managed object) and wait for the reconcile it wakes: that pass reads it."""
    before = controller.metrics().get(RECONCILES, 0)
    action()
    wait_for(lambda: controller.metrics().get(RECONCILES, 0) > before, timeout=60, what="a reconcile")


def test_warn_reports_without_repairing(cluster: Cluster, namespace: str, controller: ControllerProcess) -> None:
    _start(cluster, namespace, "warn", {"mode": "warn"})
    cluster.core.patch_namespaced_config_map("warn-config", namespace, {"data": {"greeting": "hacked"}})

    condition = wait_for(lambda: (c := _drifted(cluster, namespace, "warn")) and c["status"] == "True" and c,
                         timeout=60, what="Drifted=True")
    assert condition["reason"] == "DriftDetected"
    assert "ConfigMap/warn-config: data.greeting" in condition["message"]
    status = get_release(cluster, namespace, "warn")["status"]
    assert {"apiVersion": "v1", "kind": "ConfigMap", "name": "warn-config", "fields": ["data.greeting"]} \
        in status["drifted"]
    assert _greeting(cluster, namespace, "warn") == "hacked"
    event = wait_for(lambda: next((e for e in events_for(cluster, namespace, "warn") if e.reason == "Drifted"), None),
                     timeout=30, what="a Drifted event")
    assert event.type == "Warning" and "ConfigMap/warn-config: data.greeting" in event.message

    # Switching to enabled repairs what warn reported.
    patch_release(cluster, namespace, "warn", {"spec": {"drift": {"mode": "enabled"}}})
    wait_for(lambda: _greeting(cluster, namespace, "warn") == "hello", timeout=60, what="drift repaired")
    condition = wait_for(lambda: (c := _drifted(cluster, namespace, "warn")) and c["status"] == "False" and c,
                         timeout=60, what="Drifted=False")
    assert condition["reason"] == "DriftRepaired" and "data.greeting" in condition["message"]
    assert "drifted" not in get_release(cluster, namespace, "warn")["status"]


def test_enabled_repairs_all_but_the_replicas_an_autoscaler_owns(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    ignore = [{"paths": ["/spec/replicas"], "target": {"group": "apps", "kind": "Deployment"}}]
    _start(cluster, namespace, "hpa", {"ignore": ignore})

    _after_a_pass(cluster, controller, lambda: cluster.apps.patch_namespaced_deployment_scale(
        "hpa-web", namespace, {"spec": {"replicas": 3}}, field_manager="my-autoscaler"))
    _after_a_pass(cluster, controller, lambda: cluster.core.patch_namespaced_config_map(
        "hpa-config", namespace, {"data": {"greeting": "hacked"}}))
    wait_for(lambda: _greeting(cluster, namespace, "hpa") == "hello", timeout=60, what="the hand edit repaired")
    deployment = cluster.apps.read_namespaced_deployment("hpa-web", namespace)
    assert deployment.spec.replicas == 3
    owners = {e.manager for e in deployment.metadata.managed_fields
              if "f:replicas" in (e.fields_v1.get("f:spec") or {})}
    assert owners == {"my-autoscaler"}

    # An upgrade leaves the autoscaler's replicas too.
    patch_release(cluster, namespace, "hpa", {"spec": {"values": {"greeting": "hi"}}})
    wait_for(lambda: get_release(cluster, namespace, "hpa")["status"].get("revision") == 2, timeout=60,
             what="revision 2 applied")
    assert _greeting(cluster, namespace, "hpa") == "hi"
    assert cluster.apps.read_namespaced_deployment("hpa-web", namespace).spec.replicas == 3


def test_disabled_neither_reports_nor_repairs(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    _start(cluster, namespace, "off", {"mode": "disabled"})
    _after_a_pass(cluster, controller, lambda: cluster.core.patch_namespaced_config_map(
        "off-config", namespace, {"data": {"greeting": "hacked"}}))
    nudge(cluster, controller, namespace, "off", 1)
    assert _greeting(cluster, namespace, "off") == "hacked"
    status = get_release(cluster, namespace, "off")["status"]
    assert _drifted(cluster, namespace, "off") is None and "drifted" not in status
    assert status["phase"] == "Ready"
    assert not [e for e in events_for(cluster, namespace, "off") if e.reason in ("Drifted", "DriftRepaired")]


def test_report_conflicts_leaves_another_managers_field(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    _start(cluster, namespace, "polite", {"conflicts": "report"})
    cluster.core.patch_namespaced_config_map("polite-config", namespace, {"data": {"greeting": "theirs"}},
                                             field_manager="intruder")
    condition = wait_for(lambda: (c := _drifted(cluster, namespace, "polite")) and c["status"] == "True" and c,
                         timeout=60, what="Drifted=True (Conflict)")
    assert condition["reason"] == "Conflict"
    assert '"intruder"' in condition["message"] and ".data.greeting" in condition["message"]
    assert _greeting(cluster, namespace, "polite") == "theirs"
    assert get_release(cluster, namespace, "polite")["status"]["phase"] == "Ready"

    # An upgrade that would take the field fails its dry-run, naming the manager; nothing is applied.
    patch_release(cluster, namespace, "polite", {"spec": {"values": {"greeting": "ours"}}})
    rel = wait_release(cluster, namespace, "polite", phase="Failed", message='"intruder"')
    assert "ApplyFailed" in {c.get("reason") for c in rel["status"]["conditions"]}
    assert rel["status"]["revision"] == 1
    assert _greeting(cluster, namespace, "polite") == "theirs"


def test_diff_shows_no_change_for_ignored_fields_another_manager_owns(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    web_app = str(REPO / "examples" / "web-app")
    args = (web_app, "-n", namespace, "--set", "autoscaling.enabled=false")
    done = run(RUDDER, cluster, "install", "shop", *args, "--wait", "--timeout", "2m")
    assert done.returncode == 0, done.stdout + done.stderr
    patch_release(cluster, namespace, "shop", {"spec": {"drift": {"ignore": [{"paths": ["/spec/replicas"]}]}}})
    _after_a_pass(cluster, controller, lambda: cluster.apps.patch_namespaced_deployment_scale(
        "shop", namespace, {"spec": {"replicas": 4}}, field_manager="my-autoscaler"))

    same = run(RUDDER, cluster, "diff", "shop", *args)
    assert same.returncode == 0 and same.stdout.startswith("no differences"), same.stdout + same.stderr
    changed = run(RUDDER, cluster, "diff", "shop", *args, "--set", "replicaCount=3", "--set", "image.tag=1.28")
    assert changed.returncode == 1 and "nginx:1.28" in changed.stdout and "replicas" not in changed.stdout, \
        changed.stdout
    assert cluster.apps.read_namespaced_deployment("shop", namespace).spec.replicas == 4


def _secret_reads(controller: ControllerProcess) -> float:
    return sum(v for k, v in controller.metrics().items()
               if k.startswith("rudder_api_read_requests_total") and 'kind="Secret"' in k)


def test_warn_goes_quiet_when_only_ignored_fields_moved(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    # A Secret in the chart: the stored manifest is then read from the history's Secret (a request).
    _start(cluster, namespace, "calm", {"mode": "warn", "ignore": [{"paths": ["/spec/replicas"]}]},
           {**WEB_TEMPLATES, "secret.yaml": SECRET})
    _after_a_pass(cluster, controller, lambda: cluster.apps.patch_namespaced_deployment_scale(
        "calm-web", namespace, {"spec": {"replicas": 3}}, field_manager="my-autoscaler"))
    nudge(cluster, controller, namespace, "calm", 1)
    reads = _secret_reads(controller)
    passes = controller.metrics().get(RECONCILES, 0)

    nudge(cluster, controller, namespace, "calm", 2)
    # The settled state was remembered: later passes read the chart's Secret object (Secrets are never cached)
    # but not the stored manifest's Secret again: at most one Secret read per pass.
    assert _secret_reads(controller) - reads <= controller.metrics().get(RECONCILES, 0) - passes
    condition = _drifted(cluster, namespace, "calm")
    assert condition is not None and (condition["status"], condition["reason"]) == ("False", "NoDrift")
    assert cluster.apps.read_namespaced_deployment("calm-web", namespace).spec.replicas == 3
    assert not [e for e in events_for(cluster, namespace, "calm") if e.reason == "Drifted"]
