"""Values layering: chart defaults, then valuesFrom contents in order, then spec.values."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from rudder.models import Values, ValuesFromRef, ValuesSourceKind
from rudder.render.errors import RenderError
from rudder.render.yamlio import load_one, yaml_error_position


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `override` over `base` into a new dict; neither input is changed.

    Maps merge recursively; any other value (lists included) replaces. A None in `override` deletes the key,
    which is how Helm lets a user drop a chart default.
    """
    merged: dict[str, Any] = copy.deepcopy(dict(base))
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(_without_nulls(value))
    return merged


def _without_nulls(value: Any) -> Any:
    # A null inside a new map means "absent" too, so it never reaches the templates as None-by-accident.
    if isinstance(value, Mapping):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


def merge_values(
    chart_defaults: Values, values_from: Sequence[Values], overrides: Values
) -> dict[str, Any]:
    """The values a chart is rendered with: defaults < valuesFrom[0] < valuesFrom[1] < ... < spec.values."""
    merged = dict(copy.deepcopy(dict(chart_defaults)))
    for layer in (*values_from, overrides):
        merged = deep_merge(merged, layer)
    return merged


def parse_values_document(text: str, source: str) -> Values | RenderError:
    """Parse one YAML values document (values.yaml, a valuesFrom key); empty text is an empty mapping.

    The error names `source` and the line, never the content, because valuesFrom may hold secrets.
    """
    try:
        data = load_one(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        line, problem = yaml_error_position(exc)
        return RenderError(source, line, f"invalid YAML: {problem}")
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        return RenderError(source, None, f"must be a YAML mapping, not {type(data).__name__}")
    return data


def parse_values_from(
    refs: Sequence[ValuesFromRef], contents: Sequence[str | None]
) -> tuple[Values, ...] | RenderError:
    """Parse the fetched contents of `spec.valuesFrom`, aligned with `refs`.

    `contents[i]` is the text of the referenced key, or None when the Secret/ConfigMap or key is missing;
    a missing optional reference contributes nothing, a missing required one is an error.
    """
    if len(refs) != len(contents):
        raise ValueError(f"{len(refs)} valuesFrom references but {len(contents)} contents")
    layers: list[Values] = []
    for i, (ref, text) in enumerate(zip(refs, contents, strict=True)):
        field_name = "secretKeyRef" if ref.kind is ValuesSourceKind.SECRET else "configMapKeyRef"
        source = f"spec.valuesFrom[{i}] ({ref.kind.value} {ref.name}, key {ref.key})"
        if text is None:
            if ref.optional:
                continue
            return RenderError(f"spec.valuesFrom[{i}].{field_name}", None,
                               f"{ref.kind.value} {ref.name} or its key {ref.key} not found")
        parsed = parse_values_document(text, source)
        if isinstance(parsed, RenderError):
            return parsed
        layers.append(parsed)
    return tuple(layers)
