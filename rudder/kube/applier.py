"""Executes an apply plan: ownership check, server-side dry-run of every object, then the real
apply in install order, then pruning. Nothing of a revision is written unless every object
passed the dry-run, so one bad object leaves the cluster as it was.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rudder.domain.drift_policy import strip_ignored
from rudder.domain.labels import FIELD_MANAGER, is_kept
from rudder.domain.order import order_objects, order_refs_for_deletion
from rudder.domain.ownership import ReleaseIdentity, check_ownership, owned_for_delete
from rudder.drift_spec import ConflictPolicy, DriftSpec
from rudder.kube import secrecy
from rudder.kube.client import Kube, KubeError, Ref
from rudder.models import ObjectRef


class ApplyFailed(Exception):
    """A revision could not be applied; `message` names the object and the server's reason."""

    def __init__(self, message: str, *, forbidden: bool = False, conflict: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.forbidden = forbidden
        self.conflict = conflict  # a server-side-apply conflict with another field manager (not forced)


def _failed(obj: Mapping[str, Any], err: KubeError) -> ApplyFailed:
    return ApplyFailed(f"{_describe(obj)}: {err.message}", forbidden=err.forbidden, conflict=err.status == 409)


def _body(kube: Kube, obj: Mapping[str, Any], live: Mapping[str, Any] | bool | None,
          policy: DriftSpec | None) -> Mapping[str, Any]:
    """What to apply: without the ignored fields another manager owns (`live` False: not read yet)."""
    if policy is None or not policy.ignore:
        return obj
    if live is False:
        try:
            live = kube.get(_ref(obj))
        except KubeError as err:
            raise _failed(obj, err) from err
    return strip_ignored(obj, live if isinstance(live, Mapping) else None, policy.ignore)


def _force(policy: DriftSpec | None) -> bool:
    return policy is None or policy.conflicts is ConflictPolicy.FORCE


def _ref(obj: Mapping[str, Any]) -> Ref:
    return Ref.of(obj)


def _describe(obj: Mapping[str, Any]) -> str:
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def fieldset_digest(live: Mapping[str, Any] | None) -> str | None:
    """Digest of the fields Rudder owns by server-side apply on a live object.

    When someone edits a field Rudder applied, ownership of that field moves to them and this digest
    changes: that is how drift is noticed without any write request.
    """
    if not live:
        return None
    for entry in live.get("metadata", {}).get("managedFields") or []:
        if entry.get("manager") == FIELD_MANAGER and entry.get("operation") == "Apply" \
                and not entry.get("subresource"):
            data = json.dumps(entry.get("fieldsV1") or {}, sort_keys=True)
            return hashlib.sha256(data.encode()).hexdigest()
    return None


class FieldsetCache:
    """The fieldset digest each object had right after Rudder applied it (in memory).

    After a restart the cache is empty, so each Release is re-applied once: the safe direction.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._digests: dict[tuple[str, str, str | None, str, str], str] = {}

    @staticmethod
    def _key(uid: str, ref: Ref) -> tuple[str, str, str | None, str, str]:
        return (uid, ref.kind, ref.namespace, ref.name, ref.api_version.rpartition("/")[0])

    def remember(self, uid: str, live: Mapping[str, Any]) -> None:
        digest = fieldset_digest(live)
        if digest:
            with self._lock:
                self._digests[self._key(uid, _ref(live))] = digest

    def drifted(self, uid: str, ref: Ref, live: Mapping[str, Any] | None) -> bool:
        if live is None:
            return True
        with self._lock:
            known = self._digests.get(self._key(uid, ref))
        return known is None or known != fieldset_digest(live)

    def forget(self, uid: str) -> None:
        with self._lock:
            for key in [k for k in self._digests if k[0] == uid]:
                del self._digests[key]


@dataclass(frozen=True)
class ApplyResult:
    applied: tuple[dict[str, Any], ...]
    pruned: tuple[ObjectRef, ...]
    kept: tuple[ObjectRef, ...]


def check_and_dry_run(kube: Kube, owner: ReleaseIdentity, objects: Sequence[Mapping[str, Any]],
                      policy: DriftSpec | None = None) -> None:
    """Ownership check and server-side dry-run of every object; raises ApplyFailed on the first problem.

    `policy` (spec.drift): ignored fields other managers own are left out, and conflicts are not forced
    under `conflicts: report`."""
    secrecy.remember_objects(objects)  # the server may quote a rejected value of a Secret in its message
    bodies = {}
    for obj in objects:
        try:
            live = kube.get(_ref(obj))
        except KubeError as err:
            raise ApplyFailed(f"{_describe(obj)}: {err.message}", forbidden=err.forbidden) from err
        namespaced = bool((obj.get("metadata") or {}).get("namespace"))  # decorate() sets it iff namespaced
        verdict = check_ownership(live, owner, namespaced=namespaced)
        if not verdict.may_write:
            raise ApplyFailed(verdict.message)
        bodies[id(obj)] = _body(kube, obj, live, policy)
    for obj in order_objects(objects):
        try:
            kube.apply(bodies.get(id(obj), obj), dry_run=True, force=_force(policy))
        except KubeError as err:
            raise _failed(obj, err) from err


def apply_objects(
    kube: Kube,
    objects: Sequence[Mapping[str, Any]],
    cache: FieldsetCache,
    uid: str,
    policy: DriftSpec | None = None,
) -> tuple[dict[str, Any], ...]:
    """Apply in install order, remembering each object's owned-field digest (`policy` as in check_and_dry_run)."""
    applied = []
    for obj in order_objects(objects):
        try:
            live = kube.apply(_body(kube, obj, False, policy), force=_force(policy))
        except KubeError as err:
            raise _failed(obj, err) from err
        cache.remember(uid, live)
        applied.append(live)
    return tuple(applied)


def prune(
    kube: Kube, stale: Sequence[ObjectRef], namespace: str, owner: ReleaseIdentity
) -> tuple[tuple[ObjectRef, ...], tuple[ObjectRef, ...]]:
    """Delete stale objects in reverse install order; objects annotated to be kept stay, and so does every
    object whose live form does not carry this Release's ownership (`owned_for_delete`).

    Returns (deleted, kept).
    """
    deleted: list[ObjectRef] = []
    kept: list[ObjectRef] = []
    for ref in order_refs_for_deletion(stale):
        target = Ref(ref.api_version, ref.kind, ref.name, ref.namespace or namespace)
        try:
            live = kube.get(target)
        except KubeError as err:
            if err.status == 404:
                continue
            raise
        if live is None:
            continue
        if is_kept(live) or not owned_for_delete(live, owner, namespaced=kube.is_namespaced(
                ref.api_version, ref.kind) is not False):
            kept.append(ref)
            continue
        if kube.delete(target):
            deleted.append(ref)
    return tuple(deleted), tuple(kept)
