"""Reading the objects routing depends on: the one place the simulator talks to the API server.

Everything is returned as plain JSON dicts (the API's own field names), so the router parsers
are pure functions that unit tests feed with `StaticReader`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from simulator.routing.errors import RoutingError

Obj = dict[str, Any]


@dataclass(frozen=True)
class KindRef:
    """A namespaced resource reachable under /apis/<group>/<version>/...

    `versions` is in order of preference; the first one the API server serves is used, because
    which versions a third-party CRD serves depends on the release installed.
    """

    group: str
    versions: tuple[str, ...]
    plural: str
    kind: str


class ClusterReader(Protocol):
    """The reads one routing refresh needs, all within one namespace."""

    namespace: str

    def pods(self) -> list[Obj]: ...

    def services(self) -> list[Obj]: ...

    def objects(self, kind: KindRef) -> list[Obj]: ...


class KubeReader:
    """`ClusterReader` over the Kubernetes API; every call carries a timeout so stop() stays bounded."""

    def __init__(self, api: client.ApiClient, namespace: str, timeout: float = 5.0) -> None:
        self.namespace = namespace
        self._core = client.CoreV1Api(api)
        self._custom = client.CustomObjectsApi(api)
        self._timeout = timeout
        self._served: dict[KindRef, str] = {}

    def pods(self) -> list[Obj]:
        resp = self._core.list_namespaced_pod(
            self.namespace, _preload_content=False, _request_timeout=self._timeout
        )
        return _items(resp)

    def services(self) -> list[Obj]:
        resp = self._core.list_namespaced_service(
            self.namespace, _preload_content=False, _request_timeout=self._timeout
        )
        return _items(resp)

    def objects(self, kind: KindRef) -> list[Obj]:
        versions = [self._served[kind]] if kind in self._served else list(kind.versions)
        for version in versions:
            try:
                body = cast(dict[str, Any], self._custom.list_namespaced_custom_object(
                    kind.group, version, self.namespace, kind.plural, _request_timeout=self._timeout
                ))
            except ApiException as exc:
                if exc.status == 404:  # this version (or the whole CRD) is not served
                    continue
                raise
            self._served[kind] = version
            return list(body.get("items") or [])
        self._served.pop(kind, None)
        raise RoutingError(
            f"{kind.kind} ({kind.plural}.{kind.group}, versions {', '.join(kind.versions)}) "
            "is not served by the API server; install its CRD"
        )


def _items(resp: Any) -> list[Obj]:
    data: dict[str, Any] = json.loads(resp.data)
    return list(data.get("items") or [])


class StaticReader:
    """`ClusterReader` over objects held in memory: for unit tests and offline experiments."""

    def __init__(self, namespace: str, objects: Iterable[Mapping[str, Any]] = ()) -> None:
        self.namespace = namespace
        self._objects: list[Obj] = [dict(o) for o in objects]

    def add(self, *objs: Mapping[str, Any]) -> None:
        self._objects.extend(dict(o) for o in objs)

    def replace(self, objects: Iterable[Mapping[str, Any]]) -> None:
        self._objects = [dict(o) for o in objects]

    def _of_kind(self, kind: str, api_group: str) -> list[Obj]:
        def group_of(o: Obj) -> str:
            api_version = str(o.get("apiVersion", "v1"))
            return api_version.split("/", 1)[0] if "/" in api_version else ""

        return [
            o for o in self._objects
            if o.get("kind") == kind and group_of(o) == api_group
            and (o.get("metadata") or {}).get("namespace", self.namespace) == self.namespace
        ]

    def pods(self) -> list[Obj]:
        return self._of_kind("Pod", "")

    def services(self) -> list[Obj]:
        return self._of_kind("Service", "")

    def objects(self, kind: KindRef) -> list[Obj]:
        return self._of_kind(kind.kind, kind.group)
