"""Malformed stored history (issue 11, F23/F13): garbage base64, bad or oversized gzip, wrong JSON types,
non-object documents and a payload-less history Secret all raise HistoryCorrupt with a message naming the
field, never ValueError, AttributeError, RecursionError or MemoryError, and never restore `(redacted)`."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest

from rudder.domain.history import history_record
from rudder.domain.history_codec import (
    MAX_DECODED_BYTES,
    MAX_ENCODED_BYTES,
    PAYLOAD_KEY,
    HistoryCorrupt,
    decode_manifest,
    decode_payload,
    encode_manifest,
)

from .history_support import chart_secret, config_map, gz


def _payload(obj: Any) -> dict[str, str]:
    return {PAYLOAD_KEY: gz(json.dumps(obj).encode())}


def _bomb() -> str:
    # ~33 MiB of zeros compress to ~33 KiB: a few kilobytes a tenant may write must not cost gigabytes.
    return base64.b64encode(gzip.compress(b"\0" * (MAX_DECODED_BYTES + 1024), mtime=0)).decode()


BAD_PAYLOADS: dict[str, tuple[Any, str]] = {
    "garbage base64": ({PAYLOAD_KEY: "@@@not base64@@@"}, "history Secret payload is corrupt (not valid gzip+base64)"),
    "base64 of plain text": ({PAYLOAD_KEY: base64.b64encode(b"not gzip").decode()},
                             "history Secret payload is corrupt (not valid gzip+base64)"),
    "truncated gzip": ({PAYLOAD_KEY: base64.b64encode(gzip.compress(b"{}" * 100)[:-12]).decode()},
                       "history Secret payload is corrupt (truncated gzip+base64)"),
    "gzip bomb": ({PAYLOAD_KEY: _bomb()}, f"history Secret payload decompresses to more than {MAX_DECODED_BYTES}"),
    "oversized text": ({PAYLOAD_KEY: "A" * (MAX_ENCODED_BYTES + 4)},
                       f"history Secret payload is larger than {MAX_ENCODED_BYTES} bytes"),
    "payload not a string": ({PAYLOAD_KEY: 12}, "history Secret payload is not a string"),
    "not JSON": ({PAYLOAD_KEY: gz(b"{not json")}, "history Secret payload is corrupt (not JSON)"),
    "not UTF-8": ({PAYLOAD_KEY: gz(b"\xff\xfe\xfd")}, "history Secret payload is corrupt (not valid gzip+base64)"),
    "deeply nested JSON": ({PAYLOAD_KEY: gz(b"[" * 200000)}, "history Secret payload is corrupt (not JSON)"),
    "JSON list": (_payload([1, 2]), "history Secret payload is corrupt (not a JSON object)"),
    "JSON string": (_payload("x"), "history Secret payload is corrupt (not a JSON object)"),
    "objects a list": (_payload({"objects": [{}]}), "objects must map positions to objects"),
    "object position not a number": (_payload({"objects": {"x": {}}}), "objects must map positions to objects"),
    "object position negative": (_payload({"objects": {"-1": {}}}), "objects must map positions to objects"),
    "object position unicode digit": (_payload({"objects": {"²": {}}}), "objects must map positions to objects"),
    "object not a mapping": (_payload({"objects": {"0": "x"}}), "objects must map positions to objects"),
    "valuesFrom a string": (_payload({"valuesFrom": "x"}), "valuesFrom must be a list of strings"),
    "valuesFrom holds numbers": (_payload({"valuesFrom": [1]}), "valuesFrom must be a list of strings"),
    "notes a number": (_payload({"notes": 5}), "notes must be a string"),
    "manifestDigest a list": (_payload({"manifestDigest": []}), "manifestDigest must be a string"),
    "storedDigest a number": (_payload({"storedDigest": 1}), "storedDigest must be a string"),
}


@pytest.mark.corpus("history")
@pytest.mark.parametrize("case", BAD_PAYLOADS, ids=list(BAD_PAYLOADS))
def test_malformed_payloads_raise_history_corrupt(case: str) -> None:
    data, message = BAD_PAYLOADS[case]
    with pytest.raises(HistoryCorrupt) as caught:
        decode_payload(data)
    assert message in str(caught.value)
    assert not isinstance(caught.value, ValueError | AttributeError | MemoryError | RecursionError)


def _spec(**fields: Any) -> dict[str, Any]:
    encoded = encode_manifest([config_map()])
    spec: dict[str, Any] = {"manifest": encoded.manifest, "manifestEncoding": "plain",
                            "manifestDigest": encoded.digest}
    spec.update(fields)
    return spec


BAD_SPECS: dict[str, tuple[Any, Any, str]] = {
    "spec not an object": ("spec", None, "spec is not an object"),
    "manifest a number": (_spec(manifest=5, manifestDigest=None), None, "spec.manifest is not a string"),
    "unknown encoding": (_spec(manifestEncoding="zstd"), None, "spec.manifestEncoding 'zstd' is not plain"),
    "gzip manifest garbage": (_spec(manifestEncoding="gzip+base64", manifest="%%%"), None,
                              "spec.manifest is corrupt (not valid gzip+base64)"),
    "gzip manifest a list": (_spec(manifestEncoding="gzip+base64", manifest=["x"]), None,
                             "spec.manifest is not a string"),
    "gzip manifest bomb": (_spec(manifestEncoding="gzip+base64", manifest=_bomb()), None,
                           f"spec.manifest decompresses to more than {MAX_DECODED_BYTES}"),
    "manifest digest mismatch": (_spec(manifestDigest="sha256:00"), None, "manifest does not match manifestDigest"),
    "manifest not YAML": (_spec(manifest="a: [", manifestDigest=None), None, "stored manifest is not valid YAML"),
    "manifest document a list": (_spec(manifest="- a\n- b\n", manifestDigest=None), None,
                                 "stored manifest holds a document that is not an object"),
    "manifest document a scalar": (_spec(manifest="hello\n", manifestDigest=None), None,
                                   "stored manifest holds a document that is not an object"),
    "payload position past the manifest": (_spec(), _payload({"objects": {"5": {"kind": "X"}}}),
                                           "history Secret payload does not match the manifest"),
    "secretRef without Secret": (_spec(secretRef={"name": "shop-v1-secret"}), None,
                                 "the history's Secret payload is missing"),
    # F13: a Secret without payload would restore the stored, redacted values: `(redacted)` as a password.
    "secretRef with a payload-less Secret": (
        _spec(secretRef={"name": "shop-v1-secret"}), {"password": base64.b64encode(b"x").decode()},
        "the history's Secret has no 'payload' key; restoring would apply redacted values"),
}


@pytest.mark.corpus("history")
@pytest.mark.parametrize("case", BAD_SPECS, ids=list(BAD_SPECS))
def test_malformed_manifests_raise_history_corrupt(case: str) -> None:
    spec, data, message = BAD_SPECS[case]
    with pytest.raises(HistoryCorrupt) as caught:
        decode_manifest(spec, data)
    assert message in str(caught.value)


@pytest.mark.corpus("history")
def test_a_payload_less_history_never_restores_the_redacted_placeholder() -> None:
    encoded = encode_manifest([chart_secret()])
    spec = {"manifest": encoded.manifest, "manifestDigest": encoded.digest, "secretRef": {"name": "shop-v1-secret"}}
    assert "(redacted)" in encoded.manifest
    for data in ({}, None, {"unrelated": "eA=="}):
        with pytest.raises(HistoryCorrupt, match="payload"):
            decode_manifest(spec, data)


@pytest.mark.corpus("history")
@pytest.mark.parametrize("status", [
    {"deployedAt": "2024-01-01T00:00:00Z"}, {"deployedAt": [5, None, "garbage"]}, {"phase": ["x"]},
], ids=["deployedAt a string", "deployedAt junk items", "phase a list"])
def test_history_records_tolerate_malformed_status(status: dict[str, Any]) -> None:
    record = history_record({"spec": {"revision": 3, "contentDigest": "d"}, "status": status})
    assert record.revision == 3 and record.deployed_at == () and record.phase is None
