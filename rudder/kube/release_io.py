"""Reads and writes specific to Releases: inputs (chart ConfigMap, valuesFrom), ReleaseHistory
storage with its Secret, status patches and Events."""

from __future__ import annotations

import base64
import binascii
import contextlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rudder.domain.history import history_secret_body
from rudder.domain.history_auth import (
    SIGNATURE_ANNOTATION,
    HistoryKey,
    Screened,
    payload_digest,
    screen_histories,
    sign_history,
    signature,
    verify_history,
)
from rudder.domain.history_codec import EncodedManifest, HistoryCorrupt, decode_values_from
from rudder.domain.labels import RELEASE_LABEL, metadata_of
from rudder.domain.objects import merge_patch_to
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


def _revision_key(history: Mapping[str, Any]) -> int:
    revision = (history.get("spec") or {}).get("revision") if isinstance(history.get("spec"), Mapping) else None
    return revision if isinstance(revision, int) and not isinstance(revision, bool) else 0


def list_histories(kube: Kube, namespace: str, release: str) -> list[dict[str, Any]]:
    """Every ReleaseHistory labelled for the Release, as listed: unverified (see `screened_histories`)."""
    items = kube.list_objects(API_VERSION, HISTORY_KIND, namespace, f"{RELEASE_LABEL}={release}")
    return sorted(items, key=_revision_key)


def screened_histories(kube: Kube, owner: ReleaseIdentity, key: HistoryKey, *, accept_unsigned: bool) -> Screened:
    """The Release's histories split into authentic ones (owned by its uid, signed) and rejected ones."""
    return screen_histories(list_histories(kube, owner.namespace, owner.name), owner, key,
                            accept_unsigned=accept_unsigned)


_warned: set[tuple[str, str, str]] = set()
_warned_lock = threading.Lock()


def warn_rejected(kube: Kube, release: Mapping[str, Any], screened: Screened) -> None:
    """A Warning Event per rejected history (once per history and reason in this process's life)."""
    for item in screened.rejected:
        key = (str(release["metadata"].get("uid")), item.uid or item.name, item.verdict.trust.value)
        with _warned_lock:
            if key in _warned:
                continue
            _warned.add(key)
        emit_event(kube, release, "HistoryIgnored", item.verdict.message, warning=True)


def _owned_by_uid(obj: Mapping[str, Any], uid: str) -> bool:
    refs = metadata_of(obj).get("ownerReferences")
    return bool(uid) and isinstance(refs, list) and any(isinstance(r, Mapping) and r.get("uid") == uid for r in refs)


def history_secret_data(kube: Kube, namespace: str, history: Mapping[str, Any]) -> dict[str, str] | None:
    """The `data` of the history's Secret; None when the history names none or it is gone.

    Raises HistoryCorrupt when the named Secret is not owned by this history: its name was taken by
    another Secret (a chart's, or a forgery), whose data must never be read as the payload (F13).
    """
    spec = history.get("spec") if isinstance(history.get("spec"), Mapping) else {}
    ref = spec.get("secretRef") if isinstance(spec, Mapping) else None
    name = ref.get("name") if isinstance(ref, Mapping) else None
    if not name:
        return None
    if not isinstance(name, str):
        raise HistoryCorrupt("spec.secretRef.name is not a string")
    secret = kube.get(Ref("v1", "Secret", name, namespace))
    if secret is None:
        return None
    if not _owned_by_uid(secret, str(metadata_of(history).get("uid", ""))):
        raise HistoryCorrupt(f"Secret {name} is not owned by ReleaseHistory {metadata_of(history).get('name')}: "
                             "its name is taken by another Secret")
    data = secret.get("data") or {}
    if not isinstance(data, Mapping):
        raise HistoryCorrupt(f"Secret {name} has malformed data")
    payload = {str(k): v for k, v in data.items()}
    # A rollback or drift repair may apply what a past revision rendered from its valuesFrom Secrets.
    secrecy.remember(stored_values_from_redactor(spec if isinstance(spec, Mapping) else {}, payload))
    return payload


class HistorySlotTaken(Exception):
    """The name of the ReleaseHistory (or of its Secret) to write is held by an object that is not it."""


