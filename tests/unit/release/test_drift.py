"""Drift detection for unchanged revisions: only fields the manifest sets are compared, server defaults and
canonicalised quantities are not drift, hand edits and deletions are, and fields now owned by controllers
such as the HPA are left alone."""

from __future__ import annotations

import copy
from typing import Any

from rudder.domain import drifted_fields, needs_apply

DESIRED: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {
        "replicas": 3,
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "web",
                        "image": "nginx:1.27",
                        "args": ["--a", "--b"],
                        "resources": {"requests": {"cpu": "0.5", "memory": "1024Mi"}},
                        "ports": [{"containerPort": 80}],
                    }
                ]
            }
        },
    },
}


def live_copy() -> dict[str, Any]:
    live = copy.deepcopy(DESIRED)
    live["metadata"].update({"uid": "u", "resourceVersion": "9", "labels": {"app": "web", "extra": "x"}})
    container = live["spec"]["template"]["spec"]["containers"][0]
    container.update({"terminationMessagePath": "/dev/termination-log", "imagePullPolicy": "IfNotPresent"})
    container["resources"]["requests"] = {"cpu": "500m", "memory": "1Gi"}
    container["ports"][0]["protocol"] = "TCP"
    live["status"] = {"replicas": 3}
    return live


def test_defaults_status_and_canonical_quantities_are_not_drift() -> None:
    assert drifted_fields(DESIRED, live_copy()) == ()
    assert not needs_apply(DESIRED, live_copy())


def test_missing_object_needs_apply() -> None:
    assert drifted_fields(DESIRED, None) == ("(missing)",)
    assert needs_apply(DESIRED, None)


def test_hand_edits_are_drift_with_their_paths() -> None:
    live = live_copy()
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:evil"
    live["metadata"]["labels"]["app"] = "changed"
    live["spec"]["template"]["spec"]["containers"][0]["args"] = ["--a", "--b", "--c"]
    assert set(drifted_fields(DESIRED, live)) == {
        "spec.template.spec.containers[0].image",
        "metadata.labels.app",
        "spec.template.spec.containers[0].args",
    }


def test_removed_fields_and_list_items_are_drift() -> None:
    live = live_copy()
    del live["metadata"]["labels"]["app"]
    live["spec"]["template"]["spec"]["containers"] = [{"name": "sidecar"}]
    assert set(drifted_fields(DESIRED, live)) == {"metadata.labels.app", "spec.template.spec.containers.web"}


def test_replicas_owned_by_the_hpa_are_left_alone_but_hand_scaling_is_drift() -> None:
    live = live_copy()
    live["spec"]["replicas"] = 7
    live["metadata"]["managedFields"] = [
        {"manager": "rudder", "operation": "Apply", "fieldsV1": {"f:spec": {"f:template": {}}}},
        {
            "manager": "kube-controller-manager",
            "operation": "Update",
            "subresource": "scale",
            "fieldsV1": {"f:spec": {"f:replicas": {}}},
        },
    ]
    assert drifted_fields(DESIRED, live) == ()
    live["metadata"]["managedFields"][1]["manager"] = "kubectl-edit"
    assert drifted_fields(DESIRED, live) == ("spec.replicas",)


def test_type_changes_are_drift_but_equal_numbers_are_not() -> None:
    desired = {"kind": "ConfigMap", "data": {"port": "80"}, "spec": {"n": 1}}
    assert drifted_fields(desired, {"kind": "ConfigMap", "data": {"port": "8080"}, "spec": {"n": 1}}) == (
        "data.port",
    )
    assert drifted_fields(desired, {"kind": "ConfigMap", "data": {"port": "80"}, "spec": {"n": 1.0}}) == ()
    assert drifted_fields({"spec": {"flag": True}}, {"spec": {"flag": "true"}}) == ("spec.flag",)


def test_empty_desired_values_absent_live_are_not_drift() -> None:
    assert drifted_fields({"spec": {"selector": {}, "x": None, "l": []}}, {"spec": {}}) == ()
