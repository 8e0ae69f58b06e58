"""Forking: `<workload>-canary` and `<workload>-baseline` copies of a Release's Deployments/StatefulSets.

`fork()` takes the Release's objects rendered with the stable values and with the canary values (plain
mappings, as the Release renderer produces them) and returns a `ForkPlan`: the copies without their replica
count, the facts routers need about each forked workload, and a content hash.
`ForkPlan.objects(router, weight)` gives the objects to apply, sized for that router and weight.

Each copy:
- selects only its own pods (`rudder.dev/canary-release`, `rudder.dev/workload`, `rudder.dev/track`), so
  it never adopts the primary's pods, and the primary's ReplicaSets never adopt its pods (they have an owner);
- is owned by the CanaryRelease and labelled `app.kubernetes.io/managed-by: rudder-canary` without the
  Release's `rudder.dev/*` marks, so the Release controller neither manages nor prunes it;
- carries the CanaryRelease and the fork's content hash as annotations, so a changed spec is noticed.

Under the `replicas` router the copies' pods keep the primary's labels: the primary Service must select every
track. Under traffic routers they must not: the label keys the primary's selector and its Services look at get
the track appended to their values (`app: web` becomes `app: web-canary`), and the result is checked.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from canary.domain.labels import (
    CANARY_ANNOTATION,
    FORK_HASH_ANNOTATION,
    MANAGED_BY_CANARY,
    MANAGED_BY_LABEL,
    RUDDER_PREFIX,
    copy_labels,
    copy_name,
    label_value,
    owner_reference,
    selector_keys,
    selector_matches,
    service_selects,
)
from canary.domain.weights import copy_replicas
from canary.models import RouterType, Track

FORKABLE_KINDS = ("Deployment", "StatefulSet")
# Server-populated or Release-controller fields that must not be copied into a new object.
_DROPPED_METADATA = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink")
_DROPPED_ANNOTATIONS = (
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
)


class ForkError(Exception):
    """The copies cannot be made; `field` names the CanaryRelease field at fault when there is one."""

    def __init__(self, message: str, field_path: str | None = None) -> None:
        super().__init__(f"{field_path}: {message}" if field_path else message)
        self.field = field_path


@dataclass(frozen=True)
class Owner:
    """The CanaryRelease the copies belong to."""

    name: str
    namespace: str
    uid: str


@dataclass(frozen=True)
class ForkedWorkload:
    """What routers need to know about one forked workload."""

    name: str
    kind: str
    replicas: int  # the primary's, as rendered with the stable values
    pod_labels: Mapping[str, str]  # the primary's pod template labels
    copy_pod_labels: Mapping[Track, Mapping[str, str]]  # each copy's full pod template labels
    copy_selectors: Mapping[Track, Mapping[str, str]]  # labels selecting exactly one copy's pods


@dataclass(frozen=True)
class Copy:
    workload: str
    kind: str
    track: Track
    primary_replicas: int
    body: Mapping[str, Any] = field(repr=False)  # without spec.replicas

    @property
    def name(self) -> str:
        return copy_name(self.workload, self.track)


@dataclass(frozen=True)
class ForkPlan:
    copies: tuple[Copy, ...]
    workloads: tuple[ForkedWorkload, ...]
    hash: str

    def objects(self, router: RouterType, weight: int) -> tuple[dict[str, Any], ...]:
        """The copies to apply, with the replica count `router` needs at `weight`."""
        out = []
        for c in self.copies:
            body = copy.deepcopy(dict(c.body))
            body["spec"]["replicas"] = copy_replicas(router, c.primary_replicas, weight)
            out.append(body)
        return tuple(out)


def fork(
    stable: Sequence[Mapping[str, Any]],
    canary: Sequence[Mapping[str, Any]],
    *,
    owner: Owner,
    workloads: Sequence[str] | None,
    baseline: bool,
    router: RouterType,
) -> ForkPlan:
    """Plan the copies; raise ForkError when a workload is missing or the copies cannot be isolated."""
    stable_index, canary_index = _index(stable), _index(canary)
    services = [o for o in stable if o.get("kind") == "Service"]
    tracks = (Track.CANARY, Track.BASELINE) if baseline else (Track.CANARY,)
    bodies: list[tuple[ForkedWorkload, Track, dict[str, Any]]] = []
    forked: list[ForkedWorkload] = []
    for name, kind in _select(stable_index, workloads):
        candidate = canary_index.get((kind, name))
        if candidate is None:
            raise ForkError(f"{kind} {name!r} is not rendered with the canary values", "spec.values")
        primary = stable_index[(kind, name)]
        sources = {Track.CANARY: candidate, Track.BASELINE: primary}
        workload, made = _fork_workload(
            primary,
            {t: sources[t] for t in tracks},
            owner=owner,
            services=services,
            isolate=router is not RouterType.REPLICAS,
        )
        forked.append(workload)
        bodies.extend((workload, track, body) for track, body in made.items())
    digest = _content_hash([body for *_, body in bodies])
    for *_, body in bodies:
        body["metadata"]["annotations"][FORK_HASH_ANNOTATION] = digest
    return ForkPlan(
        copies=tuple(Copy(w.name, w.kind, track, w.replicas, body) for w, track, body in bodies),
        workloads=tuple(forked),
        hash=digest,
    )


def _fork_workload(
    primary: Mapping[str, Any],
    sources: Mapping[Track, Mapping[str, Any]],
    *,
    owner: Owner,
    services: Sequence[Mapping[str, Any]],
    isolate: bool,
) -> tuple[ForkedWorkload, dict[Track, dict[str, Any]]]:
    name, kind = str(primary["metadata"]["name"]), str(primary["kind"])
    primary_pods = _pod_labels(primary)
    primary_selector = _selector(primary)
    watched = selector_keys(primary_selector) | _service_keys(services, primary_pods) if isolate else set()
    made: dict[Track, dict[str, Any]] = {}
    for track, source in sources.items():
        own = copy_labels(owner.name, name, track)
        body = _copy_body(source, owner, (name, track), own, watched)
        if isolate:
            _check_isolated(name, track, body["spec"]["template"]["metadata"]["labels"], primary_selector, services)
        made[track] = body
    workload = ForkedWorkload(
        name=name,
        kind=kind,
        replicas=_replicas(primary),
        pod_labels=primary_pods,
        copy_pod_labels={t: b["spec"]["template"]["metadata"]["labels"] for t, b in made.items()},
        copy_selectors={t: copy_labels(owner.name, name, t) for t in made},
    )
    return workload, made


def _index(objects: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], Mapping[str, Any]]:
    return {
        (str(o.get("kind")), str((o.get("metadata") or {}).get("name"))): o
        for o in objects
        if o.get("kind") in FORKABLE_KINDS and str(o.get("apiVersion", "")).startswith("apps/")
    }


def _select(index: Mapping[tuple[str, str], Any], workloads: Sequence[str] | None) -> list[tuple[str, str]]:
    if workloads is None:
        chosen = sorted(name for kind, name in index if kind == "Deployment")
        if not chosen:
            raise ForkError("the Release renders no Deployment; name StatefulSets explicitly", "spec.workloads")
        return [(name, "Deployment") for name in chosen]
    out = []
    for i, name in enumerate(workloads):
        kinds = [kind for kind in FORKABLE_KINDS if (kind, name) in index]
        if not kinds:
            raise ForkError(f"{name!r} is not a Deployment or StatefulSet of the Release", f"spec.workloads[{i}]")
        if len(kinds) > 1:
            raise ForkError(f"{name!r} is both a Deployment and a StatefulSet", f"spec.workloads[{i}]")
        out.append((name, kinds[0]))
    return out


def _copy_body(
    source: Mapping[str, Any],
    owner: Owner,
    which: tuple[str, Track],
    own: Mapping[str, str],
    watched: set[str],
) -> dict[str, Any]:
    workload, track = which
    body = copy.deepcopy(dict(source))
    body.pop("status", None)
    meta = dict(body.get("metadata") or {})
    for key in _DROPPED_METADATA:
        meta.pop(key, None)
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if not k.startswith(RUDDER_PREFIX)}
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if not k.startswith(RUDDER_PREFIX) and k not in _DROPPED_ANNOTATIONS
    }
    labels.update(own)
    labels[MANAGED_BY_LABEL] = MANAGED_BY_CANARY
    annotations[CANARY_ANNOTATION] = f"{owner.namespace}/{owner.name}"
    meta.update(
        name=copy_name(workload, track),
        labels=labels,
        annotations=annotations,
        ownerReferences=[owner_reference(owner.name, owner.uid)],
    )
    body["metadata"] = meta
    spec = body.setdefault("spec", {})
    spec.pop("replicas", None)
    spec["selector"] = {"matchLabels": dict(own)}
    template = spec.setdefault("template", {})
    pod_meta = template.setdefault("metadata", {})
    pod_labels = {k: (_suffixed(v, track) if k in watched else v) for k, v in (pod_meta.get("labels") or {}).items()}
    pod_labels.update(own)
    pod_meta["labels"] = pod_labels
    return body


def _suffixed(value: str, track: Track) -> str:
    return label_value(f"{value}-{track.value}") if value else track.value


def _check_isolated(
    workload: str,
    track: Track,
    labels: Mapping[str, str],
    primary_selector: Mapping[str, Any],
    services: Sequence[Mapping[str, Any]],
) -> None:
    # Suffixed values isolate the copy from selectors comparing values; `Exists` or `NotIn` may still match.
    if selector_matches(primary_selector, labels):
        raise ForkError(f"the {track.value} copy of {workload!r} would still match its primary's selector")
    for service in services:
        if service_selects(service, labels):
            name = (service.get("metadata") or {}).get("name")
            raise ForkError(f"the {track.value} copy of {workload!r} would still be selected by Service {name!r}")


def _service_keys(services: Sequence[Mapping[str, Any]], pod_labels: Mapping[str, str]) -> set[str]:
    keys: set[str] = set()
    for service in services:
        if service_selects(service, pod_labels):
            keys.update((service.get("spec") or {}).get("selector") or {})
    return keys


def _pod_labels(obj: Mapping[str, Any]) -> dict[str, str]:
    template = (obj.get("spec") or {}).get("template") or {}
    return dict((template.get("metadata") or {}).get("labels") or {})


def _selector(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    selector = (obj.get("spec") or {}).get("selector")
    return selector if isinstance(selector, Mapping) else {}


def _replicas(obj: Mapping[str, Any]) -> int:
    replicas = (obj.get("spec") or {}).get("replicas")
    # Kubernetes defaults an absent replicas to 1.
    return replicas if isinstance(replicas, int) and not isinstance(replicas, bool) else 1


def _content_hash(bodies: Sequence[Mapping[str, Any]]) -> str:
    canonical = json.dumps(list(bodies), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
