"""Install order (definitions, identity and config before the workloads that use them) and its reverse for
deletion."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from rudder.models import ObjectRef

# Earlier kinds are applied first. CRDs lead so that custom resources of the same chart can be created;
# identity, config and storage come before Services and workloads; autoscalers and ingress follow the
# workloads they point at. Kinds not listed go last, in template order.
INSTALL_ORDER: tuple[str, ...] = (
    "CustomResourceDefinition",
    "PriorityClass",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "StatefulSet",
    "HorizontalPodAutoscaler",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
)
_RANK = {kind: rank for rank, kind in enumerate(INSTALL_ORDER)}

T = TypeVar("T")


def kind_rank(kind: str) -> int:
    """Position of a kind in the install order; unknown kinds rank after all known ones."""
    return _RANK.get(kind, len(INSTALL_ORDER))


def install_order(items: Iterable[T], kind_of: Callable[[T], str]) -> list[T]:
    """`items` sorted for applying; stable, so equal kinds keep their template order."""
    return sorted(items, key=lambda item: kind_rank(kind_of(item)))


def deletion_order(items: Iterable[T], kind_of: Callable[[T], str]) -> list[T]:
    """The exact reverse of `install_order`: workloads go before the config and identity they use."""
    return list(reversed(install_order(items, kind_of)))


def order_objects(objects: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Objects (plain mappings) in install order."""
    return install_order(objects, lambda obj: str(obj.get("kind", "")))


def order_refs_for_deletion(refs: Iterable[ObjectRef]) -> list[ObjectRef]:
    """Refs in deletion order."""
    return deletion_order(refs, lambda ref: ref.kind)
