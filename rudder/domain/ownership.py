"""Marking objects as the Release's (labels, revision annotation, ownerReference) and deciding whether an
existing object may be taken over."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rudder.domain.labels import (
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    RELEASE_LABEL,
    RELEASE_NAMESPACE_ANNOTATION,
    REVISION_ANNOTATION,
    annotations_of,
    is_kept,
    labels_of,
    metadata_of,
)
from rudder.domain.objects import ref_of
from rudder.models import API_GROUP, API_VERSION
from rudder.render.yamlio import to_plain


@dataclass(frozen=True)
class ReleaseIdentity:
    """The Release that owns objects: its name, namespace and uid (for ownerReferences)."""

    name: str
    namespace: str
    uid: str

    def owner_reference(self, controller: bool) -> dict[str, Any]:
        """An ownerReference to this Release.

        blockOwnerDeletion stays unset: with it the API server demands rights on releases/finalizers from
        whoever applies, which an impersonated ServiceAccount usually lacks.
        """
        return {"apiVersion": API_VERSION, "kind": "Release", "name": self.name, "uid": self.uid,
                "controller": controller}


def _is_release_owner(ref: Mapping[str, Any]) -> bool:
    return ref.get("kind") == "Release" and str(ref.get("apiVersion", "")).startswith(f"{API_GROUP}/")


def decorate(
    obj: Mapping[str, Any], owner: ReleaseIdentity, revision: int, *, namespaced: bool = True
) -> dict[str, Any]:
    """A copy of a rendered object marked as the Release's at `revision`.

    Adds the managed-by and release labels and the revision annotation; a namespaced object gets the
    Release's namespace and an ownerReference to the Release. Cluster-scoped objects get no ownerReference
    (a namespaced owner is invalid for them) but the Release's namespace as an annotation; neither do objects
    annotated to be kept, so that garbage collection of the Release never takes them.
    """
    body: dict[str, Any] = to_plain(obj)
    meta = body.setdefault("metadata", {})
    meta.setdefault("labels", {}).update({MANAGED_BY_LABEL: MANAGED_BY_VALUE, RELEASE_LABEL: owner.name})
    meta.setdefault("annotations", {})[REVISION_ANNOTATION] = str(revision)
    if not namespaced:
        meta.pop("namespace", None)
        meta["annotations"][RELEASE_NAMESPACE_ANNOTATION] = owner.namespace
        return body
    meta["namespace"] = owner.namespace
    if is_kept(body):
        return body
    refs = [r for r in meta.get("ownerReferences") or [] if not _is_release_owner(r)]
    has_controller = any(r.get("controller") for r in refs)
    refs.append(owner.owner_reference(controller=not has_controller))
    meta["ownerReferences"] = refs
    return body


class OwnershipVerdict(StrEnum):
    """Whether the Release may write an object."""

    ABSENT = "Absent"  # nothing there: create it
    OWNED = "Owned"  # ours: update it
    CONFLICT = "Conflict"  # someone else's: never touch it


@dataclass(frozen=True)
class Ownership:
    """An ownership verdict and, for a conflict, the message to show in status."""

    verdict: OwnershipVerdict
    message: str = ""

    @property
    def may_write(self) -> bool:
        """True when applying the object is allowed."""
        return self.verdict is not OwnershipVerdict.CONFLICT


def check_ownership(
    live: Mapping[str, Any] | None, owner: ReleaseIdentity, *, namespaced: bool = True
) -> Ownership:
    """Decide whether `owner` may take over the existing object `live` (None when it does not exist).

    Ours: labelled managed-by rudder for this Release and not owned by another Release object. A different
    Release's label or ownerReference, or an object without Rudder's labels, is a conflict; the message
    says how to adopt the object on purpose (label it, as Helm 3 adopts annotated objects). A cluster-scoped
    object (`namespaced=False`) is ours only when its Release-namespace annotation names our namespace too.
    """
    if live is None:
        return Ownership(OwnershipVerdict.ABSENT)
    ref = ref_of(live)
    labels = labels_of(live)
    for owner_ref in metadata_of(live).get("ownerReferences") or []:
        if _is_release_owner(owner_ref) and owner_ref.get("uid") != owner.uid:
            other = owner_ref.get("name")
            detail = "an earlier Release of the same name" if other == owner.name else f"Release {other}"
            message = f"{ref} is owned by {detail} (uid {owner_ref.get('uid')})"
            return Ownership(OwnershipVerdict.CONFLICT, message)
    managed_by = labels.get(MANAGED_BY_LABEL)
    release = labels.get(RELEASE_LABEL)
    if managed_by == MANAGED_BY_VALUE and release == owner.name and not namespaced:
        # No ownerReference can say which namespace's Release this is: the annotation must (F12).
        home = annotations_of(live).get(RELEASE_NAMESPACE_ANNOTATION)
        if home == owner.namespace:
            return Ownership(OwnershipVerdict.OWNED)
        holder = f"Release {home}/{release}" if home else f"a Release named {release} in an unknown namespace"
        return Ownership(
            OwnershipVerdict.CONFLICT,
            f"{ref} belongs to {holder}; to adopt it, annotate it "
            f"{RELEASE_NAMESPACE_ANNOTATION}={owner.namespace}",
        )
    if managed_by == MANAGED_BY_VALUE and release == owner.name:
        return Ownership(OwnershipVerdict.OWNED)
    if managed_by == MANAGED_BY_VALUE and release:
        return Ownership(OwnershipVerdict.CONFLICT, f"{ref} belongs to Release {release}")
    return Ownership(
        OwnershipVerdict.CONFLICT,
        f"{ref} already exists and is not managed by this Release (managed-by: {managed_by or 'none'}); "
        f"to adopt it, label it {MANAGED_BY_LABEL}={MANAGED_BY_VALUE} and {RELEASE_LABEL}={owner.name}",
    )


def owned_for_delete(live: Mapping[str, Any], owner: ReleaseIdentity, *, namespaced: bool = True) -> bool:
    """True when the live object carries this Release's ownership, so prune or uninstall may delete it.

    Namespaced: in the Release's namespace, Rudder's labels for this Release and an ownerReference to this
    Release's uid. Cluster-scoped: Rudder's labels and the Release-namespace annotation. Whatever a stored
    inventory says, nothing else is ever deleted.
    """
    labels = labels_of(live)
    if labels.get(MANAGED_BY_LABEL) != MANAGED_BY_VALUE or labels.get(RELEASE_LABEL) != owner.name:
        return False
    if not namespaced:
        return annotations_of(live).get(RELEASE_NAMESPACE_ANNOTATION) == owner.namespace
    meta = metadata_of(live)
    refs = meta.get("ownerReferences")
    return meta.get("namespace") == owner.namespace and isinstance(refs, list) and any(
        isinstance(r, Mapping) and _is_release_owner(r) and r.get("uid") == owner.uid for r in refs
    )


def orphan_patch(live: Mapping[str, Any], owner: ReleaseIdentity) -> dict[str, Any] | None:
    """A JSON merge patch removing the Release's ownerReference from a kept object, so that deleting the
    Release does not garbage-collect it; None when there is nothing to remove.

    The patch carries the object's resourceVersion, so a concurrent change makes it fail with 409 (retry).
    """
    meta = metadata_of(live)
    refs = list(meta.get("ownerReferences") or [])
    remaining = [r for r in refs if not (_is_release_owner(r) and r.get("uid") == owner.uid)]
    if len(remaining) == len(refs):
        return None
    patch_meta: dict[str, Any] = {"ownerReferences": copy.deepcopy(remaining) or None}
    if meta.get("resourceVersion"):
        patch_meta["resourceVersion"] = meta["resourceVersion"]
    return {"metadata": patch_meta}
