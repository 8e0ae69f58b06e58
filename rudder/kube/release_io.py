"""Reads and writes specific to Releases: inputs (chart ConfigMap, valuesFrom), ReleaseHistory
storage with its Secret, status patches and Events."""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rudder.domain.history import history_secret_body
from rudder.domain.history_codec import EncodedManifest, decode_values_from
from rudder.domain.labels import RELEASE_LABEL
from rudder.domain.ownership import ReleaseIdentity
from rudder.domain.redaction import EMPTY, Redactor, values_from_redactor
from rudder.kube import secrecy
from rudder.kube.client import Kube, KubeError, Ref
from rudder.models import API_VERSION, ConfigMapChartRef, ReleaseSpec, ValuesFromRef, ValuesSourceKind

HISTORY_KIND = "ReleaseHistory"
RELEASE_KIND = "Release"


class InputError(Exception):
    """A referenced input is missing; the message names the spec field."""


@dataclass(frozen=True)
class Inputs:
    """What rendering needs from the cluster besides the spec."""

    config_map_data: Mapping[str, str] | None
    values_from_contents: tuple[str | None, ...]


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def release_ref(namespace: str, name: str) -> Ref:
    return Ref(API_VERSION, RELEASE_KIND, name, namespace)


def _decode(data: Mapping[str, str], key: str) -> str | None:
    if key not in data:
        return None
    try:
        return base64.b64decode(data[key]).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def fetch_inputs(kube: Kube, namespace: str, spec: ReleaseSpec) -> Inputs:
    """Read the chart ConfigMap and valuesFrom sources; raise InputError naming the field when missing."""
    config_map_data: Mapping[str, str] | None = None
    if isinstance(spec.chart.source, ConfigMapChartRef):
        cm = kube.get(Ref("v1", "ConfigMap", spec.chart.source.name, namespace))
        if cm is None:
            raise InputError(f"spec.chart.configMapRef: ConfigMap {spec.chart.source.name} not found")
        config_map_data = dict(cm.get("data") or {})
    contents: list[str | None] = []
    for i, ref in enumerate(spec.values_from):
        secret = ref.kind is ValuesSourceKind.SECRET
        field = f"spec.valuesFrom[{i}].{'secretKeyRef' if secret else 'configMapKeyRef'}"
        obj = kube.get(Ref("v1", "Secret" if secret else "ConfigMap", ref.name, namespace))
        text: str | None = None
        if obj is not None:
            text = _decode(obj.get("data") or {}, ref.key) if secret else (obj.get("data") or {}).get(ref.key)
        if text is None and not ref.optional:
            what = "Secret" if secret else "ConfigMap"
            missing = f"{what} {ref.name} not found" if obj is None else f"key {ref.key} not found in {what} {ref.name}"
            raise InputError(f"{field}: {missing}")
        contents.append(text)
    return Inputs(config_map_data, tuple(contents))


# -- ReleaseHistory storage -----------------------------------------------------------------


def list_histories(kube: Kube, namespace: str, release: str) -> list[dict[str, Any]]:
    items = kube.list_objects(API_VERSION, HISTORY_KIND, namespace, f"{RELEASE_LABEL}={release}")
    return sorted(items, key=lambda h: int(h.get("spec", {}).get("revision", 0)))


def history_secret_data(kube: Kube, namespace: str, history: Mapping[str, Any]) -> dict[str, str] | None:
    ref = (history.get("spec") or {}).get("secretRef") or {}
    if not ref.get("name"):
        return None
    secret = kube.get(Ref("v1", "Secret", ref["name"], namespace))
    if secret is None:
        return None
    data = dict(secret.get("data") or {})
    # A rollback or drift repair may apply what a past revision rendered from its valuesFrom Secrets.
    secrecy.remember(stored_values_from_redactor(history.get("spec") or {}, data))
    return data


