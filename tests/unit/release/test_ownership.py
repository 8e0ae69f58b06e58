"""Marking objects as the Release's (labels, revision annotation, ownerReference, namespace) and the rules
for taking over existing objects: never another Release's, never an unlabelled stranger's."""

from __future__ import annotations

from rudder.domain import (
    KEEP_ANNOTATION,
    MANAGED_BY_LABEL,
    RELEASE_LABEL,
    REVISION_ANNOTATION,
    OwnershipVerdict,
    ReleaseIdentity,
    check_ownership,
    decorate,
    orphan_patch,
)

from .conftest import OWNER, obj

MINE = {MANAGED_BY_LABEL: "rudder", RELEASE_LABEL: "shop"}


def test_decorate_adds_labels_annotation_namespace_and_owner() -> None:
    original = obj("ConfigMap", "cfg", labels={"app": "shop"}, data={"a": "1"})
    body = decorate(original, OWNER, 4)
    meta = body["metadata"]
    assert meta["labels"] == {"app": "shop", MANAGED_BY_LABEL: "rudder", RELEASE_LABEL: "shop"}
    assert meta["annotations"] == {REVISION_ANNOTATION: "4"}
    assert meta["namespace"] == "prod"
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "rudder.dev/v1alpha1",
            "kind": "Release",
            "name": "shop",
            "uid": "uid-shop",
            "controller": True,
        }
    ]
    assert "annotations" not in original["metadata"], "the input is not modified"


def test_decorate_is_idempotent_and_keeps_foreign_owners() -> None:
    foreign = {"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "u", "controller": True}
    once = decorate(obj("Secret", "s", ownerReferences=[foreign]), OWNER, 1)
    twice = decorate(once, OWNER, 1)
    assert twice == once
    refs = twice["metadata"]["ownerReferences"]
    assert refs[0] == foreign
    assert refs[1]["controller"] is False, "only one controller reference is allowed"


def test_cluster_scoped_objects_get_no_owner_and_no_namespace() -> None:
    body = decorate(obj("ClusterRole", "r", namespace="oops"), OWNER, 2, namespaced=False)
    assert "ownerReferences" not in body["metadata"]
    assert "namespace" not in body["metadata"]
    assert body["metadata"]["labels"][RELEASE_LABEL] == "shop"


def test_kept_objects_are_not_owned_so_garbage_collection_spares_them() -> None:
    body = decorate(obj("PersistentVolumeClaim", "data", annotations={KEEP_ANNOTATION: "true"}), OWNER, 1)
    assert "ownerReferences" not in body["metadata"]
    assert body["metadata"]["annotations"][KEEP_ANNOTATION] == "true"


def test_absent_object_may_be_created() -> None:
    assert check_ownership(None, OWNER).verdict is OwnershipVerdict.ABSENT
    assert check_ownership(None, OWNER).may_write


def test_own_object_may_be_updated() -> None:
    live = decorate(obj("Service", "web"), OWNER, 1)
    assert check_ownership(live, OWNER).verdict is OwnershipVerdict.OWNED
    assert check_ownership(obj("Service", "web", labels=MINE), OWNER).may_write


def test_another_releases_object_is_a_conflict() -> None:
    theirs = obj("Service", "web", labels={MANAGED_BY_LABEL: "rudder", RELEASE_LABEL: "blog"})
    ownership = check_ownership(theirs, OWNER)
    assert ownership.verdict is OwnershipVerdict.CONFLICT
    assert not ownership.may_write
    assert ownership.message == "Service/web belongs to Release blog"


def test_owner_reference_to_another_release_instance_is_a_conflict() -> None:
    stale = decorate(obj("Service", "web"), ReleaseIdentity("shop", "prod", "old-uid"), 1)
    ownership = check_ownership(stale, OWNER)
    assert ownership.verdict is OwnershipVerdict.CONFLICT
    assert "earlier Release of the same name" in ownership.message


def test_unlabelled_or_helm_object_is_a_conflict_with_adoption_hint() -> None:
    for live in (obj("Service", "web"), obj("Service", "web", labels={MANAGED_BY_LABEL: "Helm"})):
        ownership = check_ownership(live, OWNER)
        assert ownership.verdict is OwnershipVerdict.CONFLICT
        assert "not managed by this Release" in ownership.message
        assert f"{RELEASE_LABEL}=shop" in ownership.message


def test_orphan_patch_removes_only_our_owner_reference() -> None:
    foreign = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d", "uid": "d-uid"}
    live = decorate(obj("ConfigMap", "c", ownerReferences=[foreign]), OWNER, 1)
    live["metadata"]["resourceVersion"] = "42"
    assert orphan_patch(live, OWNER) == {"metadata": {"ownerReferences": [foreign], "resourceVersion": "42"}}
    alone = decorate(obj("ConfigMap", "c"), OWNER, 1)
    assert orphan_patch(alone, OWNER) == {"metadata": {"ownerReferences": None}}
    assert orphan_patch(obj("ConfigMap", "c"), OWNER) is None
