"""Validation of rendered objects before any write: one bad object fails the whole revision."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rudder.domain.labels import metadata_of
from rudder.domain.names import dns1123_label_problem, object_name_problem, shown
from rudder.domain.objects import ref_of
from rudder.render.engine import RenderedObject

# (apiVersion, kind) -> True when namespaced, False when cluster-scoped, None when discovery does not know it.
ScopeLookup = Callable[[str, str], bool | None]

# Kinds of the API groups Kubernetes itself serves: (group, kind) -> namespaced. Offline rendering and the
# controller both read scope from here first, so `rudder template` and the controller agree on these kinds.
_NAMESPACED, _CLUSTER = True, False
_BUILTIN_KINDS: dict[tuple[str, str], bool] = {
    **{("", k): _NAMESPACED for k in (
        "Binding", "ConfigMap", "Endpoints", "Event", "LimitRange", "PersistentVolumeClaim", "Pod", "PodTemplate",
        "ReplicationController", "ResourceQuota", "Secret", "Service", "ServiceAccount")},
    **{("", k): _CLUSTER for k in ("ComponentStatus", "Namespace", "Node", "PersistentVolume")},
    **{("apps", k): _NAMESPACED for k in (
        "ControllerRevision", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet")},
    **{("batch", k): _NAMESPACED for k in ("CronJob", "Job")},
    ("autoscaling", "HorizontalPodAutoscaler"): _NAMESPACED,
    ("policy", "PodDisruptionBudget"): _NAMESPACED,
    **{("admissionregistration.k8s.io", k): _CLUSTER for k in (
        "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding")},
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _CLUSTER,
    ("apiregistration.k8s.io", "APIService"): _CLUSTER,
    **{("authentication.k8s.io", k): _CLUSTER for k in ("TokenReview", "SelfSubjectReview")},
    **{("authorization.k8s.io", k): _CLUSTER for k in (
        "SubjectAccessReview", "SelfSubjectAccessReview", "SelfSubjectRulesReview")},
    ("authorization.k8s.io", "LocalSubjectAccessReview"): _NAMESPACED,
    **{("certificates.k8s.io", k): _CLUSTER for k in ("CertificateSigningRequest", "ClusterTrustBundle")},
    ("certificates.k8s.io", "PodCertificateRequest"): _NAMESPACED,
    **{("coordination.k8s.io", k): _NAMESPACED for k in ("Lease", "LeaseCandidate")},
    ("discovery.k8s.io", "EndpointSlice"): _NAMESPACED,
    ("events.k8s.io", "Event"): _NAMESPACED,
    **{("flowcontrol.apiserver.k8s.io", k): _CLUSTER for k in ("FlowSchema", "PriorityLevelConfiguration")},
    ("internal.apiserver.k8s.io", "StorageVersion"): _CLUSTER,
    **{("networking.k8s.io", k): _NAMESPACED for k in ("Ingress", "NetworkPolicy")},
    **{("networking.k8s.io", k): _CLUSTER for k in ("IngressClass", "IPAddress", "ServiceCIDR")},
    ("node.k8s.io", "RuntimeClass"): _CLUSTER,
    **{("rbac.authorization.k8s.io", k): _CLUSTER for k in ("ClusterRole", "ClusterRoleBinding")},
    **{("rbac.authorization.k8s.io", k): _NAMESPACED for k in ("Role", "RoleBinding")},
    **{("resource.k8s.io", k): _CLUSTER for k in ("DeviceClass", "ResourceSlice", "DeviceTaintRule")},
    **{("resource.k8s.io", k): _NAMESPACED for k in ("ResourceClaim", "ResourceClaimTemplate")},
    ("scheduling.k8s.io", "PriorityClass"): _CLUSTER,
    **{("storage.k8s.io", k): _CLUSTER for k in (
        "CSIDriver", "CSINode", "StorageClass", "VolumeAttachment", "VolumeAttributesClass")},
    ("storage.k8s.io", "CSIStorageCapacity"): _NAMESPACED,
    ("storagemigration.k8s.io", "StorageVersionMigration"): _CLUSTER,
    # Well-known SIG custom resources in *.k8s.io groups (served only when their CRDs are installed).
    ("gateway.networking.k8s.io", "GatewayClass"): _CLUSTER,
    **{("gateway.networking.k8s.io", k): _NAMESPACED for k in (
        "Gateway", "HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute", "UDPRoute", "ReferenceGrant",
        "BackendTLSPolicy")},
    ("snapshot.storage.k8s.io", "VolumeSnapshot"): _NAMESPACED,
    **{("snapshot.storage.k8s.io", k): _CLUSTER for k in ("VolumeSnapshotClass", "VolumeSnapshotContent")},
    **{("policy.networking.k8s.io", k): _CLUSTER for k in ("AdminNetworkPolicy", "BaselineAdminNetworkPolicy")},
    ("metrics.k8s.io", "NodeMetrics"): _CLUSTER,
    ("metrics.k8s.io", "PodMetrics"): _NAMESPACED,
}
# Groups Kubernetes serves itself: a kind not in the table above is not a kind there (e.g. `configmap`).
_BUILTIN_GROUPS = frozenset(
    group for group, _ in _BUILTIN_KINDS
    if group not in {"gateway.networking.k8s.io", "snapshot.storage.k8s.io", "policy.networking.k8s.io",
                     "metrics.k8s.io"}
)
_KIND = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def builtin_scope(api_version: str, kind: str) -> bool | None:
    """Scope of a well-known kind without asking discovery; None for kinds it does not know (CRDs)."""
    return _BUILTIN_KINDS.get((api_version.rpartition("/")[0], kind))


def object_scope(api_version: str, kind: str, scope_of: ScopeLookup) -> bool | None:
    """The scope validation and decoration use: the built-in table first, then `scope_of` (discovery in the
    controller, `builtin_scope` offline), so both agree on every kind of the table."""
    known = builtin_scope(api_version, kind)
    return known if known is not None else scope_of(api_version, kind)


def kind_problem(api_version: str, kind: str) -> str | None:
    """Why `kind` cannot be a kind of `api_version`, or None: kinds are CamelCase (the API server matches
    them case-sensitively) and a built-in group has only its own kinds."""
    group = api_version.rpartition("/")[0]
    if not _KIND.match(kind):
        suggestion = next((k for g, k in _BUILTIN_KINDS if g == group and k.lower() == kind.lower()), None)
        hint = f" (did you mean {suggestion}?)" if suggestion else ""
        return f"kind {shown(kind)} is not a kind: kinds start with an upper-case letter{hint}"
    if group in _BUILTIN_GROUPS and (group, kind) not in _BUILTIN_KINDS:
        return f"kind {kind} does not exist in API group {group or 'core'} ({api_version})"
    return None


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
    if not (ref.kind and isinstance(metadata_of(item.body).get("name"), str) and ref.name):
        return f"document {item.index + 1}"
    if object_name_problem(ref.group, ref.kind, ref.name) is None:
        return str(ref)
    # A bad name is shown once, escaped and cut, in the problem itself.
    kind = ref.kind if kind_problem(ref.api_version, ref.kind) is None else shown(ref.kind)
    return f"document {item.index + 1} ({kind})"


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
        if name is not None and not isinstance(name, str):
            problems.append(f"metadata.name must be a string, not {type(name).__name__}")
        elif not name:
            problems.append("metadata.name is required")
        namespace = meta.get("namespace")
        if namespace not in (None, ""):
            problem = dns1123_label_problem(namespace) if isinstance(namespace, str) else "must be a string"
            if problem:
                problems.append(f"metadata.namespace {shown(str(namespace))} {problem}")
    if body.get("kind") == "List" or (str(body.get("kind", "")).endswith("List") and "items" in body):
        problems.append("List objects are not supported; render each item as its own document")
    return problems


def identity_problems(api_version: str, kind: str, name: str) -> list[str]:
    """Problems of an object's kind and name, as a rendered or a stored object must pass them before any
    request names it in a URL (the field is named: `kind`, `metadata.name`)."""
    problems = []
    bad_kind = kind_problem(api_version, kind)
    if bad_kind:
        problems.append(bad_kind)
    bad_name = object_name_problem(api_version.rpartition("/")[0], kind, name)
    if bad_name:
        problems.append(f"metadata.name {shown(name)} {bad_name}")
    return problems


def validate_objects(
    objects: Sequence[RenderedObject],
    namespace: str,
    scope_of: ScopeLookup = builtin_scope,
    allowed_cluster_kinds: Collection[str] = (),
) -> tuple[ObjectProblem, ...]:
    """Every problem of the rendered objects; empty means the revision may be applied.

    Checks: apiVersion, kind and metadata.name are present; the kind is CamelCase and exists when its group
    is built in (`kind_problem`); the name passes the API server's rule for its kind (`object_name_problem`:
    no `/`, `..`, `?` or upper case can reach a URL); a namespaced object's namespace is absent or the
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
        identity = identity_problems(ref.api_version, ref.kind, ref.name)
        if identity:
            problems.extend(ObjectProblem(item.template, describe, message) for message in identity)
            continue
        namespaced = object_scope(ref.api_version, ref.kind, scope_of)
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
