"""What to delete: objects of the previous revision that the new one no longer has (prune), or all of a
Release's objects (uninstall), minus those annotated to be kept.

Works from the stored inventory of the previous revision, never from a label scan, so objects a user
labelled by hand are never deleted by accident.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rudder.domain.labels import is_kept
from rudder.domain.objects import ref_of
from rudder.domain.order import order_refs_for_deletion
from rudder.models import ObjectRef

Identity = tuple[str, str, str | None, str]


def _identity(ref: ObjectRef) -> Identity:
    # A Release's objects share one namespace (or none), so the namespace is left out: inventories store
    # refs without it.
    group, kind, _, name = ref.identity
    return (group, kind, None, name)


@dataclass(frozen=True)
class PrunePlan:
    """`delete` in deletion order (workloads before their config); `keep` are spared by annotation."""

    delete: tuple[ObjectRef, ...]
    keep: tuple[ObjectRef, ...]


def inventory_of(objects: Iterable[Mapping[str, Any]]) -> tuple[ObjectRef, ...]:
    """The inventory (refs without namespace) of a revision's objects, in their order."""
    return tuple(ObjectRef(r.api_version, r.kind, r.name) for r in map(ref_of, objects))


def stale_refs(
    previous_inventory: Sequence[ObjectRef], desired: Sequence[ObjectRef]
) -> tuple[ObjectRef, ...]:
    """Refs of the previous revision that the desired revision no longer has (apiVersion changes of the same
    group and kind are the same object, so they are not stale)."""
    wanted = {_identity(ref) for ref in desired}
    return tuple(ref for ref in previous_inventory if _identity(ref) not in wanted)


def _kept_identities(objects: Iterable[Mapping[str, Any]]) -> set[Identity]:
    return {_identity(ref_of(obj)) for obj in objects if is_kept(obj)}


def plan_prune(
    previous_inventory: Sequence[ObjectRef],
    desired: Sequence[ObjectRef],
    *,
    previous_objects: Iterable[Mapping[str, Any]] = (),
    live_objects: Iterable[Mapping[str, Any]] = (),
) -> PrunePlan:
    """Which stale objects to delete and which to keep.

    An object is kept when its previous manifest entry or its live object carries `rudder.dev/keep: "true"`
    (or `helm.sh/resource-policy: keep`); pass the previous revision's objects and/or the live objects of
    the stale refs.
    """
    return _split(stale_refs(previous_inventory, desired), [*previous_objects, *live_objects])


def plan_uninstall(
    inventory: Sequence[ObjectRef],
    *,
    current_objects: Iterable[Mapping[str, Any]] = (),
    live_objects: Iterable[Mapping[str, Any]] = (),
) -> PrunePlan:
    """Deleting a Release: every object of its current inventory except the kept ones."""
    return _split(tuple(inventory), [*current_objects, *live_objects])


def _split(candidates: Sequence[ObjectRef], annotated: Sequence[Mapping[str, Any]]) -> PrunePlan:
    kept = _kept_identities(annotated)
    unique: dict[Identity, ObjectRef] = {}
    for ref in candidates:
        unique.setdefault(_identity(ref), ref)
    delete = [ref for key, ref in unique.items() if key not in kept]
    keep = [ref for key, ref in unique.items() if key in kept]
    return PrunePlan(delete=tuple(order_refs_for_deletion(delete)), keep=tuple(keep))
