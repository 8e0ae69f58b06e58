"""Which namespaces the controller serves, as the watch-fed caches need to know it.

The patterns follow kopf's syntax (what --namespace takes): comma-separated globs with `*` and `?`; a glob
starting with `!` excludes; when the first glob excludes, a catch-all precedes it; a later inclusive glob
only re-includes what an exclusion removed. Exact names (no glob, no negation) are watched one by one;
anything else is watched cluster-wide and filtered here.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

_EXACT = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def match_pattern(namespace: str, pattern: str) -> bool:
    """Whether `namespace` matches one kopf namespace pattern."""
    globs = [g.strip() for g in pattern.split(",") if g.strip()]
    matched = bool(globs) and globs[0].startswith("!")
    for i, glob in enumerate(globs):
        if glob.startswith("!"):
            if fnmatch.fnmatchcase(namespace, glob[1:]):
                matched = False
        elif i == 0:
            matched = fnmatch.fnmatchcase(namespace, glob)
        elif not matched and fnmatch.fnmatchcase(namespace, glob) and _included_first(namespace, globs):
            matched = True
    return matched


def _included_first(namespace: str, globs: list[str]) -> bool:
    first = globs[0]
    return first.startswith("!") or fnmatch.fnmatchcase(namespace, first)


@dataclass(frozen=True)
class NamespaceScope:
    """The served namespaces: `exact` names (watched one by one) or `patterns` (filtered); neither: all."""

    exact: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()

    @classmethod
    def of(cls, namespaces: tuple[str, ...]) -> NamespaceScope:
        if namespaces and all(_EXACT.fullmatch(ns) for ns in namespaces):
            return cls(exact=tuple(dict.fromkeys(namespaces)))
        return cls(patterns=namespaces)

    @property
    def everything(self) -> bool:
        return not self.exact and not self.patterns

    def matches(self, namespace: str) -> bool:
        if self.exact:
            return namespace in self.exact
        return not self.patterns or any(match_pattern(namespace, p) for p in self.patterns)
