"""Strategic merge patches with the API server's semantics for built-in kinds: containers, env, ports,
volumeMounts, volumes and Service ports merge by their merge keys; other lists are replaced; null deletes;
`$patch: delete | replace`, `$retainKeys` and `$deleteFromPrimitiveList` work; custom resources merge as a
JSON merge patch; the input is never changed; unsupported or malformed directives are errors."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from rudder.postrender.json6902 import PatchError
from rudder.postrender.strategic import strategic_merge

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web"}, "finalizers": ["a"]},
    "spec": {
        "replicas": 2,
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {"name": "web", "image": "web:1",
                     "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                     "ports": [{"containerPort": 8080, "name": "http"}],
                     "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                     "args": ["--one", "--two"]},
                    {"name": "sidecar", "image": "side:1"},
                ],
                "volumes": [{"name": "data", "emptyDir": {}}],
                "tolerations": [{"key": "x", "operator": "Exists"}],
            },
        },
    },
}


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def containers(**patch: Any) -> dict[str, Any]:
    return {"spec": {"template": {"spec": {"containers": [patch]}}}}


def test_a_container_merges_by_name_and_keeps_its_siblings() -> None:
    out = strategic_merge(DEPLOYMENT, containers(name="web", image="web:2"))
    web, sidecar = pod_spec(out)["containers"]
    assert web["image"] == "web:2"
    assert web["env"] == DEPLOYMENT["spec"]["template"]["spec"]["containers"][0]["env"]
    assert sidecar == {"name": "sidecar", "image": "side:1"}


def test_env_ports_and_volume_mounts_merge_by_their_keys_and_new_items_are_appended() -> None:
    out = strategic_merge(DEPLOYMENT, containers(
        name="web",
        env=[{"name": "B", "value": "changed"}, {"name": "C", "value": "3"}],
        ports=[{"containerPort": 8080, "protocol": "TCP"}, {"containerPort": 9090, "name": "metrics"}],
        volumeMounts=[{"mountPath": "/data", "readOnly": True}],
    ))
    web = pod_spec(out)["containers"][0]
    assert web["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "changed"}, {"name": "C", "value": "3"}]
    assert web["ports"] == [{"containerPort": 8080, "name": "http", "protocol": "TCP"},
                            {"containerPort": 9090, "name": "metrics"}]
    assert web["volumeMounts"] == [{"name": "data", "mountPath": "/data", "readOnly": True}]


def test_a_new_container_and_volume_are_appended() -> None:
    patch = {"spec": {"template": {"spec": {
        "containers": [{"name": "proxy", "image": "proxy:1"}],
        "volumes": [{"name": "cache", "emptyDir": {}}]}}}}
    out = strategic_merge(DEPLOYMENT, patch)
    assert [c["name"] for c in pod_spec(out)["containers"]] == ["web", "sidecar", "proxy"]
    assert [v["name"] for v in pod_spec(out)["volumes"]] == ["data", "cache"]


def test_lists_without_a_merge_key_are_replaced_whole() -> None:
    out = strategic_merge(DEPLOYMENT, {"spec": {"template": {"spec": {
        "tolerations": [{"key": "y", "operator": "Exists"}],
        "containers": [{"name": "web", "args": ["--three"]}]}}}})
    assert pod_spec(out)["tolerations"] == [{"key": "y", "operator": "Exists"}]
    assert pod_spec(out)["containers"][0]["args"] == ["--three"]


def test_patch_delete_removes_a_list_item_by_its_key_and_a_map() -> None:
    out = strategic_merge(DEPLOYMENT, {"spec": {
        "strategy": {"rollingUpdate": {"$patch": "delete"}},
        "template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"},
                                             {"name": "web", "env": [{"name": "A", "$patch": "delete"}]}]}}}})
    assert [c["name"] for c in pod_spec(out)["containers"]] == ["web"]
    assert pod_spec(out)["containers"][0]["env"] == [{"name": "B", "value": "2"}]
    assert out["spec"]["strategy"] == {"type": "RollingUpdate"}


def test_patch_replace_replaces_a_map_and_a_whole_list() -> None:
    out = strategic_merge(DEPLOYMENT, {"spec": {
        "strategy": {"$patch": "replace", "type": "Recreate"},
        "template": {"spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "only:1"}]}}}})
    assert out["spec"]["strategy"] == {"type": "Recreate"}
    assert pod_spec(out)["containers"] == [{"name": "only", "image": "only:1"}]


def test_null_deletes_a_key_and_retain_keys_drops_the_others() -> None:
    out = strategic_merge(DEPLOYMENT, {"spec": {
        "replicas": None,
        "strategy": {"$retainKeys": ["type"], "type": "Recreate"}}})
    assert "replicas" not in out["spec"]
    assert out["spec"]["strategy"] == {"type": "Recreate"}


def test_finalizers_merge_as_a_set_and_delete_from_primitive_list_removes_values() -> None:
    out = strategic_merge(DEPLOYMENT, {"metadata": {"finalizers": ["b", "a"]}})
    assert out["metadata"]["finalizers"] == ["a", "b"]
    out = strategic_merge(DEPLOYMENT, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}})
    assert out["metadata"]["finalizers"] == []


def test_service_ports_merge_by_port() -> None:
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"ports": [{"port": 80, "targetPort": 8080}]}}
    out = strategic_merge(service, {"spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443}]}})
    assert out["spec"]["ports"] == [{"port": 80, "targetPort": 8080, "name": "http"}, {"port": 443}]


def test_cronjob_pod_templates_are_reached_through_the_job_template() -> None:
    cron = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [
                {"name": "job", "image": "job:1"}, {"name": "other", "image": "o:1"}]}}}}}}
    out = strategic_merge(cron, {"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [
        {"name": "job", "image": "job:2"}]}}}}}})
    assert out["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"] == [
        {"name": "job", "image": "job:2"}, {"name": "other", "image": "o:1"}]


def test_custom_resources_merge_maps_and_replace_lists() -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
              "spec": {"items": [{"name": "a"}, {"name": "b"}], "size": {"w": 1, "h": 2}}}
    out = strategic_merge(widget, {"spec": {"items": [{"name": "c"}], "size": {"h": 3}}})
    assert out["spec"] == {"items": [{"name": "c"}], "size": {"w": 1, "h": 3}}


def test_the_input_is_never_changed() -> None:
    before = copy.deepcopy(DEPLOYMENT)
    strategic_merge(DEPLOYMENT, containers(name="web", env=[{"name": "A", "value": "x"}]))
    strategic_merge(DEPLOYMENT, {"spec": {"template": {"spec": {"containers": [{"name": "web", "$patch": "delete"}]}}}})
    assert before == DEPLOYMENT


@pytest.mark.parametrize(("patch", "message"), [
    (containers(image="x"), r"spec.template.spec.containers\[0\]: has no name \(the key this list merges on\)"),
    ({"spec": {"template": {"spec": {"containers": ["web"]}}}}, r"items of this list are objects merged by name"),
    ({"spec": {"$patch": "remove"}}, r"spec: \$patch must be merge, delete or replace"),
    ({"metadata": {"$setElementOrder/finalizers": ["a"]}}, r"directive \$setElementOrder is not supported"),
    ({"$patch": "delete"}, r"delete of the whole object is not supported"),
    ({"spec": {"strategy": {"$retainKeys": "type"}}}, r"\$retainKeys: must be a list of field names"),
    ({"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}}, r"must be a list of values to delete"),
])
def test_malformed_patches_name_the_field(patch: dict[str, Any], message: str) -> None:
    with pytest.raises(PatchError, match=message):
        strategic_merge(DEPLOYMENT, patch)
