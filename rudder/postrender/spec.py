"""`spec.postRender` of a Release as typed values, and its parser (used by `rudder.models`).

The parser checks structure only (types, target patterns and selectors, label and annotation syntax);
the patch documents themselves are YAML text, read when they are applied (see `rudder.postrender.apply`).
Problems come back as (field path, message) pairs so `rudder.models` reports them with the rest of the spec.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rudder.sharding import ShardError, parse_shard

FIELD = "spec.postRender"
MAX_PATCHES = 64
MAX_PATCH_CHARS = 65_536  # as the CRD's maxLength: the text is stored in every ReleaseHistory
RESERVED_PREFIX = "rudder.dev/"  # Rudder's own labels and annotations: a patch may not set them
TARGET_FIELDS = ("group", "version", "kind", "name", "labelSelector", "annotationSelector")

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_KEY = re.compile(rf"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{_NAME}")
_LABEL_VALUE = re.compile(rf"({_NAME})?")

Problems = list[tuple[str, str]]


@dataclass(frozen=True)
class PatchTarget:
    """Which rendered objects a patch applies to: every given field must match. group, version, kind and
    name take shell-style wildcards (`*`, `?`, `[..]`); the selectors are Kubernetes label-selector syntax."""

    group: str | None = None
    version: str | None = None
    kind: str | None = None
    name: str | None = None
    label_selector: str | None = None
    annotation_selector: str | None = None

    def to_dict(self) -> dict[str, str]:
        values = (self.group, self.version, self.kind, self.name, self.label_selector, self.annotation_selector)
        return {k: v for k, v in zip(TARGET_FIELDS, values, strict=True) if v is not None}


@dataclass(frozen=True)
class PatchSpec:
    """One `spec.postRender.patches[]` entry: YAML text of a strategic merge patch (a mapping) or a JSON
    6902 patch (a list of operations), and its target (optional for a strategic merge patch naming its
    object by apiVersion, kind and metadata.name)."""

    patch: str
    target: PatchTarget | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"patch": self.patch}
        if self.target is not None:
            out["target"] = self.target.to_dict()
        return out


@dataclass(frozen=True, eq=False)
class PostRender:
    """`spec.postRender`: common metadata for every rendered object, then patches in order."""

    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    patches: tuple[PatchSpec, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.labels or self.annotations or self.patches)

    def to_dict(self) -> dict[str, Any]:
        """The raw spec form: part of the content digest, stored in ReleaseHistory, restored on rollback."""
        out: dict[str, Any] = {}
        common = {k: dict(v) for k, v in (("labels", self.labels), ("annotations", self.annotations)) if v}
        if common:
            out["commonMetadata"] = common
        if self.patches:
            out["patches"] = [p.to_dict() for p in self.patches]
        return out


def _string(raw: Any, path: str, problems: Problems) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw:
        problems.append((path, f"must be a non-empty string, not {raw!r}"[:200]))
        return None
    return raw


def _metadata_map(raw: Any, path: str, problems: Problems, *, labels: bool) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.append((path, f"must be a mapping of strings, not {type(raw).__name__}"))
        return {}
    out: dict[str, str] = {}
    for key, value in raw.items():
        where = f"{path}[{key!r}]"
        if not isinstance(key, str) or len(key) > 316 or not _KEY.fullmatch(key):
            problems.append((where, "is not a valid key (an optional DNS prefix and '/', then a name of up to "
                                    "63 letters, digits, '-', '_' or '.')"))
        elif key.startswith(RESERVED_PREFIX):
            problems.append((where, f"keys under {RESERVED_PREFIX} are Rudder's own"))
        elif not isinstance(value, str):
            problems.append((where, f"must be a string, not {type(value).__name__}"))
        elif labels and not _LABEL_VALUE.fullmatch(value):
            problems.append((where, "is not a valid label value (up to 63 letters, digits, '-', '_' or '.')"))
        else:
            out[key] = value
    return out


def _selector(raw: Any, path: str, problems: Problems) -> str | None:
    text = _string(raw, path, problems)
    if text is None:
        return None
    try:
        parse_shard(text)
    except ShardError as err:
        problems.append((path, str(err).removeprefix("--shard: ")))
        return None
    return text


def _target(raw: Any, path: str, problems: Problems) -> PatchTarget | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        problems.append((path, f"must be a mapping, not {type(raw).__name__}"))
        return None
    unknown = sorted(str(k) for k in raw if k not in TARGET_FIELDS)
    if unknown:
        problems.append((path, f"unknown field(s) {', '.join(unknown)}; a target has {', '.join(TARGET_FIELDS)} "
                               "(objects are always in the Release's namespace)"))
    if raw.get("group") == "":  # the core group is spelled as an empty string
        group: str | None = ""
    else:
        group = _string(raw.get("group"), f"{path}.group", problems)
    return PatchTarget(
        group=group,
        version=_string(raw.get("version"), f"{path}.version", problems),
        kind=_string(raw.get("kind"), f"{path}.kind", problems),
        name=_string(raw.get("name"), f"{path}.name", problems),
        label_selector=_selector(raw.get("labelSelector"), f"{path}.labelSelector", problems),
        annotation_selector=_selector(raw.get("annotationSelector"), f"{path}.annotationSelector", problems),
    )


def parse_post_render(raw: Any) -> tuple[PostRender, Problems]:
    """The typed `spec.postRender` and every problem found (empty when it is usable)."""
    problems: Problems = []
    if raw is None:
        return PostRender(), problems
    if not isinstance(raw, Mapping):
        return PostRender(), [(FIELD, f"must be a mapping, not {type(raw).__name__}")]
    common = raw.get("commonMetadata")
    if common is not None and not isinstance(common, Mapping):
        problems.append((f"{FIELD}.commonMetadata", f"must be a mapping, not {type(common).__name__}"))
        common = None
    common = common or {}
    labels = _metadata_map(common.get("labels"), f"{FIELD}.commonMetadata.labels", problems, labels=True)
    annotations = _metadata_map(common.get("annotations"), f"{FIELD}.commonMetadata.annotations", problems,
                                labels=False)
    patches: list[PatchSpec] = []
    raw_patches = raw.get("patches")
    if raw_patches is not None and not isinstance(raw_patches, list):
        problems.append((f"{FIELD}.patches", f"must be a list, not {type(raw_patches).__name__}"))
        raw_patches = []
    if raw_patches and len(raw_patches) > MAX_PATCHES:
        problems.append((f"{FIELD}.patches", f"at most {MAX_PATCHES} patches"))
    for i, entry in enumerate(raw_patches or ()):
        path = f"{FIELD}.patches[{i}]"
        if not isinstance(entry, Mapping):
            problems.append((path, f"must be a mapping with patch and target, not {type(entry).__name__}"))
            continue
        text = entry.get("patch")
        if not isinstance(text, str) or not text.strip():
            problems.append((f"{path}.patch", "is required: the YAML or JSON text of a strategic merge patch "
                                              "or of a JSON 6902 patch"))
            continue
        if len(text) > MAX_PATCH_CHARS:
            problems.append((f"{path}.patch", f"longer than {MAX_PATCH_CHARS} characters"))
            continue
        patches.append(PatchSpec(patch=text, target=_target(entry.get("target"), f"{path}.target", problems)))
    return PostRender(labels=labels, annotations=annotations, patches=tuple(patches)), problems