def check_history_slot(
    kube: Kube, body: Mapping[str, Any], owner: ReleaseIdentity, key: HistoryKey, *, accept_unsigned: bool
) -> None:
    """Before anything is applied: raise HistorySlotTaken when the history or Secret name is taken.

    An existing authentic history of the same revision is fine (a previous attempt wrote it), and so is its
    own Secret; anything else (a forged history, a chart Secret named `<release>-v<N>-secret`) fails the
    revision with a message naming the object, instead of being read back as the Release's history.
    """
    existing = kube.get(Ref.of(body))
    if existing is not None:
        verdict = verify_history(existing, owner, key, accept_unsigned=accept_unsigned)
        if not verdict.usable:
            raise HistorySlotTaken(f"{verdict.message}; delete it to let revision "
                                   f"{body['spec']['revision']} be written")
    secret_name = ((body.get("spec") or {}).get("secretRef") or {}).get("name")
    if not secret_name:
        return
    secret = kube.get(Ref("v1", "Secret", secret_name, owner.namespace))
    if secret is not None and not (existing is not None and _owned_by_uid(secret, existing["metadata"]["uid"])):
        raise HistorySlotTaken(f"Secret {secret_name} already exists and is not Rudder's history Secret "
                               "(the name <release>-v<N>-secret is reserved); rename or delete it")


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
    *,
    owner: ReleaseIdentity,
    key: HistoryKey,
) -> dict[str, Any]:
    """Create the immutable, signed ReleaseHistory (unless a previous attempt did) and the Secret it owns."""
    history = dict(existing) if existing else None
    if history is None:
        signed = sign_history(body, key, owner, encoded.secret_data)
        try:
            history = kube.create(signed)
            if not verify_history(history, owner, key).usable:
                # The API server normalised the spec in a way the signature did not foresee: sign what it
                # stored (this object was created by us a moment ago), so it verifies when read back.
                history = kube.patch(Ref.of(history), {"metadata": {"annotations": {
                    SIGNATURE_ANNOTATION: signature(key, history, owner.uid, payload_digest(encoded.secret_data)),
                }}})
        except KubeError as err:
            if not err.conflict:
                raise
            history = kube.get(Ref.of(body)) or {}
            if not verify_history(history, owner, key).usable:
                raise HistorySlotTaken(f"ReleaseHistory {Ref.of(body).name} appeared concurrently and is "
                                       "not authentic") from err
    meta = history["metadata"]
    secret = history_secret_body(owner, int(body["spec"]["revision"]), encoded, meta["uid"])
    if secret is not None:
        live = kube.get(Ref.of(secret))
        if live is None:
            kube.create(secret)
        elif not _owned_by_uid(live, meta["uid"]):
            raise HistorySlotTaken(f"Secret {Ref.of(secret).name} already exists and is not Rudder's history "
                                   "Secret (the name <release>-v<N>-secret is reserved); rename or delete it")
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
    """Delete an authentic history and its Secret (only when that Secret is owned by the history)."""
    secret_name = ((history.get("spec") or {}).get("secretRef") or {}).get("name")
    secret_ref = Ref("v1", "Secret", secret_name, namespace) if isinstance(secret_name, str) else None
    secret = kube.get(secret_ref) if secret_ref else None
    kube.delete(Ref(API_VERSION, HISTORY_KIND, history["metadata"]["name"], namespace))
    if secret_ref and secret is not None and _owned_by_uid(secret, str(history["metadata"].get("uid", ""))):
        kube.delete(secret_ref)


# -- Release writes -------------------------------------------------------------------------


def patch_status(kube: Kube, release: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    """Write status fields that differ from the live ones; False (no request) when nothing changed."""
    live = release.get("status") or {}
    status = secrecy.redact_status(status)  # before comparing: an unchanged status costs no write
    changed = {k: v for k, v in status.items() if live.get(k) != v}
    if not changed:
        return False
    meta = release["metadata"]
    patch = {k: merge_patch_to(live.get(k), v) for k, v in changed.items()}
    kube.patch(release_ref(meta["namespace"], meta["name"]), {"status": patch}, subresource="status")
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
