"""What the Kubernetes I/O layer hands its callers besides objects: how to name one (`Ref`), how a call
failed (`KubeError`), and a cache's "ask the server" answer (`MISS`). Kept apart from the client so that the
cache, streams and callers share them without the client's weight."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class KubeError(Exception):
    """An API call failed; `status` is the HTTP status (0 when the server was not reached)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def conflict(self) -> bool:
        return self.status == 409

    @property
    def forbidden(self) -> bool:
        return self.status == 403


def path_segment(value: str | None) -> str | None:
    """A name or namespace as one URL path segment: `/`, `..`, `?` and `%` can never change the URL's
    shape (validation refuses such names first; this holds even for a name that slipped past it)."""
    if value is None or value == "":
        return value
    return urllib.parse.quote(value, safe="")


@dataclass(frozen=True)
class Ref:
    """Identifies one namespaced or cluster-scoped object."""

    api_version: str
    kind: str
    name: str
    namespace: str | None = None

    @classmethod
    def of(cls, obj: Mapping[str, Any], namespace: str | None = None) -> Ref:
        meta = obj.get("metadata", {})
        return cls(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace") or namespace)

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


class CacheMiss:
    """A cache's answer "I cannot tell" (kind not synced or not watchable): ask the API server."""

    def __repr__(self) -> str:
        return "MISS"


MISS = CacheMiss()
