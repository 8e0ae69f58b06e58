"""The secrets known while one Release is reconciled, and the redaction of every text that leaves through
the write boundary (status messages, Events, errors that kopf logs and posts).

Messages come from many places (the renderer, YAML, the API server quoting a rejected value); rather than
trusting each to leave values out, everything written to a Release's status or Events passes `redact`,
which knows the valuesFrom Secret values and the Secret objects' data of the reconcile in progress. The
scope is a context variable, so concurrent reconciles (one per worker thread) never see each other's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

from rudder.domain.redaction import EMPTY, Redactor, secret_object_values

_CURRENT: ContextVar[Redactor] = ContextVar("rudder_secrets", default=EMPTY)
# Free-text fields of a Release status; structured fields (phase, revision, counts) are never secrets and
# must keep their schema types.
_TEXT_FIELDS = ("message", "notes")
_TEXT_LISTS = ("conditions", "resources")


@contextlib.contextmanager
def scope(redactor: Redactor = EMPTY) -> Iterator[None]:
    """Secrets known for the duration of a block (one reconcile)."""
    token = _CURRENT.set(redactor)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def remember(redactor: Redactor) -> None:
    """Add secrets to the current scope (e.g. a restored revision's valuesFrom)."""
    _CURRENT.set(_CURRENT.get().merged(redactor))


def remember_objects(objects: Sequence[Mapping[str, Any]]) -> None:
    """Add the data of the Secret objects about to be sent."""
    values = secret_object_values(objects)
    if values:
        remember(Redactor.of(values))


def redact(text: str) -> str:
    """`text` without any secret known in the current scope."""
    return _CURRENT.get().text(text)


def redact_status(status: Mapping[str, Any]) -> dict[str, Any]:
    """A status patch with its free-text fields redacted."""
    current = _CURRENT.get()
    if not current:
        return dict(status)
    out = dict(status)
    for key in _TEXT_FIELDS:
        if isinstance(out.get(key), str):
            out[key] = current.text(out[key])
    for key in _TEXT_LISTS:
        items = out.get(key)
        if isinstance(items, list):
            out[key] = [
                {**item, "message": current.text(item["message"])}
                if isinstance(item, Mapping) and isinstance(item.get("message"), str) else item
                for item in items
            ]
    return out
