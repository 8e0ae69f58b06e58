"""Keeping this checkout's Release fields in the shared cluster's CRD while several test sessions (from
branches with different schemas) share one cluster: a session applying its own crds/ would prune the fields
it does not know. The live schema gets the union of both, so neither session loses fields."""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from tests.support.cluster import Cluster
from tests.support.releases import GROUP, VERSION
from tests.support.wait import wait_for

REPO = Path(__file__).resolve().parents[2]


def _union(live: dict[str, Any], ours: dict[str, Any]) -> bool:
    """Add what `ours` has and `live` lacks, recursively (properties only); True when `live` changed."""
    changed = False
    for key, value in ours.items():
        if key not in live:
            live[key] = copy.deepcopy(value)
            changed = True
        elif isinstance(value, dict) and isinstance(live[key], dict):
            changed |= _union(live[key], value)
    return changed


def merge_release_schema(cluster: Cluster) -> bool:
    """Merge crds/release.yaml's schema into the live CRD; True when it lacked something."""
    ext = client.ApiextensionsV1Api(cluster.api)
    ours = yaml.safe_load((REPO / "crds" / "release.yaml").read_text())
    live = ext.read_custom_resource_definition(ours["metadata"]["name"])
    body = cluster.api.sanitize_for_serialization(live)
    schema = body["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    if not _union(schema, ours["spec"]["versions"][0]["schema"]["openAPIV3Schema"]):
        return False
    ext.replace_custom_resource_definition(body["metadata"]["name"], body)
    return True


@contextlib.contextmanager
def release_fields_kept(cluster: Cluster, probe_spec: dict[str, Any], interval: float = 0.5) -> Iterator[None]:
    """While the block runs, put this checkout's fields back into the live CRD whenever another session's
    install replaced it (status fields would otherwise be pruned on their next write)."""
    ensure_release_fields(cluster, probe_spec)
    stop = threading.Event()

    def keep() -> None:
        while not stop.wait(interval):
            with contextlib.suppress(Exception):  # a 409 from a concurrent replace: try again next round
                merge_release_schema(cluster)

    keeper = threading.Thread(target=keep, name="crd-keeper", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        stop.set()
        keeper.join(timeout=10)


def ensure_release_fields(cluster: Cluster, probe_spec: dict[str, Any]) -> None:
    """Merge crds/release.yaml's schema into the live CRD, then wait until a dry-run create keeps
    `probe_spec`'s top-level fields (the API server serves the new schema)."""
    merge_release_schema(cluster)

    def served() -> bool:
        probe = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Release", "metadata": {"name": "schema-probe"},
                 "spec": {"chart": {"templates": {}}, **probe_spec}}
        made = cluster.custom.create_namespaced_custom_object(GROUP, VERSION, "default", "releases", probe,
                                                              dry_run="All")
        return all(key in made["spec"] for key in probe_spec)

    wait_for(served, timeout=30, what="the Release CRD serving this checkout's fields")
