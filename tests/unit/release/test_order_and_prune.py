"""Install order (config and storage before workloads, unknown kinds last, stable), its reverse for
deletion, and the prune plan from the stored inventory with keep annotations honoured."""

from __future__ import annotations

from rudder.domain import (
    KEEP_ANNOTATION,
    inventory_of,
    order_objects,
    plan_prune,
    plan_uninstall,
    stale_refs,
)
from rudder.domain.order import deletion_order, install_order
from rudder.models import ObjectRef

from .conftest import obj


def ref(kind: str, name: str, api_version: str = "v1") -> ObjectRef:
    return ObjectRef(api_version, kind, name)


def test_install_order_puts_config_and_storage_before_workloads() -> None:
    objects = [
        obj("Ingress", "i", "networking.k8s.io/v1"),
        obj("HorizontalPodAutoscaler", "h", "autoscaling/v2"),
        obj("Deployment", "d", "apps/v1"),
        obj("Widget", "w", "example.com/v1"),
        obj("Service", "s"),
        obj("PersistentVolumeClaim", "p"),
        obj("ConfigMap", "c"),
        obj("Secret", "x"),
        obj("ServiceAccount", "sa"),
        obj("CustomResourceDefinition", "crd", "apiextensions.k8s.io/v1"),
        obj("RoleBinding", "rb", "rbac.authorization.k8s.io/v1"),
        obj("Role", "r", "rbac.authorization.k8s.io/v1"),
    ]
    kinds = [o["kind"] for o in order_objects(objects)]
    assert kinds == [
        "CustomResourceDefinition",
        "ServiceAccount",
        "Secret",
        "ConfigMap",
        "PersistentVolumeClaim",
        "Role",
        "RoleBinding",
        "Service",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Ingress",
        "Widget",
    ]


def test_order_is_stable_within_a_kind_and_deletion_is_the_reverse() -> None:
    refs = [ref("ConfigMap", "b"), ref("Deployment", "d", "apps/v1"), ref("ConfigMap", "a")]
    installed = install_order(refs, lambda r: r.kind)
    assert [r.name for r in installed] == ["b", "a", "d"]
    assert deletion_order(refs, lambda r: r.kind) == list(reversed(installed))


def test_inventory_has_no_namespaces() -> None:
    assert inventory_of([obj("Service", "s", namespace="prod")]) == (ref("Service", "s"),)


def test_stale_refs_ignore_version_changes() -> None:
    previous = [ref("Deployment", "web", "apps/v1beta2"), ref("ConfigMap", "old"), ref("Service", "web")]
    desired = [ref("Deployment", "web", "apps/v1"), ref("Service", "web")]
    assert stale_refs(previous, desired) == (ref("ConfigMap", "old"),)


def test_prune_deletes_what_is_gone_in_deletion_order() -> None:
    previous = [ref("ConfigMap", "cfg"), ref("Deployment", "worker", "apps/v1"), ref("Service", "web")]
    plan = plan_prune(previous, [ref("Service", "web")])
    assert plan.delete == (ref("Deployment", "worker", "apps/v1"), ref("ConfigMap", "cfg"))
    assert plan.keep == ()


def test_keep_annotation_on_previous_or_live_object_spares_it() -> None:
    previous = [ref("PersistentVolumeClaim", "data"), ref("ConfigMap", "cfg"), ref("Secret", "tls")]
    plan = plan_prune(
        previous,
        [],
        previous_objects=[obj("PersistentVolumeClaim", "data", annotations={KEEP_ANNOTATION: "true"})],
        live_objects=[obj("Secret", "tls", annotations={"helm.sh/resource-policy": "keep"})],
    )
    assert plan.delete == (ref("ConfigMap", "cfg"),)
    assert set(plan.keep) == {ref("PersistentVolumeClaim", "data"), ref("Secret", "tls")}


def test_keep_false_does_not_keep() -> None:
    plan = plan_prune(
        [ref("ConfigMap", "c")], [], live_objects=[obj("ConfigMap", "c", annotations={KEEP_ANNOTATION: "no"})]
    )
    assert plan.delete == (ref("ConfigMap", "c"),)


def test_objects_labelled_by_hand_but_not_in_the_inventory_are_never_pruned() -> None:
    stranger = obj("ConfigMap", "hand-made", labels={"rudder.dev/release": "shop"})
    plan = plan_prune([ref("ConfigMap", "cfg")], [ref("ConfigMap", "cfg")], live_objects=[stranger])
    assert plan.delete == ()


def test_uninstall_deletes_everything_but_kept_objects_once_each() -> None:
    inventory = [ref("Service", "web"), ref("PersistentVolumeClaim", "data"), ref("Service", "web")]
    plan = plan_uninstall(
        inventory,
        current_objects=[obj("PersistentVolumeClaim", "data", annotations={KEEP_ANNOTATION: "True"})],
    )
    assert plan.delete == (ref("Service", "web"),)
    assert plan.keep == (ref("PersistentVolumeClaim", "data"),)
