"""Which Release generation a revision was made from, recorded on its ReleaseHistory.

`rudder wait --generation G` must tell the revision made for spec generation G from one made for a later
spec. The generation goes into an annotation written with the history, once: a resumed attempt (the
controller killed after writing the history) keeps the generation that first made it, and an annotation
survives whatever ReleaseHistory schema the cluster serves (an unknown spec field would be pruned and break
the history's signature). It is not signed: it steers no controller decision, only what the CLI reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rudder.domain.labels import annotations_of

GENERATION_ANNOTATION = "rudder.dev/release-generation"


def with_generation(history: Mapping[str, Any], generation: int) -> dict[str, Any]:
    """A copy of a ReleaseHistory body recording the Release generation it was made from."""
    meta = dict(history.get("metadata") or {})
    meta["annotations"] = {**annotations_of(history), GENERATION_ANNOTATION: str(generation)}
    return {**history, "metadata": meta}


def history_generation(history: Mapping[str, Any]) -> int | None:
    """The Release generation a stored revision was made from; None for histories written before it was
    recorded (or with a value that is not a positive integer)."""
    text = str(annotations_of(history).get(GENERATION_ANNOTATION, ""))
    return int(text) if text.isascii() and text.isdigit() and int(text) > 0 else None