def stored_values_from_redactor(history_spec: Mapping[str, Any], secret_data: Mapping[str, str]) -> Redactor:
    """The redactor of the valuesFrom Secrets a stored revision was rendered with (`spec.valuesFrom` of its
    ReleaseHistory, contents from its Secret's payload); empty when the payload cannot be read."""
    try:
        contents = decode_values_from(secret_data)
        refs = []
        for entry in history_spec.get("valuesFrom") or ():
            secret = "secretKeyRef" in entry
            ref = entry.get("secretKeyRef" if secret else "configMapKeyRef") or {}
            kind = ValuesSourceKind.SECRET if secret else ValuesSourceKind.CONFIG_MAP
            refs.append(ValuesFromRef(kind=kind, name=str(ref.get("name", "")), key=str(ref.get("key", ""))))
        return values_from_redactor(refs, [c if isinstance(c, str) else None for c in contents])
    except Exception:  # any defect (HistoryCorrupt included) is reported where the payload is decoded for use
        return EMPTY


def write_history(
    kube: Kube,
    body: Mapping[str, Any],
    encoded: EncodedManifest,
    existing: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Create the immutable ReleaseHistory (unless a previous attempt did) and the Secret it owns."""
    history = dict(existing) if existing else None
    if history is None:
        try:
            history = kube.create(body)
        except KubeError as err:
            if not err.conflict:
                raise
            history = kube.get(Ref.of(body)) or {}
    meta = history["metadata"]
    owner = ReleaseIdentity(str(body["spec"]["release"]), meta["namespace"], "")
    secret = history_secret_body(owner, int(body["spec"]["revision"]), encoded, meta["uid"])
    if secret is not None and kube.get(Ref.of(secret)) is None:
        kube.create(secret)
    return history


def write_history_statuses(
    kube: Kube, namespace: str, histories: Sequence[Mapping[str, Any]], updates: Mapping[int, Mapping[str, Any]]
) -> None:
    for h in histories:
        patch = updates.get(int(h["spec"]["revision"]))
        if patch:
            ref = Ref(API_VERSION, HISTORY_KIND, h["metadata"]["name"], namespace)
            kube.patch(ref, {"status": dict(patch)}, subresource="status")


def delete_history(kube: Kube, namespace: str, history: Mapping[str, Any]) -> None:
    kube.delete(Ref(API_VERSION, HISTORY_KIND, history["metadata"]["name"], namespace))
    secret = ((history.get("spec") or {}).get("secretRef") or {}).get("name")
    if secret:
        kube.delete(Ref("v1", "Secret", secret, namespace))


# -- Release writes -------------------------------------------------------------------------


def patch_status(kube: Kube, release: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    """Write status fields that differ from the live ones; False (no request) when nothing changed."""
    live = release.get("status") or {}
    status = secrecy.redact_status(status)  # before comparing: an unchanged status costs no write
    changed = {k: v for k, v in status.items() if live.get(k) != v}
    if not changed:
        return False
    meta = release["metadata"]
    kube.patch(release_ref(meta["namespace"], meta["name"]), {"status": changed}, subresource="status")
    return True


def json_patch_spec(kube: Kube, release: Mapping[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    meta = release["metadata"]
    return kube.json_patch(release_ref(meta["namespace"], meta["name"]), ops)


def emit_event(
    kube: Kube, obj: Mapping[str, Any], reason: str, message: str, *, warning: bool = False
) -> None:
    """A core/v1 Event on a Release or CanaryRelease (best effort: an Event must never fail a reconcile)."""
    meta = obj["metadata"]
    stamp = now_iso()
    body = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": obj.get("apiVersion", API_VERSION), "kind": obj.get("kind", RELEASE_KIND),
            "name": meta["name"],
            "namespace": meta["namespace"], "uid": meta["uid"],
        },
        "reason": reason,
        "message": secrecy.redact(message)[:1024],
        "type": "Warning" if warning else "Normal",
        "source": {"component": "rudder-controller"},
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }
    with contextlib.suppress(KubeError):
        kube.create(body)
