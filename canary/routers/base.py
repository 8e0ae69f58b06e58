"""The router interface: what every traffic router computes, and the changes it hands to the kube layer.

Routers are pure. The kube layer reads the objects a router names in `reads(ctx)`, passes them back in
`ctx.live`, and applies the `Change`s the router returns, in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from canary.domain.fork import ForkedWorkload
from canary.domain.labels import owner_reference
from canary.models import RouterSpec, RouterType


class RouterError(Exception):
    """The router cannot work with what it found (a missing or unsupported target object)."""


@dataclass(frozen=True)
class ObjectRef:
    api_version: str
    kind: str
    name: str


@dataclass(frozen=True)
class Apply:
    """Server-side apply this whole object (one the router owns)."""

    body: Mapping[str, Any] = field(repr=False)

    @property
    def ref(self) -> ObjectRef:
        return ref_of(self.body)


@dataclass(frozen=True)
class Patch:
    """JSON merge patch of an object the router does not own (only the fields it drives). With
    `resource_version`, the patch must only apply to that version (optimistic concurrency)."""

    ref: ObjectRef
    patch: Mapping[str, Any] = field(repr=False)
    resource_version: str | None = None


@dataclass(frozen=True)
class Delete:
    """Delete this object if it exists."""

    ref: ObjectRef


Change = Apply | Patch | Delete


@dataclass(frozen=True)
class RouterContext:
    """What a router works from: the CanaryRelease, the forked workloads, the Release's Services as rendered
    with the stable values, and the live objects it asked for (absent from `live` means not found)."""

    namespace: str
    canary: str
    canary_uid: str
    spec: RouterSpec
    baseline: bool
    workloads: tuple[ForkedWorkload, ...]
    services: tuple[Mapping[str, Any], ...] = ()
    live: Mapping[ObjectRef, Mapping[str, Any]] = field(default_factory=dict)

    def get(self, ref: ObjectRef) -> Mapping[str, Any] | None:
        return self.live.get(ref)

    def owner(self) -> dict[str, Any]:
        return owner_reference(self.canary, self.canary_uid)

    def owns(self, obj: Mapping[str, Any]) -> bool:
        refs = (obj.get("metadata") or {}).get("ownerReferences") or ()
        return any(r.get("uid") == self.canary_uid for r in refs)


class Router(Protocol):
    """One traffic router. Methods raise RouterError when the objects they need are missing or unsupported."""

    @property
    def kind(self) -> RouterType:
        """The `spec.router.type` it implements."""

    @property
    def crds(self) -> tuple[str, ...]:
        """The third-party CustomResourceDefinitions it needs installed (empty for core objects)."""

    def reads(self, ctx: RouterContext) -> tuple[ObjectRef, ...]:
        """The live objects the kube layer must read into `ctx.live` before calling the other methods."""

    def reconcile(self, ctx: RouterContext) -> tuple[Change, ...]:
        """Create or update its own objects (Services, canary Ingress), keeping the current weight."""

    def set_weight(self, ctx: RouterContext, weight: int) -> tuple[Change, ...]:
        """Send `weight`% of traffic to the canary (and the baseline its share: weights.traffic_split)."""

    def get_weight(self, ctx: RouterContext) -> int:
        """The canary weight the live objects realise now (0 when the router's objects are absent)."""

    def finalize(self, ctx: RouterContext) -> tuple[Change, ...]:
        """All traffic back to the primary, then the router's own objects deleted."""


def ref_of(obj: Mapping[str, Any]) -> ObjectRef:
    meta = obj.get("metadata") or {}
    return ObjectRef(str(obj.get("apiVersion", "")), str(obj.get("kind", "")), str(meta.get("name", "")))


def annotation_int(obj: Mapping[str, Any] | None, key: str) -> int | None:
    """An integer annotation, or None when the object or the annotation is absent or not a number."""
    if obj is None:
        return None
    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(key)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
