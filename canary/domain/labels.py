"""Labels and annotations that mark canary copies, and Kubernetes label-selector matching.

Copies are found by label (`rudder.dev/canary-release`, `rudder.dev/workload`, `rudder.dev/track`), so the
kube layer can list or delete them without the spec. The primary's pods are never relabelled: the Release owns
them, so "primary" is a track name for metric queries and router objects, not a label on its pods.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from canary.models import Track

CANARY_LABEL = "rudder.dev/canary-release"
WORKLOAD_LABEL = "rudder.dev/workload"
TRACK_LABEL = "rudder.dev/track"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_CANARY = "rudder-canary"  # not "rudder": the Release controller must never adopt or prune copies
CANARY_ANNOTATION = "rudder.dev/canary-release"  # namespace/name of the owning CanaryRelease
FORK_HASH_ANNOTATION = "rudder.dev/fork-hash"
WEIGHT_ANNOTATION = "rudder.dev/weight"
RUDDER_PREFIX = "rudder.dev/"
CANARY_API_VERSION = "rudder.dev/v1alpha1"
CANARY_KIND = "CanaryRelease"

_LABEL_VALUE_MAX = 63
_LABEL_VALUE = re.compile(r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


def label_value(text: str) -> str:
    """`text` as a valid label value; a long one keeps a prefix and gains a hash so it stays unique."""
    if len(text) <= _LABEL_VALUE_MAX and _LABEL_VALUE.match(text):
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    head = re.sub(r"[^-A-Za-z0-9_.]", "-", text)[: _LABEL_VALUE_MAX - 11].strip("-_.")
    return f"{head}-{digest}" if head else digest


def copy_labels(canary: str, workload: str, track: Track) -> dict[str, str]:
    """The labels that select exactly one copy's pods (also its Deployment/StatefulSet selector)."""
    return {
        CANARY_LABEL: label_value(canary),
        WORKLOAD_LABEL: label_value(workload),
        TRACK_LABEL: track.value,
    }


def copies_selector(canary: str) -> str:
    """Label selector (string form) for every object a CanaryRelease created."""
    return f"{CANARY_LABEL}={label_value(canary)}"


def copy_name(workload: str, track: Track) -> str:
    return f"{workload}-{track.value}"


def owner_reference(canary: str, uid: str) -> dict[str, Any]:
    """Controller ownerReference to the CanaryRelease: copies are garbage-collected with it."""
    return {
        "apiVersion": CANARY_API_VERSION,
        "kind": CANARY_KIND,
        "name": canary,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Whether a LabelSelector (`matchLabels` / `matchExpressions`) selects `labels`.

    An empty LabelSelector selects everything, as in the Kubernetes API.
    """
    match_labels = selector.get("matchLabels") or {}
    if any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    return all(_expression_matches(e, labels) for e in selector.get("matchExpressions") or ())


def _expression_matches(expression: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, operator = str(expression.get("key")), expression.get("operator")
    values = set(expression.get("values") or ())
    value = labels.get(key)
    if operator == "In":
        return value is not None and value in values
    if operator == "NotIn":
        return value is None or value not in values
    if operator == "Exists":
        return value is not None
    if operator == "DoesNotExist":
        return value is None
    raise ValueError(f"unknown label selector operator {operator!r}")


def selector_keys(selector: Mapping[str, Any]) -> set[str]:
    """Every label key a LabelSelector looks at."""
    keys = set((selector.get("matchLabels") or {}).keys())
    keys.update(str(e.get("key")) for e in selector.get("matchExpressions") or ())
    return keys


def service_selects(service: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Whether a Service's selector picks pods with `labels` (a Service without selector picks none)."""
    selector = (service.get("spec") or {}).get("selector") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def pod_name_regex(workload: str, kind: str, track: Track) -> str:
    """A regex matching the names of one track's pods, for metric queries (`pod_regex`).

    Deployment pods are `<name>-<template hash>-<suffix>` and StatefulSet pods `<name>-<ordinal>`, so the
    primary's pattern cannot match `<name>-canary-...` or `<name>-baseline-...` pods.
    """
    name = workload if track is Track.PRIMARY else copy_name(workload, track)
    if kind == "StatefulSet":
        return f"^{re.escape(name)}-[0-9]+$"
    return f"^{re.escape(name)}-[a-z0-9]+-[a-z0-9]+$"
