"""Content digests: what decides whether a Release's desired state changed.

A digest covers the chart spec, the chart ConfigMap's data (for configMapRef sources), spec.values, a
digest of each valuesFrom content (never the content itself) and spec.postRender when set.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from rudder.models import ConfigMapChartRef, ReleaseSpec
from rudder.render.yamlio import to_plain


def canonical_json(data: Any) -> str:
    """Key-sorted, whitespace-free JSON: equal data gives equal text, whatever the key order."""
    return json.dumps(to_plain(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    """Hex SHA-256 of UTF-8 text."""
    return hashlib.sha256(text.encode()).hexdigest()


def values_from_digest(spec: ReleaseSpec, contents: Sequence[str | None]) -> str:
    """One digest over the valuesFrom references and the SHA-256 of each content (None when missing)."""
    entries = [
        {"ref": ref.to_dict(), "sha256": None if text is None else sha256_hex(text)}
        for ref, text in zip(spec.values_from, contents, strict=True)
    ]
    return sha256_hex(canonical_json(entries))


def content_digest(
    spec: ReleaseSpec,
    *,
    config_map_data: Mapping[str, str] | None = None,
    values_from_contents: Sequence[str | None] = (),
) -> str:
    """`sha256:<hex>` of everything that determines a revision's content.

    Unchanged digest means no new revision and no writes; the I/O layer passes the same fetched data it
    renders with, so a change to a referenced ConfigMap or Secret changes the digest.
    """
    chart_data = None
    if isinstance(spec.chart.source, ConfigMapChartRef):
        chart_data = None if config_map_data is None else sha256_hex(canonical_json(config_map_data))
    document = {
        "chart": spec.chart.to_dict(),
        "chartData": chart_data,
        "values": spec.values,
        "valuesFrom": values_from_digest(spec, values_from_contents),
    }
    if not spec.post_render.empty:
        # Only when set, so Releases without post-render patches keep the digests they had.
        document["postRender"] = spec.post_render.to_dict()
    return "sha256:" + sha256_hex(canonical_json(document))
