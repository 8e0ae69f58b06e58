"""Authenticity of stored ReleaseHistory objects (issue 11, F1).

A tenant with the `edit` role can create, replace and delete ReleaseHistory objects and Secrets in its
namespace, and can set any ownerReference it likes (the Release's uid is readable). So neither the
ownerReference nor a digest kept next to the data proves that the controller wrote a history. What the
tenant cannot produce is an HMAC-SHA256 keyed by a secret only the controller holds: every history the
controller writes carries one over its namespace, name, owning Release uid, spec and the digest of its
Secret payload. A history is used only when it is owned by the Release's uid and its MAC verifies;
anything else is rejected with a reason and never applied, pruned against or deleted through.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rudder.domain.digest import canonical_json
from rudder.domain.history_codec import PAYLOAD_KEY
from rudder.domain.labels import annotations_of, metadata_of
from rudder.domain.ownership import ReleaseIdentity
from rudder.models import API_GROUP

SIGNATURE_ANNOTATION = "rudder.dev/history-signature"
PAYLOAD_DIGEST_ANNOTATION = "rudder.dev/history-payload-digest"
SIGNATURE_SCHEME = "hmac-sha256-v1"
MIN_KEY_BYTES = 32


class HistoryKeyError(Exception):
    """The history signing key cannot be used (too short, unreadable)."""


@dataclass(frozen=True)
class HistoryKey:
    """The controller's history signing key, and retired keys still accepted when verifying (rotation);
    their bytes never appear in repr or logs."""

    secret: bytes = field(repr=False)
    retired: tuple[bytes, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if any(len(k) < MIN_KEY_BYTES for k in (self.secret, *self.retired)):
            raise HistoryKeyError(f"the history signing key must be at least {MIN_KEY_BYTES} bytes")

    @property
    def key_id(self) -> str:
        """A short public fingerprint (names the key in messages without revealing it)."""
        return hashlib.sha256(b"rudder-history-key-id:" + self.secret).hexdigest()[:12]


def payload_digest(secret_data: Mapping[str, Any] | None) -> str:
    """`sha256:<hex>` of the history Secret's payload text, or '' when the history has none."""
    if not secret_data or not isinstance(secret_data, Mapping) or PAYLOAD_KEY not in secret_data:
        return ""
    value = secret_data[PAYLOAD_KEY]
    text = value if isinstance(value, str) else canonical_json(value)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _normalized(node: Any) -> Any:
    # The API server stores JSON numbers as float64 or int64 and gives 1.0 back as 1; sign what survives
    # that round trip, so the MAC verifies on the object as read back.
    if isinstance(node, Mapping):
        return {str(k): _normalized(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_normalized(v) for v in node]
    if isinstance(node, float) and node.is_integer() and abs(node) < 2**63:
        return int(node)
    return node


def _message(namespace: str, name: str, release_uid: str, spec: Any, digest: str) -> bytes:
    return canonical_json({
        "scheme": SIGNATURE_SCHEME, "namespace": namespace, "name": name, "releaseUid": release_uid,
        "spec": _normalized(spec), "payloadDigest": digest,
    }).encode()


def signature(
    key: HistoryKey, body: Mapping[str, Any], release_uid: str, digest: str, *, secret: bytes | None = None
) -> str:
    """The signature annotation value for a ReleaseHistory object (under `secret`, default the signing key)."""
    meta = metadata_of(body)
    message = _message(str(meta.get("namespace", "")), str(meta.get("name", "")), release_uid,
                       body.get("spec"), digest)
    mac = hmac.new(key.secret if secret is None else secret, message, hashlib.sha256)
    return f"{SIGNATURE_SCHEME}:{mac.hexdigest()}"


def sign_history(
    body: Mapping[str, Any], key: HistoryKey, owner: ReleaseIdentity, secret_data: Mapping[str, Any] | None
) -> dict[str, Any]:
    """A copy of a ReleaseHistory body with its payload digest and signature annotations."""
    signed = dict(body)
    meta = dict(metadata_of(body))
    digest = payload_digest(secret_data)
    annotations = dict(annotations_of(body))
    annotations[PAYLOAD_DIGEST_ANNOTATION] = digest
    meta["annotations"] = annotations
    signed["metadata"] = meta
    annotations[SIGNATURE_ANNOTATION] = signature(key, signed, owner.uid, digest)
    return signed


class Trust(StrEnum):
    """Why a listed ReleaseHistory is used or not."""

    AUTHENTIC = "Authentic"
    NOT_OWNED = "NotOwned"  # no controller ownerReference to this Release's uid (e.g. label-only forgery)
    MALFORMED = "Malformed"  # no usable spec.release / spec.revision
    UNSIGNED = "Unsigned"  # no signature: written before signing existed, or forged
    FORGED = "Forged"  # a signature that does not verify: altered or forged


@dataclass(frozen=True)
class Verdict:
    """The trust of one history, with the message shown in an Event when it is not used."""

    trust: Trust
    message: str = ""

    @property
    def usable(self) -> bool:
        return self.trust is Trust.AUTHENTIC


def _owned_by(body: Mapping[str, Any], owner: ReleaseIdentity) -> bool:
    refs = metadata_of(body).get("ownerReferences")
    if not isinstance(refs, list):
        return False
    return any(
        isinstance(r, Mapping) and r.get("kind") == "Release" and r.get("uid") == owner.uid
        and str(r.get("apiVersion", "")).startswith(f"{API_GROUP}/") and r.get("controller") is True
        for r in refs
    )


def is_owned_history(body: Mapping[str, Any], owner: ReleaseIdentity) -> bool:
    """Owned by the Release (uid, namespace, name) with a usable revision: what a reader without the key
    (the CLI) can check. The controller also verifies the signature (`verify_history`)."""
    spec = body.get("spec")
    return (metadata_of(body).get("namespace") == owner.namespace and _owned_by(body, owner)
            and isinstance(spec, Mapping) and spec.get("release") == owner.name
            and history_revision(body) is not None)


def history_revision(body: Mapping[str, Any]) -> int | None:
    """spec.revision when it is a positive integer, else None."""
    spec = body.get("spec")
    revision = spec.get("revision") if isinstance(spec, Mapping) else None
    if isinstance(revision, int) and not isinstance(revision, bool) and revision >= 1:
        return revision
    return None


def verify_history(
    body: Mapping[str, Any], owner: ReleaseIdentity, key: HistoryKey, *, accept_unsigned: bool = False
) -> Verdict:
    """Whether the ReleaseHistory `body` may be used for the Release `owner`.

    Used only when owned (controller ownerReference) by the Release's uid, in its namespace, for its name,
    and signed with `key`. `accept_unsigned` (a controller flag for migrating histories written before
    signing) lets owned but unsigned histories through; their objects are still validated and confined
    like rendered ones.
    """
    meta = metadata_of(body)
    name = str(meta.get("name", ""))
    spec = body.get("spec")
    if meta.get("namespace") != owner.namespace or not _owned_by(body, owner):
        return Verdict(Trust.NOT_OWNED,
                       f"ReleaseHistory {name} is not owned by this Release (uid {owner.uid}); ignored")
    if not isinstance(spec, Mapping) or spec.get("release") != owner.name or history_revision(body) is None:
        return Verdict(Trust.MALFORMED, f"ReleaseHistory {name} has no valid spec.release/spec.revision; ignored")
    annotations = annotations_of(body)
    stored = annotations.get(SIGNATURE_ANNOTATION)
    if not stored:
        if accept_unsigned:
            return Verdict(Trust.AUTHENTIC)
        return Verdict(Trust.UNSIGNED,
                       f"ReleaseHistory {name} carries no signature (written before history signing, or "
                       "forged); it is not used")
    digest = str(annotations.get(PAYLOAD_DIGEST_ANNOTATION, ""))
    valid = isinstance(stored, str) and any(
        hmac.compare_digest(stored.encode(), signature(key, body, owner.uid, digest, secret=k).encode())
        for k in (key.secret, *key.retired)
    )
    if not valid:
        return Verdict(Trust.FORGED,
                       f"ReleaseHistory {name} has an invalid signature (altered or forged); it is not used")
    return Verdict(Trust.AUTHENTIC)


def verify_payload(body: Mapping[str, Any], secret_data: Mapping[str, Any] | None) -> str | None:
    """None when the Secret payload is the one the history was signed with, else the problem.

    An unsigned history accepted for migration has no recorded digest: nothing to compare.
    """
    annotations = annotations_of(body)
    if SIGNATURE_ANNOTATION not in annotations:
        return None
    recorded = str(annotations.get(PAYLOAD_DIGEST_ANNOTATION, ""))
    actual = payload_digest(secret_data)
    if not hmac.compare_digest(recorded.encode(), actual.encode()):
        if not actual:
            return "the history's Secret payload is missing"
        return "the history's Secret payload is not the one this history was written with (altered or replaced)"
    return None


@dataclass(frozen=True)
class Rejected:
    """A listed history that is not used, and why."""

    name: str
    uid: str
    revision: int | None
    verdict: Verdict


@dataclass(frozen=True)
class Screened:
    """Listed histories split into those used (sorted by revision) and those rejected."""

    accepted: tuple[dict[str, Any], ...]
    rejected: tuple[Rejected, ...]

    def rejection_of(self, revision: int) -> Rejected | None:
        """The rejected history claiming `revision` (None when none did)."""
        return next((r for r in self.rejected if r.revision == revision), None)


def screen_histories(
    items: Iterable[Mapping[str, Any]], owner: ReleaseIdentity, key: HistoryKey, *, accept_unsigned: bool = False
) -> Screened:
    """Split listed histories into the usable ones (one per revision) and the rejected ones."""
    accepted: dict[int, dict[str, Any]] = {}
    rejected: list[Rejected] = []
    for item in items:
        meta = metadata_of(item)
        verdict = verify_history(item, owner, key, accept_unsigned=accept_unsigned)
        revision = history_revision(item)
        if verdict.usable and revision is not None and revision not in accepted:
            accepted[revision] = dict(item)
        else:
            rejected.append(Rejected(str(meta.get("name", "")), str(meta.get("uid", "")), revision, verdict))
    return Screened(tuple(accepted[r] for r in sorted(accepted)), tuple(rejected))
