"""Builders shared by the stored-history security tests: genuine, signed histories and their forgeries."""

from __future__ import annotations

import base64
import copy
import gzip
import json
from typing import Any

from rudder.domain.describe import RevisionSource
from rudder.domain.history import HistoryContent, history_body
from rudder.domain.history_auth import HistoryKey, sign_history
from rudder.domain.history_codec import PAYLOAD_KEY, EncodedManifest, encode_manifest
from rudder.domain.ownership import ReleaseIdentity, decorate
from rudder.domain.prune import inventory_of
from rudder.models import ChartSpec, InlineTemplates

OWNER = ReleaseIdentity(name="shop", namespace="prod", uid="uid-shop")
KEY = HistoryKey(b"k" * 32)
OTHER_KEY = HistoryKey(b"o" * 32)
PASSWORD = "correct-horse-battery"


def config_map(name: str = "cfg", **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **meta}, "data": {"a": "b"}}


def chart_secret(name: str = "creds") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
            "stringData": {"password": PASSWORD}}


def genuine(
    objects: list[dict[str, Any]] | None = None, revision: int = 1, owner: ReleaseIdentity = OWNER,
    key: HistoryKey = KEY, values: dict[str, Any] | None = None, *, promoted_from: str | None = None,
) -> tuple[dict[str, Any], dict[str, str] | None]:
    """A signed ReleaseHistory as the API server returns it (with uid) and its Secret data; a promotion
    from the CanaryRelease `promoted_from` when given."""
    decorated = [decorate(o, owner, revision) for o in (objects or [config_map(), chart_secret()])]
    encoded = encode_manifest(decorated)
    body = unsigned(decorated, encoded, revision, owner, values, promoted_from=promoted_from)
    signed = sign_history(body, key, owner, encoded.secret_data)
    signed["metadata"]["uid"] = f"hist-uid-{revision}"
    return signed, dict(encoded.secret_data) if encoded.secret_data else None


def unsigned(
    objects: list[dict[str, Any]], encoded: EncodedManifest, revision: int, owner: ReleaseIdentity,
    values: dict[str, Any] | None = None, *, promoted_from: str | None = None,
) -> dict[str, Any]:
    content = HistoryContent(
        revision=revision, chart=ChartSpec(source=InlineTemplates({"a.yaml": "x"})), values=values or {},
        values_from=(), content_digest="sha256:x", inventory=inventory_of(objects), description="d",
        source=RevisionSource.PROMOTION if promoted_from else RevisionSource.INSTALL,
        canary_release=promoted_from,
    )
    body = history_body(owner, content, encoded)
    body["metadata"]["uid"] = f"hist-uid-{revision}"
    return body


def forged_payload(objects: dict[str, Any], *, manifest_digest: str | None = None) -> dict[str, str]:
    """Secret data whose payload substitutes `objects` (position -> object), as a tenant would write it."""
    payload: dict[str, Any] = {"version": 1, "objects": objects, "valuesFrom": []}
    if manifest_digest:
        payload["manifestDigest"] = manifest_digest
    packed = gzip.compress(json.dumps(payload).encode(), mtime=0)
    return {PAYLOAD_KEY: base64.b64encode(packed).decode()}


def gz(data: bytes) -> str:
    return base64.b64encode(gzip.compress(data, mtime=0)).decode()


def mutated(body: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    node = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return out
