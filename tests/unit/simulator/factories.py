"""Raw Kubernetes objects (API JSON shape) for feeding the simulator's pure parts."""

from __future__ import annotations

from typing import Any

NS = "shop"


def pod(
    name: str,
    labels: dict[str, str],
    *,
    image: str = "registry.k8s.io/pause:3.10",
    ready: bool = True,
    phase: str = "Running",
    terminating: bool = False,
    namespace: str = NS,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels}
    if terminating:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {"containers": [{"name": "app", "image": image}]},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def service(
    name: str, selector: dict[str, str], annotations: dict[str, str] | None = None, namespace: str = NS
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}},
        "spec": {"selector": selector, "ports": [{"port": 80}]},
    }


def custom(api_version: str, kind: str, name: str, spec: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "namespace": NS, **meta},
        "spec": spec,
    }


def web_fleet(primary: int = 3, canary: int = 1, baseline: int = 1) -> list[dict[str, Any]]:
    """Pods of `web` (tag 1.0) and its canary (tag 2.0) / baseline (tag 1.0) copies."""
    pods = [pod(f"web-{i}", {"app": "web"}, image="example/web:1.0") for i in range(primary)]
    pods += [
        pod(f"web-canary-{i}", {"app": "web", "rudder.dev/track": "canary"}, image="example/web:2.0")
        for i in range(canary)
    ]
    pods += [
        pod(f"web-baseline-{i}", {"app": "web", "rudder.dev/track": "baseline"}, image="example/web:1.0")
        for i in range(baseline)
    ]
    return pods
