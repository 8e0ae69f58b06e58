"""Validation of rendered objects before any write: one bad object fails the whole revision."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rudder.domain.labels import metadata_of
from rudder.domain.objects import ref_of
from rudder.render.engine import RenderedObject

# (apiVersion, kind) -> True when namespaced, False when cluster-scoped, None when discovery does not know it.
ScopeLookup = Callable[[str, str], bool | None]

_CLUSTER_SCOPED_BUILTINS = frozenset({
    "APIService", "CertificateSigningRequest", "ClusterRole", "ClusterRoleBinding", "ComponentStatus",
    "CSIDriver", "CSINode", "CustomResourceDefinition", "FlowSchema", "IngressClass",
    "MutatingWebhookConfiguration", "Namespace", "Node", "PersistentVolume", "PriorityClass",
    "PriorityLevelConfiguration", "RuntimeClass", "StorageClass", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding", "ValidatingWebhookConfiguration", "VolumeAttachment",
})


def builtin_scope(api_version: str, kind: str) -> bool | None:
    """Scope of the built-in kinds without asking discovery; None for kinds it does not know (CRDs)."""
    group = api_version.rpartition("/")[0]
    if "." in group and not group.endswith(".k8s.io"):
        return None
    return kind not in _CLUSTER_SCOPED_BUILTINS


@dataclass(frozen=True)
class ObjectProblem:
    """Why one rendered object cannot be applied; names the template file and the object."""

    template: str
    object: str
    message: str

    def __str__(self) -> str:
        return f"{self.template}: {self.object}: {self.message}"


def _describe(item: RenderedObject) -> str:
    ref = ref_of(item.body)
    if ref.kind and ref.name:
        return str(ref)
    return f"document {item.index + 1}"


def _allowed_cluster_kind(api_version: str, kind: str, allowed: Collection[str]) -> bool:
    group = api_version.rpartition("/")[0]
    return kind in allowed or (bool(group) and f"{kind}.{group}" in allowed)


def _shape_problems(body: Mapping[str, Any]) -> list[str]:
    problems = []
    for field_name in ("apiVersion", "kind"):
        value = body.get(field_name)
        if not isinstance(value, str) or not value:
            problems.append(f"{field_name} is required")
    meta = body.get("metadata")
    if not isinstance(meta, Mapping):
        problems.append("metadata is required")
    else:
        name = meta.get("name")
        if not isinstance(name, str) or not name:
            problems.append("metadata.name is required")
        elif len(name) > 253:
            problems.append("metadata.name is longer than 253 characters")
    if body.get("kind") == "List" or (str(body.get("kind", "")).endswith("List") and "items" in body):
        problems.append("List objects are not supported; render each item as its own document")
    return problems


def validate_objects(
    objects: Sequence[RenderedObject],
    namespace: str,
    scope_of: ScopeLookup = builtin_scope,
    allowed_cluster_kinds: Collection[str] = (),
) -> tuple[ObjectProblem, ...]:
    """Every problem of the rendered objects; empty means the revision may be applied.

    Checks: apiVersion, kind and metadata.name are present; a namespaced object's namespace is absent or the
    Release's; a cluster-scoped kind is in `allowed_cluster_kinds` (entries `Kind` or `Kind.group`); no two
    objects share group, kind and name. Kinds `scope_of` does not know are taken as namespaced (the
    server-side dry-run then reports a missing CRD).
    """
    problems: list[ObjectProblem] = []
    seen: dict[tuple[str, str, str | None, str], RenderedObject] = {}
    for item in objects:
        describe = _describe(item)
        shape = _shape_problems(item.body)
        if shape:
            problems.extend(ObjectProblem(item.template, describe, message) for message in shape)
            continue
        ref = ref_of(item.body)
        namespaced = scope_of(ref.api_version, ref.kind)
        if namespaced is False:
            if not _allowed_cluster_kind(ref.api_version, ref.kind, allowed_cluster_kinds):
                problems.append(ObjectProblem(
                    item.template, describe,
                    f"cluster-scoped kind {ref.kind} is not allowed (the controller's allow-list is "
                    f"{', '.join(sorted(allowed_cluster_kinds)) or 'empty'})",
                ))
        else:
            object_namespace = metadata_of(item.body).get("namespace")
            if object_namespace not in (None, "", namespace):
                problems.append(ObjectProblem(
                    item.template, describe,
                    f"namespace {object_namespace!r} is not the Release's namespace {namespace!r}",
                ))
        key = (ref.group, ref.kind, None, ref.name)
        first = seen.get(key)
        if first is not None:
            problems.append(ObjectProblem(
                item.template, describe, f"duplicate of the object rendered by {first.origin}"
            ))
        else:
            seen[key] = item
    return tuple(problems)
