"""Which Release a watch event concerns: pure functions over the wire form of objects.

A managed object (and a ReleaseHistory) names its Release by label; its namespace is the object's own or,
for cluster-scoped objects, the release-namespace annotation. Pods, ReplicaSets and ControllerRevisions
carry no such label: they lead to it through their controller ownerReference (Pod -> ReplicaSet ->
Deployment). A Release reads the ConfigMaps of its chart source and valuesFrom and waits on the Releases
of its dependsOn; those edges are read from its raw spec (an invalid spec still names what it would read).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rudder.domain.labels import RELEASE_LABEL, RELEASE_NAMESPACE_ANNOTATION, annotations_of, labels_of, metadata_of


@dataclass(frozen=True)
class Owner:
    """The controller ownerReference of an object (same namespace as the object)."""

    api_version: str
    kind: str
    name: str


@dataclass(frozen=True)
class Reads:
    """What one Release reads besides its own objects: ConfigMaps by name, Releases it depends on.
    (Secrets are read by name but never watched: a change to one is seen on the next pass.)"""

    config_maps: frozenset[str] = frozenset()
    depends_on: frozenset[str] = frozenset()


def release_of(obj: Mapping[str, Any]) -> tuple[str, str] | None:
    """(namespace, name) of the Release whose label the object carries, or None."""
    name = labels_of(obj).get(RELEASE_LABEL)
    if not isinstance(name, str) or not name:
        return None
    namespace = annotations_of(obj).get(RELEASE_NAMESPACE_ANNOTATION) or metadata_of(obj).get("namespace")
    return (str(namespace), name) if namespace else None


def controller_owner(obj: Mapping[str, Any]) -> Owner | None:
    """The ownerReference marked controller (a Pod's ReplicaSet, a ReplicaSet's Deployment), or None."""
    for ref in metadata_of(obj).get("ownerReferences") or ():
        if isinstance(ref, Mapping) and ref.get("controller") and ref.get("name") and ref.get("kind"):
            return Owner(str(ref.get("apiVersion") or ""), str(ref["kind"]), str(ref["name"]))
    return None


def _names(entries: Any, key: str) -> frozenset[str]:
    found = set()
    for entry in entries if isinstance(entries, list) else ():
        ref = entry.get(key) if isinstance(entry, Mapping) else None
        if isinstance(ref, Mapping) and isinstance(ref.get("name"), str):
            found.add(ref["name"])
    return frozenset(found)


def reads_of(release: Mapping[str, Any]) -> Reads:
    """The inputs and dependencies a Release's raw spec names (malformed parts are skipped)."""
    spec = release.get("spec")
    if not isinstance(spec, Mapping):
        return Reads()
    chart = spec.get("chart")
    source = chart.get("configMapRef") if isinstance(chart, Mapping) else None
    config_maps = {source["name"]} if isinstance(source, Mapping) and isinstance(source.get("name"), str) else set()
    values_from = spec.get("valuesFrom")
    depends = spec.get("dependsOn")
    return Reads(
        config_maps=frozenset(config_maps) | _names(values_from, "configMapKeyRef"),
        depends_on=frozenset(d["name"] for d in depends if isinstance(d, Mapping) and isinstance(d.get("name"), str))
        if isinstance(depends, list) else frozenset(),
    )
