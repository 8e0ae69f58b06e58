"""Per-version behaviour of the simulated application: error rate and latency distribution.

Profiles are keyed by image tag (the "version" of a pod's main container); tags without a
profile use the default. A version profile only overrides the fields it names, so switching a
version to "bad" is one line: `versions: {"2.0": {errorRate: 0.3}}`.

Latency is lognormal: `median` seconds and `sigma` (standard deviation of the log); sigma 0
means every request takes exactly `median`.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

_PROFILE_KEYS = {"errorRate", "latency"}
_LATENCY_KEYS = {"median", "sigma"}
_TOP_KEYS = {"default", "versions"}


class ProfileError(ValueError):
    """A profile document is malformed; the message names the offending field."""


@dataclass(frozen=True)
class Profile:
    error_rate: float = 0.0
    latency_median: float = 0.05
    latency_sigma: float = 0.25

    def __post_init__(self) -> None:
        if not 0.0 <= self.error_rate <= 1.0:
            raise ProfileError(f"errorRate must be within [0, 1], got {self.error_rate}")
        if not (self.latency_median > 0 and math.isfinite(self.latency_median)):
            raise ProfileError(f"latency.median must be positive seconds, got {self.latency_median}")
        if not (self.latency_sigma >= 0 and math.isfinite(self.latency_sigma)):
            raise ProfileError(f"latency.sigma must be >= 0, got {self.latency_sigma}")

    def sample_latency(self, rng: random.Random) -> float:
        if self.latency_sigma == 0:
            return self.latency_median
        return rng.lognormvariate(math.log(self.latency_median), self.latency_sigma)

    def merged(self, doc: Mapping[str, Any], where: str) -> Profile:
        """This profile with the fields of a profile document laid over it."""
        if not isinstance(doc, Mapping):
            raise ProfileError(f"{where}: expected a mapping, got {type(doc).__name__}")
        _reject_unknown(doc, _PROFILE_KEYS, where)
        changes: dict[str, float] = {}
        if "errorRate" in doc:
            changes["error_rate"] = _number(doc["errorRate"], f"{where}.errorRate")
        latency = doc.get("latency")
        if latency is not None:
            if not isinstance(latency, Mapping):
                raise ProfileError(f"{where}.latency: expected a mapping")
            _reject_unknown(latency, _LATENCY_KEYS, f"{where}.latency")
            if "median" in latency:
                changes["latency_median"] = _number(latency["median"], f"{where}.latency.median")
            if "sigma" in latency:
                changes["latency_sigma"] = _number(latency["sigma"], f"{where}.latency.sigma")
        try:
            return replace(self, **changes)
        except ProfileError as exc:
            raise ProfileError(f"{where}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        return {
            "errorRate": self.error_rate,
            "latency": {"median": self.latency_median, "sigma": self.latency_sigma},
        }


@dataclass(frozen=True)
class ProfileSet:
    """The default profile plus per-tag overrides, as already merged profiles."""

    default: Profile = field(default_factory=Profile)
    versions: Mapping[str, Profile] = field(default_factory=dict)

    def for_tag(self, tag: str) -> Profile:
        return self.versions.get(tag, self.default)

    def with_version(self, tag: str, doc: Mapping[str, Any]) -> ProfileSet:
        """A copy where `tag` gets the default overlaid with `doc`."""
        profile = self.default.merged(doc, f"versions.{tag}")
        return ProfileSet(self.default, {**self.versions, tag: profile})

    def without_version(self, tag: str) -> ProfileSet:
        return ProfileSet(self.default, {k: v for k, v in self.versions.items() if k != tag})

    @classmethod
    def from_dict(cls, doc: Any) -> ProfileSet:
        if doc is None:
            return cls()
        if not isinstance(doc, Mapping):
            raise ProfileError(f"profile document: expected a mapping, got {type(doc).__name__}")
        _reject_unknown(doc, _TOP_KEYS, "profile document")
        default = Profile().merged(doc.get("default") or {}, "default")
        versions_doc = doc.get("versions") or {}
        if not isinstance(versions_doc, Mapping):
            raise ProfileError("versions: expected a mapping of image tag to profile")
        # YAML reads an unquoted tag like 2.0 as a float; the tag is text either way.
        versions = {str(tag): default.merged(p or {}, f"versions.{tag}") for tag, p in versions_doc.items()}
        return cls(default, versions)

    @classmethod
    def from_yaml(cls, text: str) -> ProfileSet:
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ProfileError(f"not valid YAML: {exc}") from None
        return cls.from_dict(doc)

    def to_dict(self) -> dict[str, Any]:
        return {
            "default": self.default.to_dict(),
            "versions": {tag: p.to_dict() for tag, p in sorted(self.versions.items())},
        }


class ProfileFile:
    """A profile file that is re-read when it changes (modification time or size).

    A broken edit is logged once and ignored, keeping the last good profiles, so a half-written
    file never takes the simulator down.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._signature: tuple[int, int] | None = None

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def load(self) -> ProfileSet:
        """Read the file now; errors propagate (used at start-up, where failing loudly is right)."""
        self._signature = self._stat()
        return ProfileSet.from_yaml(self.path.read_text())

    def poll(self) -> ProfileSet | None:
        """New profiles when the file changed and parses; None otherwise."""
        signature = self._stat()
        if signature is None or signature == self._signature:
            return None
        self._signature = signature
        try:
            profiles = ProfileSet.from_yaml(self.path.read_text())
        except (OSError, ProfileError) as exc:
            log.warning("ignoring profile file %s: %s", self.path, exc)
            return None
        log.info("reloaded profiles from %s", self.path)
        return profiles


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProfileError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _reject_unknown(doc: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(str(k) for k in doc if k not in allowed)
    if unknown:
        allowed_text = ", ".join(sorted(allowed))
        raise ProfileError(f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {allowed_text}")
