"""The labels and annotations through which Rudder marks and steers the objects it manages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FIELD_MANAGER = "rudder"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "rudder"
RELEASE_LABEL = "rudder.dev/release"
REVISION_LABEL = "rudder.dev/revision"  # on ReleaseHistory objects
REVISION_ANNOTATION = "rudder.dev/revision"  # on managed objects
# On cluster-scoped objects (which have no ownerReference to the Release): the owning Release's namespace,
# so a same-named Release in another namespace does not own them (F12).
RELEASE_NAMESPACE_ANNOTATION = "rudder.dev/release-namespace"
KEEP_ANNOTATION = "rudder.dev/keep"
HELM_RESOURCE_POLICY_ANNOTATION = "helm.sh/resource-policy"
SUSPENDED_REPLICAS_ANNOTATION = "rudder.dev/suspended-replicas"


def metadata_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """`metadata` of an object, or an empty mapping when it is absent or malformed."""
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def labels_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    """The object's labels (empty when none)."""
    labels = metadata_of(obj).get("labels")
    return labels if isinstance(labels, Mapping) else {}


def annotations_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    """The object's annotations (empty when none)."""
    annotations = metadata_of(obj).get("annotations")
    return annotations if isinstance(annotations, Mapping) else {}


def is_kept(obj: Mapping[str, Any]) -> bool:
    """True when the object asks to survive prune and uninstall (`rudder.dev/keep: "true"` or Helm's
    `helm.sh/resource-policy: keep`)."""
    annotations = annotations_of(obj)
    keep = str(annotations.get(KEEP_ANNOTATION, "")).lower() == "true"
    return keep or str(annotations.get(HELM_RESOURCE_POLICY_ANNOTATION, "")).lower() == "keep"
