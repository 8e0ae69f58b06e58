"""The history signing key: created once (file mode 0600, or a Secret in the controller's namespace),
read back unchanged, refused clearly when unusable, and rotatable (retired keys still verify, only the
current one signs)."""

from __future__ import annotations

import base64
import stat
from pathlib import Path
from typing import Any

import pytest

from rudder.domain.history_auth import HistoryKey, HistoryKeyError, Trust, verify_history
from rudder.kube.client import KubeError, Ref
from rudder.kube.history_key import key_from_file, key_from_secret, load_history_key

from .history_support import OWNER, genuine


def test_a_missing_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "state" / "history.key"
    first = key_from_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key_from_file(path) == first
    assert repr(first) == "HistoryKey()"  # the key never shows in logs or tracebacks


@pytest.mark.corpus("history")
@pytest.mark.parametrize("content", [b"", b"short\n", b"k" * 32 + b"\nshort\n"],
                         ids=["empty", "short", "short retired"])
def test_an_unusable_key_file_stops_the_controller_with_a_message(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "history.key"
    path.write_bytes(content)
    with pytest.raises(HistoryKeyError, match=f"history key file {path}: each key line must hold at least 32"):
        key_from_file(path)


def test_rotation_retired_keys_verify_the_new_key_signs(tmp_path: Path) -> None:
    old, new = b"o" * 32, b"n" * 32
    body, _ = genuine(key=HistoryKey(old))
    path = tmp_path / "history.key"
    path.write_bytes(new + b"\n" + old + b"\n")
    rotated = key_from_file(path)
    assert rotated.secret == new and rotated.retired == (old,)
    assert verify_history(body, OWNER, rotated).usable
    assert verify_history(body, OWNER, HistoryKey(new)).trust is Trust.FORGED


class SecretStore:
    def __init__(self, existing: dict[str, Any] | None = None, conflict_with: dict[str, Any] | None = None) -> None:
        self.existing, self.conflict_with = existing, conflict_with
        self.created: list[dict[str, Any]] = []

    def get(self, ref: Ref) -> dict[str, Any] | None:
        return self.existing

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        self.created.append(body)
        if self.conflict_with is not None:
            self.existing = self.conflict_with
            raise KubeError(409, "AlreadyExists", "exists")
        self.existing = body
        return body


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_the_key_secret_is_created_when_missing() -> None:
    store = SecretStore()
    key = key_from_secret(store, "rudder-system", "rudder-history-key")  # type: ignore[arg-type]
    assert store.created[0]["metadata"] == {"name": "rudder-history-key", "namespace": "rudder-system",
                                            "labels": {"app.kubernetes.io/managed-by": "rudder"}}
    assert base64.b64decode(store.created[0]["data"]["key"]) == key.secret and len(key.secret) == 32


def test_a_concurrently_created_key_secret_wins() -> None:
    theirs = {"data": {"key": _b64(b"t" * 32)}}
    key = key_from_secret(SecretStore(conflict_with=theirs), "ns", "k")  # type: ignore[arg-type]
    assert key.secret == b"t" * 32


@pytest.mark.corpus("history")
@pytest.mark.parametrize(("data", "message"), [
    ({}, "data.key must hold at least 32 bytes"),
    ({"key": "@@"}, "data.key is not base64"),
    ({"key": _b64(b"short")}, "data.key must hold at least 32 bytes"),
    ({"key": _b64(b"k" * 32), "retired-1": _b64(b"x")}, "data.retired-1 must hold at least 32 bytes"),
], ids=["no key", "not base64", "short", "short retired"])
def test_an_unusable_key_secret_is_refused(data: dict[str, str], message: str) -> None:
    with pytest.raises(HistoryKeyError, match=f"history key Secret ns/k: {message}"):
        key_from_secret(SecretStore(existing={"data": data}), "ns", "k")  # type: ignore[arg-type]


def test_retired_keys_come_from_the_secret() -> None:
    data = {"key": _b64(b"n" * 32), "retired-2024": _b64(b"o" * 32)}
    key = key_from_secret(SecretStore(existing={"data": data}), "ns", "k")  # type: ignore[arg-type]
    assert key.secret == b"n" * 32 and key.retired == (b"o" * 32,)


@pytest.mark.corpus("cli")
@pytest.mark.parametrize("value", ["rudder-system", "/k", "ns/", "a/b/c"])
def test_a_malformed_key_secret_flag_is_refused(value: str) -> None:
    with pytest.raises(HistoryKeyError, match=f"--history-key-secret {value!r}: expected NAMESPACE/NAME"):
        load_history_key(SecretStore(), None, value)  # type: ignore[arg-type]
