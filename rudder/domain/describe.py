"""Human descriptions of revisions: what changed and why (install, upgrade, rollback, promotion)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

_MAX_PATHS = 5  # a description is a summary; the full diff is one `rudder diff` away


class RevisionSource(StrEnum):
    """Why a revision exists (the ReleaseHistory's `source.kind`)."""

    INSTALL = "Install"
    UPGRADE = "Upgrade"
    PROMOTION = "Promotion"


def changed_paths(before: Any, after: Any, prefix: str = "") -> list[str]:
    """Dotted paths whose values differ between two values trees (maps compared key by key)."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        paths: list[str] = []
        for key in sorted({*before, *after}, key=str):
            child = f"{prefix}.{key}" if prefix else str(key)
            if key not in before or key not in after:
                paths.append(child)
            else:
                paths.extend(changed_paths(before[key], after[key], child))
        return paths
    return [] if before == after else [prefix or "(root)"]


def summarize_changes(
    previous: Mapping[str, Any] | None,
    chart: Mapping[str, Any],
    values: Mapping[str, Any],
    content_digest: str,
    post_render: Mapping[str, Any] | None = None,
) -> tuple[str, ...]:
    """What differs from the previous revision's stored spec: `chart`, `values (a.b, c)`, `postRender`, or, when none
    explains a different content digest, `referenced ConfigMap/Secret content` (valuesFrom or a chart
    ConfigMap). Only paths of spec.values are named, never referenced content.
    """
    if previous is None:
        return ()
    changes: list[str] = []
    if previous.get("chart") != chart:
        changes.append("chart")
    paths = changed_paths(previous.get("values") or {}, values)
    if paths:
        shown = ", ".join(paths[:_MAX_PATHS]) + (", ..." if len(paths) > _MAX_PATHS else "")
        changes.append(f"values ({shown})")
    if (previous.get("postRender") or None) != (post_render or None):
        changes.append("postRender")
    if not changes and previous.get("contentDigest") != content_digest:
        changes.append("referenced ConfigMap/Secret content")
    return tuple(changes)


def describe_revision(
    source: RevisionSource,
    revision: int,
    *,
    previous_revision: int | None = None,
    changes: tuple[str, ...] = (),
    canary_release: str | None = None,
) -> str:
    """`Install complete`, `Upgrade from revision 3: values (image.tag)`, or
    `Promoted from CanaryRelease shop-v2: upgrade from revision 3: values (image.tag)`."""
    if source is RevisionSource.INSTALL or previous_revision is None:
        text = f"Install complete (revision {revision})"
    else:
        text = f"Upgrade from revision {previous_revision}"
        text += f": {', '.join(changes)}" if changes else ": content changed"
    if source is RevisionSource.PROMOTION:
        text = f"Promoted from CanaryRelease {canary_release or '(unknown)'}: {text[0].lower()}{text[1:]}"
    return text


def describe_rollback(target: int, from_revision: int | None) -> str:
    """`Rollback to revision 3 (from revision 5)`: the Event and history message of a rollback."""
    origin = f" (from revision {from_revision})" if from_revision is not None else ""
    return f"Rollback to revision {target}{origin}"
