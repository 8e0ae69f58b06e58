"""The ReleaseHistory manifest codec: plain when small, gzip+base64 when large; Secret data, valuesFrom
content and any text carrying valuesFrom strings never appear in clear; decoding gives back the exact
objects, and a missing or tampered payload is detected instead of applying something else."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rudder.domain import (
    HistoryDecodeError,
    decode_manifest,
    decode_notes,
    decode_values_from,
    encode_manifest,
)
from rudder.domain.history_codec import GZIP_BASE64, PLAIN, REDACTED, decode_payload, stored_manifest_text
from rudder.render import load_documents

from .conftest import obj

PASSWORD = "correct-horse-battery"
SECRET = obj(
    "Secret",
    "creds",
    type="Opaque",
    data={"password": base64.b64encode(b"pw").decode()},
    stringData={"token": "t0k3n"},
)
CONFIG = obj("ConfigMap", "cfg", data={"greeting": "hello"})
DEPLOY = obj(
    "Deployment",
    "web",
    "apps/v1",
    spec={
        "template": {
            "spec": {"containers": [{"name": "web", "env": [{"name": "DB_PASSWORD", "value": PASSWORD}]}]}
        }
    },
)


def spec_of(encoded: Any) -> dict[str, Any]:
    spec = {
        "manifest": encoded.manifest,
        "manifestEncoding": encoded.encoding,
        "manifestDigest": encoded.digest,
        "notes": encoded.notes,
    }
    if encoded.secret_data is not None:
        spec["secretRef"] = {"name": "shop-v1-secret"}
    return spec


def test_plain_manifest_without_secrets_needs_no_payload() -> None:
    encoded = encode_manifest([CONFIG], notes="hi")
    assert encoded.encoding == PLAIN
    assert encoded.secret_data is None
    assert "greeting: hello" in encoded.manifest
    assert decode_manifest(spec_of(encoded), None) == (CONFIG,)
    assert decode_notes(spec_of(encoded), None) == "hi"


def test_secret_data_is_split_out_and_restored_exactly() -> None:
    encoded = encode_manifest([CONFIG, SECRET])
    assert "t0k3n" not in encoded.manifest
    assert SECRET["data"]["password"] not in encoded.manifest
    assert REDACTED in encoded.manifest
    assert encoded.secret_data is not None
    assert decode_manifest(spec_of(encoded), encoded.secret_data) == (CONFIG, SECRET)


def test_values_from_strings_are_redacted_from_objects_and_notes() -> None:
    layers = [{"db": {"password": PASSWORD}, "replicas": 3}]
    encoded = encode_manifest(
        [DEPLOY, CONFIG],
        notes=f"connect with {PASSWORD}",
        values_from_contents=[f"db: {{password: {PASSWORD}}}"],
        values_from_layers=layers,
    )
    assert PASSWORD not in encoded.manifest
    assert PASSWORD not in encoded.notes
    assert "greeting: hello" in encoded.manifest, "objects without valuesFrom strings stay readable"
    spec = spec_of(encoded)
    assert decode_manifest(spec, encoded.secret_data) == (DEPLOY, CONFIG)
    assert decode_notes(spec, encoded.secret_data) == f"connect with {PASSWORD}"
    assert decode_values_from(encoded.secret_data) == (f"db: {{password: {PASSWORD}}}",)


def test_payload_is_not_readable_json_in_the_secret() -> None:
    encoded = encode_manifest([SECRET])
    assert encoded.secret_data is not None
    raw = base64.b64decode(encoded.secret_data["payload"])
    assert b"t0k3n" not in raw, "compressed, not plain JSON"
    assert decode_payload(encoded.secret_data)["objects"]["0"] == SECRET


def test_large_manifests_are_compressed_and_round_trip() -> None:
    objects = [obj("ConfigMap", f"cfg-{i}", data={"blob": "x" * 2000}) for i in range(50)]
    encoded = encode_manifest(objects, compress_above=64 * 1024)
    assert encoded.encoding == GZIP_BASE64
    assert len(encoded.manifest) < 20_000
    assert list(decode_manifest(spec_of(encoded), None)) == objects
    assert stored_manifest_text(spec_of(encoded)).startswith("---\n")


def test_missing_payload_is_detected() -> None:
    encoded = encode_manifest([SECRET])
    with pytest.raises(HistoryDecodeError, match="payload is missing"):
        decode_manifest(spec_of(encoded), None)


def test_tampered_manifest_or_payload_is_detected() -> None:
    encoded = encode_manifest([CONFIG, SECRET])
    spec = spec_of(encoded)
    with pytest.raises(HistoryDecodeError, match="manifestDigest"):
        decode_manifest({**spec, "manifest": spec["manifest"].replace("hello", "HELLO")}, encoded.secret_data)
    other = encode_manifest([obj("ConfigMap", "cfg", data={"greeting": "bye"}), SECRET])
    with pytest.raises(HistoryDecodeError, match="different manifest"):
        decode_manifest(spec, other.secret_data)
    with pytest.raises(HistoryDecodeError, match="corrupt"):
        decode_manifest(spec, {"payload": "bm90IGd6aXA="})
    with pytest.raises(HistoryDecodeError, match="gzip"):
        decode_manifest({"manifest": "@@@", "manifestEncoding": GZIP_BASE64}, None)


def test_manifest_digest_covers_only_the_stored_text() -> None:
    encoded = encode_manifest([SECRET])
    payload = decode_payload(encoded.secret_data)
    assert encoded.digest != payload["manifestDigest"], "the clear digest is not a digest over the secrets"
    assert json.dumps(payload["objects"]).count("t0k3n") == 1


def test_identity_stays_readable_even_when_a_short_secret_equals_a_name() -> None:
    deployment = obj(
        "Deployment", "web", "apps/v1", spec={"template": {"metadata": {"labels": {"app": "web"}}}}
    )
    encoded = encode_manifest([deployment], values_from_layers=[{"app": "web"}])
    stored = stored_manifest_text(spec_of(encoded))
    assert "name: web" in stored
    assert "app: (redacted)" in stored
    assert decode_manifest(spec_of(encoded), encoded.secret_data) == (deployment,)


texts = st.text(alphabet="abcdefgh-123 ", min_size=1, max_size=12)
names = st.sampled_from(["a", "b", "cfg", "creds", "web"])
keys = st.sampled_from(["k", "password", "token", "url"])
config_maps = st.builds(
    lambda n, d: obj("ConfigMap", n, data=d), names, st.dictionaries(keys, texts, max_size=3)
)
secrets = st.builds(
    lambda n, d: obj("Secret", n, stringData=d), names, st.dictionaries(keys, texts, min_size=1, max_size=3)
)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(config_maps | secrets, max_size=5), st.lists(texts, max_size=3), st.sampled_from([10, 64 * 1024])
)
def test_any_manifest_round_trips_and_hides_secret_values(
    objects: list[dict[str, Any]], from_values: list[str], compress_above: int
) -> None:
    layers = [{"v": text} for text in from_values]
    encoded = encode_manifest(objects, values_from_layers=layers, compress_above=compress_above)
    spec = spec_of(encoded)
    assert list(decode_manifest(spec, encoded.secret_data)) == objects
    stored = [doc for doc in load_documents(stored_manifest_text(spec)) if doc]
    for doc in stored:
        if doc["kind"] == "Secret":
            assert set(doc["stringData"].values()) == {REDACTED}
