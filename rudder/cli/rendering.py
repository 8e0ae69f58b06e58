"""Offline rendering with exactly the controller's code: `render_release` for the objects, `plan_revision`
for validation (namespace escapes, cluster-scoped kinds, duplicates), decoration and install order.

Used by `template` (print it), `diff` (compare it with the live objects) and `install`/`upgrade` (fail on
a chart mistake before anything is written to the cluster).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rudder.cli.chartsource import locate
from rudder.cli.errors import CliError
from rudder.domain import Failure, ReleaseIdentity, RevisionPlan, plan_revision
from rudder.models import API_GROUP, SpecError, parse_release_spec
from rudder.render import ReleaseInfo, RenderError, render_release


def plan_offline(body: Mapping[str, Any], chart_dir: Path, *, revision: int = 1, uid: str = "") -> RevisionPlan:
    """The controller's plan for revision `revision` of the Release `body` (metadata.namespace set).

    Without a cluster, kinds that are not built in are taken as namespaced, as the controller does before
    its server-side dry-run; a RenderError names the file in `chart_dir` and the line.
    """
    name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
    try:
        spec = parse_release_spec(body["spec"])
    except SpecError as err:
        raise CliError(f"Release {namespace}/{name}: {err}") from None
    rendered = render_release(spec, ReleaseInfo(name, namespace, revision))
    if isinstance(rendered, RenderError):
        raise CliError(f"render failed: {locate(rendered, chart_dir)}")
    plan = plan_revision(spec, ReleaseIdentity(name, namespace, uid), revision)
    if isinstance(plan, Failure):
        raise CliError(f"{plan.reason}: {plan.message}")
    return plan


def offline_objects(plan: RevisionPlan) -> list[dict[str, Any]]:
    """The plan's objects as `rudder template` prints them: labelled as the controller labels them, but
    without the ownerReference to the Release, whose uid exists only once the Release does."""
    objects = []
    for obj in plan.objects:
        copy = dict(obj)
        meta = dict(copy.get("metadata") or {})
        refs = [r for r in meta.get("ownerReferences") or () if not _is_release_ref(r)]
        if refs:
            meta["ownerReferences"] = refs
        else:
            meta.pop("ownerReferences", None)
        copy["metadata"] = meta
        objects.append(copy)
    return objects


def _is_release_ref(ref: Mapping[str, Any]) -> bool:
    return ref.get("kind") == "Release" and str(ref.get("apiVersion", "")).startswith(f"{API_GROUP}/")
