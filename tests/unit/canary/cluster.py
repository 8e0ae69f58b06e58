"""A dictionary standing in for the API server in router tests: it applies a router's Changes (apply,
JSON merge patch, delete) so tests can assert on the resulting objects and read the weight back."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from canary.domain.fork import ForkPlan, Owner, fork
from canary.models import RouterSpec, RouterType
from canary.routers import Apply, Change, Delete, ObjectRef, Patch, RouterContext
from canary.routers.base import ref_of
from rudder.render.values import deep_merge

OWNER = Owner("shop-v2", "prod", "uid-1")


def deployment(name: str, labels: Mapping[str, str], replicas: int = 4, tag: str = "1.0") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "prod"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {"containers": [{"name": name, "image": f"{name}:{tag}"}]},
            },
        },
    }


def service(name: str, selector: Mapping[str, str], port: int = 80) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "prod"},
        "spec": {"selector": dict(selector), "ports": [{"name": "http", "port": port, "targetPort": 8080}]},
    }


def release_objects(tag: str = "1.0") -> list[dict[str, Any]]:
    """A Release with a forked workload (web) and one that is not forked (api)."""
    return [
        deployment("web", {"app": "web"}, tag=tag),
        service("web", {"app": "web"}),
        deployment("api", {"app": "api"}, tag=tag),
        service("api", {"app": "api"}),
    ]


def plan(router: RouterType, *, baseline: bool = True) -> ForkPlan:
    return fork(
        release_objects(),
        release_objects("2.0"),
        owner=OWNER,
        workloads=["web"],
        baseline=baseline,
        router=router,
    )


class Cluster:
    def __init__(self, objects: Iterable[Mapping[str, Any]] = ()) -> None:
        self.objects: dict[ObjectRef, dict[str, Any]] = {}
        for obj in objects:
            self.objects[ref_of(obj)] = copy.deepcopy(dict(obj))

    def apply(self, changes: Iterable[Change]) -> None:
        for change in changes:
            if isinstance(change, Apply):
                self.objects[change.ref] = copy.deepcopy(dict(change.body))
            elif isinstance(change, Patch):
                current = self.objects[change.ref]
                if change.resource_version is not None:
                    assert current["metadata"].get("resourceVersion") == change.resource_version
                # Helm-style deep merge has RFC 7386 merge-patch semantics: maps merge, null deletes, the rest replaces.
                self.objects[change.ref] = deep_merge(current, change.patch)
                self.objects[change.ref]["metadata"]["resourceVersion"] = str(int(change.resource_version or 0) + 1)
            elif isinstance(change, Delete):
                self.objects.pop(change.ref, None)

    def context(self, spec: RouterSpec, *, baseline: bool = True, fork_plan: ForkPlan | None = None) -> RouterContext:
        forked = fork_plan or plan(spec.type, baseline=baseline)
        return RouterContext(
            namespace="prod",
            canary=OWNER.name,
            canary_uid=OWNER.uid,
            spec=spec,
            baseline=baseline,
            workloads=forked.workloads,
            services=tuple(o for o in release_objects() if o["kind"] == "Service"),
            live=copy.deepcopy(self.objects),
        )

    def get(self, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
        return self.objects.get(ObjectRef(api_version, kind, name))
