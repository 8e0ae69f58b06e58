"""ReleaseHistory encoding: the manifest (compressed when large) with secrets split out.

Secret objects' data/stringData, any object or notes text containing a valuesFrom string, and the valuesFrom
contents themselves never appear in clear in the ReleaseHistory. They go into a payload the I/O layer stores
in a Secret owned by the history; `decode_manifest` reassembles the exact objects for rollback and checks
them against a digest kept inside that payload.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from rudder.domain.digest import canonical_json, sha256_hex
from rudder.domain.redaction import REDACTED, Redactor, secret_leaves
from rudder.render.yamlio import dump_documents, load_documents, to_plain

PLAIN = "plain"
GZIP_BASE64 = "gzip+base64"
PAYLOAD_KEY = "payload"
DEFAULT_COMPRESS_ABOVE = 64 * 1024  # well under the 1.5 MiB object limit that bites Helm's storage


# Bounds on what a stored history may cost to read: a tenant can write the ReleaseHistory and its Secret,
# so a few kilobytes of gzip must not become gigabytes in the controller (F23).
MAX_ENCODED_BYTES = 4 * 1024 * 1024  # base64 text: well above the API server's 1.5 MiB object limit
MAX_DECODED_BYTES = 32 * 1024 * 1024  # decompressed manifest or payload


class HistoryCorrupt(Exception):
    """A stored history that cannot be turned back into its exact manifest, or that is not authentic.

    Deliberately not a ValueError: every malformed input ends here, never in a generic exception that a
    caller might let escape as a traceback.
    """


HistoryDecodeError = HistoryCorrupt  # the earlier name, kept for callers


@dataclass(frozen=True)
class EncodedManifest:
    """The fields of a ReleaseHistory spec about the manifest, and the Secret data that completes it."""

    manifest: str
    encoding: str
    digest: str  # sha256 of the stored (redacted, uncompressed) text: integrity without exposing secrets
    notes: str
    secret_data: Mapping[str, str] | None  # Secret `data` (base64 values); None when nothing is secret


def sensitive_strings(values_from: Sequence[Any]) -> frozenset[str]:
    """Every string and number in the valuesFrom layers: what must not appear in clear anywhere."""
    return frozenset(secret_leaves(list(values_from)))


def redact_text(text: str, sensitive: frozenset[str]) -> str:
    """`text` with every sensitive value replaced, in each of its forms (`rudder.domain.redaction`)."""
    return Redactor.of(sensitive).text(text)


def _is_secret(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1"


def _redacted(obj: dict[str, Any], redactor: Redactor) -> dict[str, Any] | None:
    """The redacted form of an object, or None when it holds nothing secret.

    Identity (apiVersion, kind, metadata.name/namespace) is never redacted: it is public in the cluster
    anyway, and a short valuesFrom string that happens to equal a name must not hide which object it is.
    """
    out = dict(obj)
    if _is_secret(obj):
        for key in ("data", "stringData"):
            if isinstance(obj.get(key), Mapping):
                out[key] = dict.fromkeys(obj[key], REDACTED)
    redacted: dict[str, Any] = redactor.tree(out)
    for key in ("apiVersion", "kind"):
        if key in obj:
            redacted[key] = obj[key]
    meta, redacted_meta = obj.get("metadata"), redacted.get("metadata")
    if isinstance(meta, Mapping) and isinstance(redacted_meta, dict):
        redacted_meta.update({k: meta[k] for k in ("name", "namespace") if k in meta})
    return redacted if redacted != obj else None


def encode_manifest(
    objects: Sequence[Mapping[str, Any]],
    *,
    notes: str = "",
    values_from_contents: Sequence[str | None] = (),
    values_from_layers: Sequence[Any] = (),
    compress_above: int = DEFAULT_COMPRESS_ABOVE,
    redactor: Redactor | None = None,
) -> EncodedManifest:
    """Encode a revision's applied objects for its ReleaseHistory.

    `values_from_contents` are the raw texts (kept only in the payload), `values_from_layers` their parsed
    values (their strings are redacted wherever they show up in objects or notes), unless `redactor` says
    what is secret (the planner passes the valuesFrom Secrets' redactor).
    """
    if redactor is None:
        redactor = Redactor.of(sensitive_strings(values_from_layers))
    exact = [to_plain(obj) for obj in objects]
    stored: list[dict[str, Any]] = []
    hidden: dict[str, Any] = {}
    for index, obj in enumerate(exact):
        redacted = _redacted(obj, redactor)
        if redacted is not None:
            hidden[str(index)] = obj
        stored.append(redacted if redacted is not None else obj)
    stored_notes = redactor.text(notes) if notes else ""
    text = dump_documents(stored)
    payload: dict[str, Any] = {
        "version": 1,
        "objects": hidden,
        "valuesFrom": list(values_from_contents),
        "manifestDigest": "sha256:" + sha256_hex(canonical_json(exact)),
        "storedDigest": "sha256:" + sha256_hex(text),  # binds the payload to this history's manifest
    }
    if stored_notes != notes:
        payload["notes"] = notes
    secret_data = None
    if hidden or any(c is not None for c in values_from_contents) or "notes" in payload:
        packed = gzip.compress(json.dumps(payload, sort_keys=True).encode(), mtime=0)
        secret_data = {PAYLOAD_KEY: base64.b64encode(packed).decode()}
    manifest, encoding = text, PLAIN
    if len(text.encode()) > compress_above:
        manifest = base64.b64encode(gzip.compress(text.encode(), mtime=0)).decode()
        encoding = GZIP_BASE64
    return EncodedManifest(
        manifest=manifest, encoding=encoding, digest="sha256:" + sha256_hex(text),
        notes=stored_notes, secret_data=secret_data,
    )


def _gunzip_base64(text: Any, what: str) -> str:
    """Base64 gzip text decoded with bounded memory; HistoryCorrupt naming `what` on any defect."""
    if not isinstance(text, str):
        raise HistoryCorrupt(f"{what} is not a string")
    if len(text) > MAX_ENCODED_BYTES:
        raise HistoryCorrupt(f"{what} is larger than {MAX_ENCODED_BYTES} bytes")
    try:
        packed = base64.b64decode(text, validate=True)
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing
        raw = inflater.decompress(packed, MAX_DECODED_BYTES + 1)
        if len(raw) > MAX_DECODED_BYTES or inflater.unconsumed_tail:
            raise HistoryCorrupt(f"{what} decompresses to more than {MAX_DECODED_BYTES} bytes")
        if not inflater.eof:
            raise HistoryCorrupt(f"{what} is corrupt (truncated {GZIP_BASE64})")
        return raw.decode()
    except (binascii.Error, ValueError, zlib.error, UnicodeDecodeError) as exc:
        raise HistoryCorrupt(f"{what} is corrupt (not valid {GZIP_BASE64})") from exc


def stored_manifest_text(spec: Mapping[str, Any]) -> str:
    """The (redacted) manifest text of a ReleaseHistory spec, decompressed and checked against its digest."""
    manifest = spec.get("manifest")
    if manifest is None:
        manifest = ""
    encoding = spec.get("manifestEncoding", PLAIN)
    if encoding == GZIP_BASE64:
        manifest = _gunzip_base64(manifest, "spec.manifest")
    elif encoding not in (PLAIN, None):
        raise HistoryCorrupt(f"spec.manifestEncoding {str(encoding)[:40]!r} is not {PLAIN} or {GZIP_BASE64}")
    if not isinstance(manifest, str):
        raise HistoryCorrupt("spec.manifest is not a string")
    if len(manifest) > MAX_DECODED_BYTES:
        raise HistoryCorrupt(f"spec.manifest is larger than {MAX_DECODED_BYTES} bytes")
    expected = spec.get("manifestDigest")
    if expected and expected != "sha256:" + sha256_hex(manifest):
        raise HistoryCorrupt("manifest does not match manifestDigest")
    return manifest


def decode_payload(secret_data: Mapping[str, str] | None) -> dict[str, Any]:
    """The payload stored in the history's Secret (empty when there is none), with its fields type-checked."""
    if not secret_data:
        return {}
    if not isinstance(secret_data, Mapping):
        raise HistoryCorrupt("history Secret data is not a mapping")
    if PAYLOAD_KEY not in secret_data:
        return {}
    text = _gunzip_base64(secret_data[PAYLOAD_KEY], "history Secret payload")
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise HistoryCorrupt("history Secret payload is corrupt (not JSON)") from exc
    if not isinstance(payload, dict):
        raise HistoryCorrupt("history Secret payload is corrupt (not a JSON object)")
    _check_payload_types(payload)
    return payload


def _check_payload_types(payload: Mapping[str, Any]) -> None:
    objects = payload.get("objects", {})
    if not isinstance(objects, dict) or not all(
        isinstance(k, str) and k.isascii() and k.isdigit() and len(k) <= 9 and isinstance(v, dict)
        for k, v in objects.items()
    ):
        raise HistoryCorrupt("history Secret payload is corrupt (objects must map positions to objects)")
    values_from = payload.get("valuesFrom", [])
    if not isinstance(values_from, list) or not all(v is None or isinstance(v, str) for v in values_from):
        raise HistoryCorrupt("history Secret payload is corrupt (valuesFrom must be a list of strings)")
    if not isinstance(payload.get("notes", ""), str):
        raise HistoryCorrupt("history Secret payload is corrupt (notes must be a string)")
    for key in ("manifestDigest", "storedDigest"):
        if not isinstance(payload.get(key, ""), str):
            raise HistoryCorrupt(f"history Secret payload is corrupt ({key} must be a string)")


def decode_manifest(
    spec: Mapping[str, Any], secret_data: Mapping[str, str] | None
) -> tuple[dict[str, Any], ...]:
    """The exact objects a revision applied, for rollback.

    Raises HistoryCorrupt when the stored manifest or the Secret payload (required when the spec names
    a `secretRef`) is missing, corrupt or does not add up to the recorded digest. A `secretRef` whose
    Secret has no payload is corrupt: restoring the stored, redacted form would apply the literal
    `(redacted)` where a password was (F13).
    """
    if not isinstance(spec, Mapping):
        raise HistoryCorrupt("spec is not an object")
    if spec.get("secretRef"):
        if not secret_data:
            raise HistoryCorrupt("the history's Secret payload is missing; the manifest cannot be restored")
        if PAYLOAD_KEY not in secret_data:
            raise HistoryCorrupt(
                f"the history's Secret has no {PAYLOAD_KEY!r} key; restoring would apply redacted values"
            )
    try:
        documents = list(load_documents(stored_manifest_text(spec)))
    except yaml.YAMLError as exc:
        raise HistoryCorrupt("stored manifest is not valid YAML") from exc
    except (ValueError, TypeError, RecursionError) as exc:
        raise HistoryCorrupt("stored manifest cannot be read") from exc
    objects: list[Any] = [doc for doc in documents if doc is not None]
    if not all(isinstance(doc, dict) for doc in objects):
        raise HistoryCorrupt("stored manifest holds a document that is not an object")
    payload = decode_payload(secret_data)
    stored = payload.get("storedDigest")
    if stored is not None and stored != spec.get("manifestDigest"):
        raise HistoryCorrupt("history Secret payload belongs to a different manifest (digest mismatch)")
    for index, obj in (payload.get("objects") or {}).items():
        position = int(index)
        if not 0 <= position < len(objects):
            raise HistoryCorrupt("history Secret payload does not match the manifest")
        objects[position] = obj
    expected = payload.get("manifestDigest")
    if expected is not None and expected != "sha256:" + sha256_hex(canonical_json(objects)):
        raise HistoryCorrupt("reassembled manifest does not match its digest")
    return tuple(objects)


def decode_notes(spec: Mapping[str, Any], secret_data: Mapping[str, str] | None) -> str:
    """The exact notes of a revision (the stored ones are redacted when they held valuesFrom strings)."""
    payload = decode_payload(secret_data)
    return str(payload.get("notes", spec.get("notes") or ""))


def decode_values_from(secret_data: Mapping[str, str] | None) -> tuple[str | None, ...]:
    """The valuesFrom contents a revision was rendered with."""
    return tuple(decode_payload(secret_data).get("valuesFrom") or ())
