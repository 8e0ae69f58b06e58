"""Drift policy (`spec.drift`): parsing names every bad field; ignore rules select objects by
group/version/kind/name/label selector and fields by JSON pointer; ignored fields are not drift and, once
another field manager owns them, are left out of what Rudder applies; the Drifted condition per mode; when a
drift-free state may be remembered without applying."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from rudder.domain.drift_policy import (
    DriftReport,
    ObjectDrift,
    drift_status,
    find_drift,
    managed_by_others,
    object_drift,
    pointer_tokens,
    settled,
    strip_ignored,
    target_matches,
)
from rudder.drift_spec import ConflictPolicy, DriftMode, DriftSpec, IgnoreRule, IgnoreTarget
from rudder.models import ObjectRef, SpecError, parse_release_spec

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DESIRED: dict[str, Any] = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "ns", "labels": {"app": "web"},
                 "annotations": {"team": "a"}},
    "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1"}]}}},
}


def _managed(manager: str, fields: dict[str, Any], subresource: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"manager": manager, "operation": "Update", "fieldsV1": fields}
    if subresource:
        entry["subresource"] = subresource
    return entry


def _live(replicas: int = 2, image: str = "nginx:1", managers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    live = copy.deepcopy(DESIRED)
    live["spec"]["replicas"] = replicas
    live["spec"]["template"]["spec"]["containers"][0]["image"] = image
    live["metadata"]["managedFields"] = [
        {"manager": "rudder", "operation": "Apply", "fieldsV1": {"f:spec": {"f:template": {}}}},
        *(managers or []),
    ]
    return live


REPLICAS = IgnoreRule(paths=("/spec/replicas",), target=IgnoreTarget(kind="Deployment"))
SCALER = _managed("my-autoscaler", {"f:spec": {"f:replicas": {}}}, subresource="scale")


def _parse(drift: Any) -> DriftSpec:
    return parse_release_spec({"chart": {"templates": {}}, "drift": drift}).drift


def test_default_is_todays_behaviour() -> None:
    assert parse_release_spec({"chart": {"templates": {}}}).drift == DriftSpec(
        DriftMode.ENABLED, (), ConflictPolicy.FORCE)


def test_a_full_policy_parses() -> None:
    spec = _parse({"mode": "warn", "conflicts": "report", "ignore": [
        {"paths": ["/spec/replicas", "/metadata/annotations/a~1b"],
         "target": {"group": "apps", "kind": "Deployment", "labelSelector": "app in (web,api)"}}]})
    assert spec.mode is DriftMode.WARN and spec.conflicts is ConflictPolicy.REPORT
    assert spec.ignore[0].paths == ("/spec/replicas", "/metadata/annotations/a~1b")
    assert spec.ignore[0].target == IgnoreTarget(group="apps", kind="Deployment", label_selector="app in (web,api)")


@pytest.mark.parametrize(("drift", "field"), [
    ({"mode": "sometimes"}, "spec.drift.mode: must be one of enabled, warn, disabled"),
    ({"conflicts": "yes"}, "spec.drift.conflicts: must be one of force, report"),
    ({"ignore": [{"paths": ["spec/replicas"]}]}, "spec.drift.ignore[0].paths[0]: must be a JSON pointer"),
    ({"ignore": [{"paths": ["/a~2"]}]}, "spec.drift.ignore[0].paths[0]: '/a~2': '~' must be escaped"),
    ({"ignore": [{"paths": []}]}, "spec.drift.ignore[0].paths: must be a non-empty list"),
    ({"ignore": [{"paths": ["/x"], "target": {"labelSelector": "a in ()"}}]},
     "spec.drift.ignore[0].target.labelSelector:"),
    ({"ignore": [{"paths": ["/x"], "target": {"kind": 3}}]}, "spec.drift.ignore[0].target.kind: must be a string"),
    ({"ignore": {"paths": ["/x"]}}, "spec.drift.ignore: must be a list"),
    ("warn", "spec.drift: must be a mapping"),
])
def test_bad_policies_name_the_field(drift: Any, field: str) -> None:
    with pytest.raises(SpecError) as err:
        _parse(drift)
    assert field in str(err.value)


def test_pointer_tokens_unescape() -> None:
    assert pointer_tokens("/metadata/annotations/a~1b~0c") == ("metadata", "annotations", "a/b~c")


@pytest.mark.parametrize(("target", "selected"), [
    (None, True),
    (IgnoreTarget(), True),
    (IgnoreTarget(group="apps", version="v1", kind="Deployment", name="web"), True),
    (IgnoreTarget(group=""), False),
    (IgnoreTarget(version="v2"), False),
    (IgnoreTarget(kind="StatefulSet"), False),
    (IgnoreTarget(name="other"), False),
    (IgnoreTarget(label_selector="app=web"), True),
    (IgnoreTarget(label_selector="app notin (web)"), False),
    (IgnoreTarget(label_selector="!app"), False),
])
def test_targets_select_by_each_field(target: IgnoreTarget | None, selected: bool) -> None:
    assert target_matches(target, DESIRED) is selected


def test_ignored_fields_are_not_drift_and_others_are() -> None:
    live = _live(replicas=5, image="nginx:evil")
    assert object_drift(DESIRED, live, ()) == ("spec.replicas", "spec.template.spec.containers[0].image")
    assert object_drift(DESIRED, live, (REPLICAS,)) == ("spec.template.spec.containers[0].image",)
    parent = IgnoreRule(paths=("/spec/template",))  # a pointer covers everything beneath it
    assert object_drift(DESIRED, live, (parent,)) == ("spec.replicas",)
    by_index = IgnoreRule(paths=("/spec/template/spec/containers/0/image",))
    assert object_drift(DESIRED, live, (by_index,)) == ("spec.replicas",)
    other_kind = IgnoreRule(paths=("/spec/replicas",), target=IgnoreTarget(kind="StatefulSet"))
    assert "spec.replicas" in object_drift(DESIRED, live, (other_kind,))


def test_a_deleted_object_is_drift_whatever_the_rules() -> None:
    assert object_drift(DESIRED, None, (REPLICAS,)) == ("(missing)",)


def test_find_drift_lists_only_drifted_objects() -> None:
    ref = ObjectRef("apps/v1", "Deployment", "web")
    gone = ObjectRef("v1", "ConfigMap", "cfg")
    desired = {("apps", "Deployment", "web"): DESIRED, ("", "ConfigMap", "cfg"): {"kind": "ConfigMap"}}
    assert find_drift({ref: _live(replicas=5), gone: None}, desired, (REPLICAS,)) == (
        ObjectDrift(gone, ("(missing)",)),)
    assert find_drift({ref: _live(replicas=5)}, desired, ()) == (ObjectDrift(ref, ("spec.replicas",)),)


def test_managed_by_others_reads_managed_fields() -> None:
    live = _live(replicas=5, managers=[SCALER])
    assert managed_by_others(live, ("spec", "replicas"))
    assert not managed_by_others(live, ("spec", "template"))
    assert not managed_by_others(_live(), ("spec", "replicas"))  # only Rudder's own entry
    sidecar = _managed("injector", {"f:spec": {"f:template": {"f:spec": {"f:containers": {
        'k:{"name":"web"}': {"f:env": {}}}}}}})
    live = _live(managers=[sidecar])
    assert managed_by_others(live, ("spec", "template", "spec", "containers", "0", "env"))
    assert managed_by_others(live, ("spec", "template", "spec", "containers", "0", "env", "3"))  # atomic parent
    assert not managed_by_others(live, ("spec", "template", "spec", "containers", "0", "image"))
    assert not managed_by_others(live, ("spec", "template", "spec", "containers", "7"))


def test_strip_leaves_out_ignored_fields_only_once_another_manager_owns_them() -> None:
    assert strip_ignored(DESIRED, _live(), (REPLICAS,)) is DESIRED  # Rudder alone: applied as the chart says
    assert strip_ignored(DESIRED, None, (REPLICAS,)) is DESIRED  # first install
    owned = _live(replicas=5, managers=[SCALER])
    stripped = strip_ignored(DESIRED, owned, (REPLICAS,))
    assert "replicas" not in stripped["spec"] and stripped["spec"]["template"] == DESIRED["spec"]["template"]
    assert DESIRED["spec"]["replicas"] == 2  # the revision's manifest is not touched
    assert strip_ignored(DESIRED, owned, ()) is DESIRED  # not ignored: forced back as before
    elsewhere = IgnoreRule(paths=("/spec/replicas",), target=IgnoreTarget(name="api"))
    assert strip_ignored(DESIRED, owned, (elsewhere,)) is DESIRED


def test_warn_reports_drift_then_its_end() -> None:
    drifted = (ObjectDrift(ObjectRef("v1", "ConfigMap", "cfg"), ("data.greeting",)),)
    status = drift_status(DriftReport(DriftMode.WARN, drifted), {}, NOW, 3)
    assert status is not None
    condition = status["conditions"][-1]
    assert condition["type"] == "Drifted" and condition["status"] == "True"
    assert condition["reason"] == "DriftDetected" and "ConfigMap/cfg: data.greeting" in condition["message"]
    assert status["drifted"] == [{"apiVersion": "v1", "kind": "ConfigMap", "name": "cfg", "fields": ["data.greeting"]}]
    ready = {"type": "Ready", "status": "True"}
    previous = {"conditions": [ready, condition], "drifted": status["drifted"]}
    assert drift_status(DriftReport(DriftMode.WARN, drifted), previous, NOW, 3) == status | {
        "conditions": [ready, condition]}
    cleared = drift_status(DriftReport(DriftMode.WARN), previous, NOW, 3)
    assert cleared is not None and cleared["drifted"] is None
    assert cleared["conditions"][0] == ready
    assert (cleared["conditions"][1]["status"], cleared["conditions"][1]["reason"]) == ("False", "NoDrift")


def test_enabled_says_nothing_until_something_was_repaired() -> None:
    assert drift_status(DriftReport(DriftMode.ENABLED), {}, NOW, 1) is None
    drifted = (ObjectDrift(ObjectRef("v1", "ConfigMap", "cfg"), ("data.greeting",)),)
    status = drift_status(DriftReport(DriftMode.ENABLED, drifted, repaired=True), {}, NOW, 1)
    assert status is not None and status["drifted"] is None
    assert status["conditions"][0]["reason"] == "DriftRepaired" and status["conditions"][0]["status"] == "False"
    conflict = drift_status(DriftReport(DriftMode.ENABLED, drifted, conflict="conflict with \"kubectl\""), {}, NOW, 1)
    assert conflict is not None and conflict["conditions"][0]["reason"] == "Conflict"
    assert conflict["conditions"][0]["status"] == "True" and 'conflict with "kubectl"' in \
        conflict["conditions"][0]["message"]


def test_disabled_removes_what_drift_said() -> None:
    ready = {"type": "Ready", "status": "True"}
    previous = {"conditions": [ready, {"type": "Drifted", "status": "True"}], "drifted": [{"kind": "ConfigMap"}]}
    assert drift_status(DriftReport(DriftMode.DISABLED), previous, NOW, 1) == {"conditions": [ready], "drifted": None}
    assert drift_status(DriftReport(DriftMode.DISABLED), {"conditions": [ready]}, NOW, 1) is None


def test_settled_only_without_drift_and_without_other_owners_of_chart_fields() -> None:
    controller = _managed("kube-controller-manager", {"f:metadata": {"f:annotations": {
        ".": {}, "f:deployment.kubernetes.io/revision": {}}}, "f:status": {"f:replicas": {}}})
    injector = _managed("injector", {"f:spec": {"f:template": {"f:spec": {"f:containers": {
        'k:{"name":"web"}': {".": {}, "f:env": {}}, 'k:{"name":"proxy"}': {".": {}, "f:image": {}}}}}}})
    assert settled(DESIRED, _live(managers=[controller, injector]), ())  # they own only what the chart leaves
    assert not settled(DESIRED, _live(image="nginx:evil"), ())  # drift
    assert not settled(DESIRED, None, ())
    same_value = _managed("kubectl-edit", {"f:spec": {"f:template": {"f:spec": {"f:containers": {
        'k:{"name":"web"}': {"f:image": {}}}}}}})
    assert not settled(DESIRED, _live(managers=[same_value]), ())  # a later edit would not move Rudder's fields
    assert not settled(DESIRED, _live(managers=[SCALER]), ())
    assert settled(DESIRED, _live(replicas=5, managers=[SCALER]), (REPLICAS,))  # ignored: not Rudder's concern


def test_strip_leaves_out_only_what_another_manager_owns_under_a_pointer() -> None:
    desired = copy.deepcopy(DESIRED)
    container = desired["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [{"name": "A", "value": "1"}]
    injector = _managed("injector", {"f:spec": {"f:template": {"f:spec": {"f:containers": {
        'k:{"name":"web"}': {".": {}, "f:env": {}}, 'k:{"name":"proxy"}': {".": {}, "f:image": {}}}}}}})
    live = _live(managers=[injector, SCALER])
    stripped = strip_ignored(desired, live, (IgnoreRule(paths=("/spec",)),))
    assert stripped["spec"]["template"]["spec"]["containers"] == [{"name": "web", "image": "nginx:1"}]
    assert "replicas" not in stripped["spec"]  # the scaler's field too, nothing else
    assert stripped["metadata"] == desired["metadata"]
    everything = strip_ignored(desired, live, (IgnoreRule(paths=("/metadata", "/kind")),))
    assert everything is desired  # nobody else owns a field the chart sets there
