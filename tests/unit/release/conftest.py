"""Shared helpers for the Release unit tests: example charts on disk and small object builders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rudder.domain import ReleaseIdentity
from rudder.render import Chart, chart_from_directory_files, read_chart_directory

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
OWNER = ReleaseIdentity(name="shop", namespace="prod", uid="uid-shop")


def load_example(name: str) -> Chart:
    chart = chart_from_directory_files(read_chart_directory(EXAMPLES / name))
    assert isinstance(chart, Chart), chart
    return chart


def obj(kind: str, name: str, api_version: str = "v1", **fields: Any) -> dict[str, Any]:
    """A minimal object; `metadata` entries may be passed as `labels=`, `annotations=`."""
    meta: dict[str, Any] = {"name": name}
    for key in ("labels", "annotations", "namespace", "ownerReferences", "generation", "uid"):
        if key in fields:
            meta[key] = fields.pop(key)
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **fields}


@pytest.fixture
def owner() -> ReleaseIdentity:
    return OWNER
