"""Reaction time at scale: how long after a change nobody announced the controller shows or repairs it, with
all N Releases installed and idle (issue 12's target: within 2 s at 1,000 Releases).

For `samples` Releases spread over the N, one after the other:
- **pod unready -> status**: the Release's pod gets a status saying it is not ready (CrashLoopBackOff, as a
  crashing container's kubelet would write it); the time until the Release's `status.phase` leaves Ready;
- **hand edit -> repaired**: its ConfigMap's `data.greeting` is changed by another field manager (as `kubectl
  edit` would); the time until the controller has applied it back.
Both are read by the harness every 50 ms (its requests are not the controller's, which are counted by their
FlowSchemas only in the idle window)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kubernetes import client

from bench.scale.cluster import Bench, wait_until

GROUP, VERSION, PLURAL = "rudder.dev", "v1alpha1", "releases"
POLL = 0.05
TIMEOUT = 60.0
HAND = "bench-hand-edit"


def sampled(n: int, samples: int) -> list[str]:
    """`samples` Release names spread evenly over r00000..r{n-1}."""
    count = max(0, min(samples, n))
    return sorted({f"r{(i * n) // count:05d}" for i in range(count)}) if count else []


def _timed(change: Callable[[], Any], seen: Callable[[], bool], what: str) -> float:
    started = time.monotonic()
    change()
    wait_until(seen, timeout=TIMEOUT, interval=POLL, what=what)
    return time.monotonic() - started


def _phase(bench: Bench, namespace: str, name: str) -> str:
    body = bench.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    return str((body.get("status") or {}).get("phase") or "")


def pod_unready(bench: Bench, namespace: str, name: str) -> float:
    """Seconds from a pod of Release `name` turning unready until the Release's status says so."""
    pods = bench.core.list_namespaced_pod(namespace, label_selector=f"app={name}").items
    pod = pods[0]
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status = {"status": {
        "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": stamp},
                       {"type": "ContainersReady", "status": "False", "lastTransitionTime": stamp}],
        "containerStatuses": [{
            "name": pod.spec.containers[0].name, "image": pod.spec.containers[0].image, "imageID": "",
            "ready": False, "restartCount": 3, "started": False,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off restarting failed container"}},
        }],
    }}
    return _timed(lambda: bench.core.patch_namespaced_pod_status(pod.metadata.name, namespace, status),
                  lambda: _phase(bench, namespace, name) != "Ready", f"Release {name} to leave Ready")


def hand_edit(bench: Bench, namespace: str, name: str) -> float:
    """Seconds from another manager changing a field of Release `name`'s ConfigMap until it is applied back."""
    original = bench.core.read_namespaced_config_map(name, namespace).data["greeting"]
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace},
            "data": {"greeting": "edited by hand"}}

    def edit() -> None:
        client.CoreV1Api(bench.api).patch_namespaced_config_map(
            name, namespace, body, field_manager=HAND, force=True,
            _content_type="application/apply-patch+yaml")

    return _timed(edit, lambda: bench.core.read_namespaced_config_map(name, namespace).data["greeting"] == original,
                  f"ConfigMap {name} to be repaired")


def measure_reactions(bench: Bench, namespace: str, n: int, samples: int,
                      log: Callable[[str], None]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(pod unready -> status, hand edit -> repaired) seconds for each sampled Release."""
    pods: list[float] = []
    edits: list[float] = []
    for name in sampled(n, samples):
        edits.append(hand_edit(bench, namespace, name))
        pods.append(pod_unready(bench, namespace, name))
    if pods:
        log(f"reactions over {len(pods)} Releases: pod unready -> status max {max(pods):.2f}s, "
            f"hand edit -> repaired max {max(edits):.2f}s")
    return tuple(pods), tuple(edits)
