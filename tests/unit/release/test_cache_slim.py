"""What the watch caches keep of an object: managedFields only on objects Rudder applied (its own entry for the
fieldset digest, other managers' entries for drift, the HPA's `scale` entry included), never `status` entries,
and nothing of an object Rudder never applied (a Pod, a ReplicaSet); the rest of the object is untouched, and
the store keeps the slim form whether the object came from a list, a watch event or one of its own writes."""

from __future__ import annotations

from typing import Any

from rudder.kube.applier import fieldset_digest
from rudder.kube.informer import KindStore
from rudder.kube.slim import slim


def entry(manager: str, operation: str = "Update", subresource: str | None = None,
          fields: dict[str, Any] | None = None) -> dict[str, Any]:
    e: dict[str, Any] = {"manager": manager, "operation": operation, "apiVersion": "apps/v1",
                         "fieldsType": "FieldsV1", "fieldsV1": fields or {"f:spec": {"f:replicas": {}}}}
    if subresource:
        e["subresource"] = subresource
    return e


def deployment(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns", "resourceVersion": "5", "uid": "u",
                         "labels": {"app": "web"}, "managedFields": list(entries)},
            "spec": {"replicas": 3}, "status": {"readyReplicas": 3}}


def test_an_object_rudder_applied_keeps_its_entries_but_the_status_ones() -> None:
    ours = entry("rudder", "Apply", fields={"f:spec": {"f:template": {}}})
    hpa = entry("horizontal-pod-autoscaler", subresource="scale")
    manual = entry("kubectl-edit")
    status = entry("kube-controller-manager", subresource="status", fields={"f:status": {}})
    original = deployment(ours, hpa, manual, status)
    kept = slim(original)
    assert kept["metadata"]["managedFields"] == [ours, hpa, manual]
    assert {k: v for k, v in kept.items() if k != "metadata"} == {k: v for k, v in original.items() if k != "metadata"}
    assert {k: v for k, v in kept["metadata"].items() if k != "managedFields"} == \
        {k: v for k, v in original["metadata"].items() if k != "managedFields"}
    assert fieldset_digest(kept) == fieldset_digest(original), "the drift digest reads the same"
    assert original["metadata"]["managedFields"][-1] is status, "the input is never changed in place"


def test_an_object_rudder_never_applied_keeps_none() -> None:
    pod = deployment(entry("kube-controller-manager"), entry("kwok-controller", subresource="status"))
    assert "managedFields" not in slim(pod)["metadata"]
    assert slim(pod)["spec"] == pod["spec"]


def test_nothing_to_drop_gives_the_same_object() -> None:
    bare = deployment()
    assert slim(bare) is bare
    applied = deployment(entry("rudder", "Apply"))
    assert slim(applied) is applied


def test_the_store_keeps_the_slim_form_from_lists_events_and_writes() -> None:
    store = KindStore("apps/v1", "Deployment")
    noisy = deployment(entry("kube-controller-manager"))
    store.replace(None, [noisy], notify=False)
    assert "managedFields" not in store.objects[("ns", "web")]["metadata"]
    event = deployment(entry("rudder", "Apply"), entry("kube-controller-manager", subresource="status"))
    event["metadata"]["resourceVersion"] = "6"
    assert store.apply("MODIFIED", event)
    assert [e["manager"] for e in store.objects[("ns", "web")]["metadata"]["managedFields"]] == ["rudder"]
