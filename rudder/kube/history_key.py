"""Loading (or creating once) the key that signs ReleaseHistories.

The key must be something a tenant cannot read or write: a Secret in the controller's own namespace
(the default in a cluster: `<namespace>/rudder-history-key`), or a file on the controller's host (the
default outside a cluster: `$XDG_STATE_HOME/rudder/history.key`, next to the operator's kubeconfig).
Both are created with 32 random bytes when missing; concurrent replicas converge on whichever was
created first. Rotation: the new key signs; retired keys (Secret data keys `retired-*`, or further lines
of the key file) still verify the histories written under them.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from rudder.domain.history_auth import MIN_KEY_BYTES, HistoryKey, HistoryKeyError
from rudder.kube.client import Kube, KubeError, Ref

DEFAULT_SECRET_NAME = "rudder-history-key"
SECRET_KEY = "key"
_SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def default_key_file() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "rudder" / "history.key"


def key_from_file(path: Path) -> HistoryKey:
    """The key in `path` (its bytes, trailing newline ignored); created (mode 0600) when missing."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise HistoryKeyError(f"history key file {path}: {exc.strerror}") from exc
    else:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(MIN_KEY_BYTES) + "\n")
    try:
        lines = [line for line in path.read_bytes().split(b"\n") if line]
    except OSError as exc:
        raise HistoryKeyError(f"history key file {path}: {exc.strerror}") from exc
    if not lines or any(len(line) < MIN_KEY_BYTES for line in lines):
        raise HistoryKeyError(f"history key file {path}: each key line must hold at least {MIN_KEY_BYTES} "
                              "bytes (a file being written by another process? start again)")
    return HistoryKey(lines[0], tuple(lines[1:]))


def key_from_secret(kube: Kube, namespace: str, name: str) -> HistoryKey:
    """The key in Secret `namespace/name` (data key `key`); created when missing."""
    ref = Ref("v1", "Secret", name, namespace)
    try:
        secret = kube.get(ref)
        if secret is None:
            body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                    "metadata": {"name": name, "namespace": namespace,
                                 "labels": {"app.kubernetes.io/managed-by": "rudder"}},
                    "data": {SECRET_KEY: base64.b64encode(secrets.token_bytes(MIN_KEY_BYTES)).decode()}}
            try:
                secret = kube.create(body)
            except KubeError as err:
                if not err.conflict:
                    raise
                secret = kube.get(ref)
    except KubeError as err:
        raise HistoryKeyError(f"history key Secret {namespace}/{name}: {err.message}") from err
    data = (secret or {}).get("data") or {}
    keys = [SECRET_KEY, *sorted(k for k in data if k.startswith("retired-"))]
    material: list[bytes] = []
    for field_name in keys:
        try:
            material.append(base64.b64decode(str(data.get(field_name) or ""), validate=True))
        except binascii.Error as exc:
            raise HistoryKeyError(f"history key Secret {namespace}/{name}: data.{field_name} is not base64") from exc
        if len(material[-1]) < MIN_KEY_BYTES:
            raise HistoryKeyError(f"history key Secret {namespace}/{name}: data.{field_name} must hold at least "
                                  f"{MIN_KEY_BYTES} bytes")
    return HistoryKey(material[0], tuple(material[1:]))


def load_history_key(kube: Kube, key_file: str | None, key_secret: str | None) -> HistoryKey:
    """The signing key from `--history-key-file`, `--history-key-secret NAMESPACE/NAME`, or the default."""
    if key_file:
        return key_from_file(Path(key_file))
    if key_secret:
        namespace, _, name = key_secret.partition("/")
        if not namespace or not name or "/" in name:
            raise HistoryKeyError(f"--history-key-secret {key_secret!r}: expected NAMESPACE/NAME")
        return key_from_secret(kube, namespace, name)
    if _SERVICE_ACCOUNT_NAMESPACE.exists():
        return key_from_secret(kube, _SERVICE_ACCOUNT_NAMESPACE.read_text().strip(), DEFAULT_SECRET_NAME)
    return key_from_file(default_key_file())
