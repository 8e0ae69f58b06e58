"""`--shard SELECTOR`: which Releases and CanaryReleases one controller handles, so several controller
Deployments split one cluster (as Flux's `sharding.fluxcd.io/key`).

The selector is Kubernetes label-selector syntax, comma-separated requirements, all of which must hold:
`key=value` (or `==`), `key!=value`, `key`, `!key`, `key in (a,b)`, `key notin (a,b)`. It becomes one kopf
label filter per key, applied to every handler, so a controller neither reconciles nor adds its finalizer to
an object outside its shard.

Each shard has its own finalizer name: kopf removes its finalizer from every object its filters exclude, so
with one shared name the shards would strip each other's finalizers in turn. The unsharded controller keeps
`rudder.dev/finalizer`; a shard's is derived from its selector (see `finalizer`). Relabelling an object moves
it: the old shard drops its finalizer, the new one adds its own.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Any

SHARD_LABEL = "rudder.dev/shard"
FINALIZER = "rudder.dev/finalizer"

# A label key: optional DNS-subdomain prefix and '/', then a name of up to 63 characters.
_KEY = r"(?:[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_VALUE = r"(?:[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?"
_SET = re.compile(rf"\s*(?P<key>{_KEY})\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)\s*")
_CMP = re.compile(rf"\s*(?P<key>{_KEY})\s*(?P<op>==|!=|=)\s*(?P<value>{_VALUE})\s*")
_EXISTS = re.compile(rf"\s*(?P<neg>!?)\s*(?P<key>{_KEY})\s*")

LabelTest = Callable[..., bool]


class ShardError(ValueError):
    """A --shard selector that cannot be parsed; the message names the requirement."""


def _requirements(selector: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, current = [], 0, ""
    for ch in selector:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def _test(requirement: str) -> tuple[str, LabelTest]:
    if m := _SET.fullmatch(requirement):
        values = frozenset(v.strip() for v in m["values"].split(",") if v.strip())
        if not values or not all(re.fullmatch(_VALUE, v) for v in values):
            raise ShardError(f"--shard: {requirement.strip()!r}: expected a list of label values in (...)")
        if m["op"] == "in":
            return m["key"], lambda value, **_: value in values
        return m["key"], lambda value, **_: value not in values
    if m := _CMP.fullmatch(requirement):
        wanted = m["value"]
        if m["op"] == "!=":
            return m["key"], lambda value, **_: value != wanted
        return m["key"], lambda value, **_: value == wanted
    if m := _EXISTS.fullmatch(requirement):
        if m["neg"]:
            return m["key"], lambda value, **_: value is None
        return m["key"], lambda value, **_: value is not None
    raise ShardError(
        f"--shard: cannot parse {requirement.strip()!r}; expected key=value, key!=value, key, !key, "
        "key in (a,b) or key notin (a,b)")


def parse_shard(selector: str) -> Mapping[str, LabelTest]:
    """The kopf `labels=` filter of a --shard selector (one test per key; a key named twice is refused)."""
    if not selector.strip():
        raise ShardError("--shard: empty selector")
    tests: dict[str, LabelTest] = {}
    for requirement in _requirements(selector):
        if not requirement.strip():
            raise ShardError(f"--shard: empty requirement in {selector!r}")
        key, test = _test(requirement)
        if key in tests:
            raise ShardError(f"--shard: label {key!r} appears twice in {selector!r}; name each key once")
        tests[key] = test
    return tests


def equalities(selector: str) -> tuple[tuple[str, str], ...]:
    """The `key=value` (and one-value `key in (v)`) requirements of a parsable selector: what an index of
    label pairs can answer before the full test."""
    pairs: list[tuple[str, str]] = []
    for requirement in _requirements(selector):
        if (m := _CMP.fullmatch(requirement)) and m["op"] != "!=":
            pairs.append((m["key"], m["value"]))
        elif (m := _SET.fullmatch(requirement)) and m["op"] == "in":
            values = {v.strip() for v in m["values"].split(",") if v.strip()}
            if len(values) == 1:
                pairs.append((m["key"], values.pop()))
    return tuple(pairs)


def matches(tests: Mapping[str, LabelTest], labels: Mapping[str, str]) -> bool:
    """Whether an object with `labels` is in the shard (what kopf evaluates for each handler)."""
    return all(test(labels.get(key)) for key, test in tests.items())


def handler_labels(shard: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The `labels=` argument for kopf handlers: None (every object) without a shard."""
    return dict(shard) if shard else None


def canonical(selector: str) -> str:
    """The selector with blanks removed and requirements sorted: spelling variants name the same shard."""
    return ",".join(sorted(re.sub(r"\s+", "", r) for r in _requirements(selector)))


def finalizer(selector: str | None) -> str:
    """The finalizer this controller owns: `rudder.dev/finalizer` unsharded, `rudder.dev/shard-<digest>` of
    the canonical selector for a shard."""
    if not selector:
        return FINALIZER
    return f"rudder.dev/shard-{hashlib.sha256(canonical(selector).encode()).hexdigest()[:12]}"
