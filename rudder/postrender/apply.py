"""Applying `spec.postRender` to rendered objects: common metadata on every object, then each patch, in
order, to the objects its target selects. All or nothing: any problem is a `FieldError` naming the
spec field, and no patched object is returned.

A patch adjusts objects; it never changes which object it is: apiVersion, kind, metadata.name and the
namespace are checked after every patch (a namespace equal to the Release's own is allowed). The validation
of rendered objects runs after this step as well, so namespace confinement holds whatever a patch does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import yaml

from rudder.models import FieldError
from rudder.postrender.json6902 import PatchError, apply_json_patch, check_operations
from rudder.postrender.spec import FIELD, PatchSpec, PatchTarget, PostRender
from rudder.postrender.strategic import strategic_merge
from rudder.render.engine import RenderedObject
from rudder.render.yamlio import load_one, to_plain, yaml_error_position
from rudder.sharding import matches, parse_shard


@dataclass(frozen=True)
class _Compiled:
    index: int
    target: PatchTarget
    strategic: Mapping[str, Any] | None = None
    operations: tuple[Mapping[str, Any], ...] = ()


class _Failed(Exception):
    def __init__(self, error: FieldError) -> None:
        super().__init__(str(error))
        self.error = error


def post_render(
    spec: PostRender, objects: Sequence[RenderedObject], namespace: str
) -> tuple[RenderedObject, ...] | FieldError:
    """The rendered objects with `spec` applied (the inputs are not changed)."""
    if spec.empty:
        return tuple(objects)
    try:
        compiled = [_compile(i, p) for i, p in enumerate(spec.patches)]
        bodies = [_with_common_metadata(to_plain(item.body), spec) for item in objects]
        for patch in compiled:
            bodies = _apply(patch, bodies, namespace)
    except _Failed as failed:
        return failed.error
    return tuple(RenderedObject(item.template, item.index, body)
                 for item, body in zip(objects, bodies, strict=True))


def _field(index: int, name: str) -> str:
    return f"{FIELD}.patches[{index}].{name}"


def _compile(index: int, spec: PatchSpec) -> _Compiled:
    try:
        document = load_one(spec.patch)
    except yaml.YAMLError as err:
        line, problem = yaml_error_position(err)
        raise _Failed(FieldError(_field(index, "patch"), f"line {line}: {problem}" if line else problem)) \
            from None
    if isinstance(document, list):
        if spec.target is None:
            raise _Failed(FieldError(_field(index, "target"), "is required for a JSON 6902 patch"))
        try:
            operations = check_operations(document)
        except PatchError as err:
            raise _Failed(FieldError(_field(index, "patch"), str(err))) from None
        return _Compiled(index, spec.target, operations=tuple(operations))
    if not isinstance(document, Mapping):
        raise _Failed(FieldError(_field(index, "patch"), "must be a strategic merge patch (a YAML mapping) "
                                                              "or a JSON 6902 patch (a list of operations)"))
    target = spec.target or _own_target(index, document)
    return _Compiled(index, target, strategic=document)


def _own_target(index: int, patch: Mapping[str, Any]) -> PatchTarget:
    """The object a strategic merge patch without target names itself (as kustomize reads it)."""
    meta = patch.get("metadata")
    name = meta.get("name") if isinstance(meta, Mapping) else None
    api_version, kind = patch.get("apiVersion"), patch.get("kind")
    if not (isinstance(name, str) and isinstance(api_version, str) and isinstance(kind, str)):
        raise _Failed(FieldError(
            _field(index, "target"),
            "is required unless the strategic merge patch names its object (apiVersion, kind, metadata.name)"))
    group, _, version = api_version.rpartition("/")
    # A name here is literal: the wildcards are for targets only.
    return PatchTarget(group=group, version=version, kind=_literal(kind), name=_literal(name))


def _literal(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _meta(body: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = body.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _with_common_metadata(body: Any, spec: PostRender) -> Any:
    if not isinstance(body, dict) or not (spec.labels or spec.annotations):
        return body
    meta = body.setdefault("metadata", {})
    if not isinstance(meta, dict):
        return body  # validation reports it
    for key, values in (("labels", spec.labels), ("annotations", spec.annotations)):
        if values:
            current = meta.get(key)
            meta[key] = {**(current if isinstance(current, Mapping) else {}), **values}
    return body


def _text_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def selects(target: PatchTarget, body: Any) -> bool:
    """Whether `target` selects the rendered object `body`."""
    if not isinstance(body, Mapping):
        return False
    group, _, version = str(body.get("apiVersion", "")).rpartition("/")
    meta = _meta(body)
    wanted = ((target.group, group), (target.version, version), (target.kind, str(body.get("kind", ""))),
              (target.name, str(meta.get("name", ""))))
    if any(pattern is not None and not fnmatchcase(value, pattern) for pattern, value in wanted):
        return False
    for selector, key in ((target.label_selector, "labels"), (target.annotation_selector, "annotations")):
        if selector is not None and not matches(parse_shard(selector), _text_map(meta.get(key))):
            return False
    return True


def _describe(body: Mapping[str, Any]) -> str:
    return f"{body.get('kind', '?')}/{_meta(body).get('name', '?')}"


def _apply(patch: _Compiled, bodies: list[Any], namespace: str) -> list[Any]:
    where = _field(patch.index, "patch")
    hits = [n for n, body in enumerate(bodies) if selects(patch.target, body)]
    if not hits:
        raise _Failed(FieldError(_field(patch.index, "target"),
                                      f"matches no rendered object ({_show(patch.target)})"))
    out = list(bodies)
    for n in hits:
        body = bodies[n]
        try:
            if patch.strategic is not None:
                patched = strategic_merge(body, patch.strategic)
            else:
                patched = apply_json_patch(body, patch.operations)
        except PatchError as err:
            raise _Failed(FieldError(where, f"{_describe(body)}: {err}")) from None
        if not isinstance(patched, dict):
            raise _Failed(FieldError(where, f"{_describe(body)}: the result is not an object"))
        escape = _identity_change(body, patched, namespace)
        if escape:
            raise _Failed(FieldError(where, f"{_describe(body)}: {escape}"))
        out[n] = patched
    return out


def _show(target: PatchTarget) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in target.to_dict().items()) or "any object"


def _identity_change(before: Mapping[str, Any], after: Mapping[str, Any], namespace: str) -> str | None:
    """Why `after` is not the same object as `before`, when a patch changed its identity."""
    for key in ("apiVersion", "kind"):
        if after.get(key) != before.get(key):
            return f"a patch may not change {key} ({before.get(key)!r} -> {after.get(key)!r})"
    if not isinstance(after.get("metadata"), Mapping):
        return "a patch may not remove metadata"
    if _meta(after).get("name") != _meta(before).get("name"):
        return f"a patch may not change metadata.name ({_meta(before).get('name')!r} -> {_meta(after).get('name')!r})"
    old, new = _meta(before).get("namespace") or namespace, _meta(after).get("namespace") or namespace
    if new not in (old, namespace):  # moving an object into the Release's namespace is a fix, not an escape
        return f"a patch may not move an object out of the Release's namespace {namespace!r} (metadata.namespace " \
               f"{new!r})"
    return None
