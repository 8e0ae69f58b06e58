"""Redaction of secret values: what must never appear in clear in history, status, Events, logs or CLI output.

The secrets are the values of `valuesFrom` Secret keys and the data of Secret objects. Each is looked for in
every form a chart can turn it into: as written, JSON-escaped (`tojson`, `quote`), and base64 (`b64enc`,
Secret `data`) including the three alignments it can have inside a longer base64 text.

How much of a text is replaced depends on the secret's length, so that a short secret does not erase every
word that happens to contain it:
- 8 characters or more: every occurrence, anywhere;
- 3 to 7 characters: every occurrence not glued to other letters or digits (`pw=hunter2;` but not
  `hunter2x`);
- 1 or 2 characters: only a whole value (a map value, a list item, a key) equal to it.
Numbers count by their text (`pin: 123456` in a Secret is the secret `123456`); booleans and nulls are not
secrets.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rudder.models import ValuesFromRef, ValuesSourceKind
from rudder.render import RenderError, parse_values_document

REDACTED = "(redacted)"
SUBSTRING_MIN = 8
TOKEN_MIN = 3
_B64_ALIGNED_MIN = 6  # a secret this long still leaves 8 stable characters at every base64 alignment
_WORD = "A-Za-z0-9"
# Separators of a values document that failed to parse: its words are then treated as secrets in messages.
_RAW_TOKEN = re.compile(r"[^\s:,\[\]{}'\"#&*!|>]+")


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float):
        return str(value)
    return None


def secret_leaves(tree: Any) -> set[str]:
    """Every string and number of a values tree, as text (keys are structure, not secrets)."""
    found: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
        else:
            text = _scalar_text(node)
            if text is not None:
                found.add(text)
    return found


def _b64_forms(raw: bytes) -> set[str]:
    forms = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        full = encode(raw).decode()
        forms.update({full, full.rstrip("=")})
        if len(raw) >= _B64_ALIGNED_MIN:
            # Inside a longer base64 text the secret starts at byte offset 0, 1 or 2 of a 3-byte group; the
            # characters that depend only on its bytes are the same whatever surrounds it.
            for offset in range(3):
                encoded = encode(b"\0" * offset + raw + b"\0\0").decode()
                first = -(-8 * offset // 6)
                last = (8 * (offset + len(raw))) // 6
                forms.add(encoded[first:last])
    return forms


def value_forms(secret: str) -> set[str]:
    """The forms a secret can take in rendered output: clear, JSON-escaped and base64."""
    forms = {secret}
    for ascii_only in (True, False):
        forms.add(json.dumps(secret, ensure_ascii=ascii_only)[1:-1])
    if len(secret) >= TOKEN_MIN:
        forms |= _b64_forms(secret.encode())
    else:
        forms |= {base64.b64encode(secret.encode()).decode()}
    return {f for f in forms if f}


@dataclass(frozen=True)
class Redactor:
    """Replaces known secret values by `(redacted)` in texts and in object trees (keys included)."""

    whole: frozenset[str] = frozenset()
    bounded: frozenset[str] = frozenset()  # TOKEN_MIN..SUBSTRING_MIN-1 characters
    anywhere: frozenset[str] = frozenset()  # SUBSTRING_MIN characters or more
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, secrets: Iterable[str]) -> Redactor:
        """A redactor for `secrets` (raw values; their forms are derived here)."""
        whole: set[str] = set()
        bounded: set[str] = set()
        anywhere: set[str] = set()
        for secret in secrets:
            for form in value_forms(secret) if secret else ():
                whole.add(form)
                if len(form) >= SUBSTRING_MIN:
                    anywhere.add(form)
                elif len(form) >= TOKEN_MIN:
                    bounded.add(form)
        return cls._build(frozenset(whole), frozenset(bounded), frozenset(anywhere))

    @classmethod
    def _build(cls, whole: frozenset[str], bounded: frozenset[str], anywhere: frozenset[str]) -> Redactor:
        parts = [re.escape(s) for s in sorted(anywhere, key=len, reverse=True)]
        parts += [rf"(?<![{_WORD}]){re.escape(s)}(?![{_WORD}])" for s in sorted(bounded, key=len, reverse=True)]
        pattern = re.compile("|".join(parts)) if parts else None
        return cls(whole, bounded, anywhere, pattern)

    def merged(self, other: Redactor) -> Redactor:
        """A redactor for the secrets of both."""
        if not other:
            return self
        if not self:
            return other
        return Redactor._build(self.whole | other.whole, self.bounded | other.bounded, self.anywhere | other.anywhere)

    def __bool__(self) -> bool:
        return bool(self.whole)

    def text(self, text: str) -> str:
        """`text` with every secret occurrence replaced (see the module docstring for the length rules)."""
        if not self.whole or not text:
            return text
        if text in self.whole:
            return REDACTED
        return self._pattern.sub(REDACTED, text) if self._pattern is not None else text

    def key(self, text: str) -> str:
        """A map key or field path redacted: whole matches and long secrets only, so that a short secret
        (`app`) does not eat the words of well-known keys (`app.kubernetes.io/name`)."""
        if not self.whole or not text:
            return text
        if text in self.whole:
            return REDACTED
        for secret in sorted(self.anywhere, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text

    def reveals(self, text: str) -> bool:
        """True when `text` holds a secret (what `text()` would change)."""
        return self.text(text) != text

    def tree(self, node: Any) -> Any:
        """A copy of a plain object tree with secrets redacted in string values, numbers and map keys."""
        if not self.whole:
            return node
        if isinstance(node, Mapping):
            out: dict[Any, Any] = {}
            for key, value in node.items():
                new_key = self.key(key) if isinstance(key, str) else key
                if new_key != key:
                    # Two redacted keys must not collapse into one entry.
                    base, n = new_key, 2
                    while new_key in out or new_key in node:
                        new_key, n = f"{base}-{n}", n + 1
                out[new_key] = self.tree(value)
            return out
        if isinstance(node, list):
            return [self.tree(value) for value in node]
        if isinstance(node, str):
            return self.text(node)
        text = _scalar_text(node)
        if text is not None and text in self.whole:
            return REDACTED
        return node


EMPTY = Redactor()


def raw_document_secrets(text: str, parsed: Any | None) -> set[str]:
    """The secrets of one valuesFrom Secret key: its values when it parsed (`parsed`), else every word of
    the raw text (a YAML error must not quote any part of it), and the whole text itself."""
    found = {text.strip()} if text.strip() else set()
    if parsed is not None:
        return found | secret_leaves(parsed)
    return found | {t for t in _RAW_TOKEN.findall(text) if len(t) >= TOKEN_MIN}


def secret_object_values(objects: Sequence[Mapping[str, Any]]) -> set[str]:
    """The values of v1 Secret objects: `stringData` as written, `data` base64-decoded (and as stored)."""
    found: set[str] = set()
    for obj in objects:
        if not (isinstance(obj, Mapping) and obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1"):
            continue
        for key in ("data", "stringData"):
            section = obj.get(key)
            if not isinstance(section, Mapping):
                continue
            for value in section.values():
                if not isinstance(value, str) or not value:
                    continue
                found.add(value)
                if key == "data":
                    with contextlib.suppress(ValueError):  # binascii.Error, UnicodeDecodeError
                        found.add(base64.b64decode(value, validate=True).decode())
    return {v for v in found if v}


def values_from_redactor(refs: Sequence[ValuesFromRef], contents: Sequence[str | None]) -> Redactor:
    """The redactor of a Release's valuesFrom Secret keys (`contents[i]` is the text behind `refs[i]`).

    ConfigMap sources are not secrets: whoever may read the Release may read them too.
    """
    secrets: set[str] = set()
    for ref, text in zip(refs, contents, strict=False):
        if ref.kind is not ValuesSourceKind.SECRET or not text:
            continue
        parsed = parse_values_document(text, "valuesFrom")
        secrets |= raw_document_secrets(text, None if isinstance(parsed, RenderError) else parsed)
    return Redactor.of(secrets)

