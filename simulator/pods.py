"""Turning raw Pod objects (JSON dicts from the API server) into `Pod` records.

Pure functions: the cluster reader hands over dicts and these decide readiness, track and version.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator.model import Pod

TRACK_LABEL = "rudder.dev/track"
# kubectl's convention for naming the main container of a multi-container pod (sidecars aside).
DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"


def image_tag(image: str) -> str:
    """The tag of an image reference; "latest" when it has none, the digest when pinned only by digest.

    A registry port ("host:5000/app") is not a tag: only a colon in the last path segment counts.
    """
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        return last.rsplit(":", 1)[1]
    return digest or "latest"


def selector_matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """Equality-based selection as Services use it. An empty selector selects nothing:
    a Service without a selector has manually managed endpoints, which the simulator cannot see."""
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def is_ready(raw: Mapping[str, Any]) -> bool:
    """Ready the way an EndpointSlice would count it: Running, Ready=True, not terminating."""
    if raw.get("metadata", {}).get("deletionTimestamp"):
        return False
    status = raw.get("status") or {}
    if status.get("phase") != "Running":
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def main_container_image(raw: Mapping[str, Any]) -> str:
    containers = (raw.get("spec") or {}).get("containers") or []
    if not containers:
        return ""
    wanted = ((raw.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_CONTAINER_ANNOTATION)
    for c in containers:
        if wanted and c.get("name") == wanted:
            return str(c.get("image", ""))
    return str(containers[0].get("image", ""))


def parse_pod(raw: Mapping[str, Any]) -> Pod:
    meta = raw.get("metadata") or {}
    labels = meta.get("labels") or {}
    image = main_container_image(raw)
    return Pod(
        name=str(meta.get("name", "")),
        namespace=str(meta.get("namespace", "")),
        ready=is_ready(raw),
        track=str(labels.get(TRACK_LABEL) or "primary"),
        image=image,
        tag=image_tag(image) if image else "",
    )


def pod_labels(raw: Mapping[str, Any]) -> Mapping[str, str]:
    labels: Mapping[str, str] = (raw.get("metadata") or {}).get("labels") or {}
    return labels
