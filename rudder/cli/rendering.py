"""Offline rendering with exactly the controller's code: `render_release` for the objects, `plan_revision`
for validation (namespace escapes, cluster-scoped kinds, duplicates), decoration and install order.

Used by `template` (print it), `diff` (compare it with the live objects) and `install`/`upgrade` (fail on
a chart mistake before anything is written to the cluster).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from rudder.cli.chartsource import locate
from rudder.cli.errors import CliError, describe_kube_error
from rudder.domain import Failure, ReleaseIdentity, RevisionPlan, plan_revision
from rudder.domain.redaction import values_from_redactor
from rudder.kube.client import Kube, KubeError
from rudder.kube.release_io import InputError, fetch_inputs
from rudder.models import API_GROUP, SpecError, parse_release_spec
from rudder.render import ReleaseInfo, RenderError, render_release
from rudder.render.yamlio import load_one, yaml_error_position


def plan_offline(
    body: Mapping[str, Any], chart_dir: Path, *, revision: int = 1, uid: str = "",
    values_from_contents: Sequence[str | None] = (),
) -> RevisionPlan:
    """The controller's plan for revision `revision` of the Release `body` (metadata.namespace set).

    Without a cluster, kinds that are not built in are taken as namespaced, as the controller does before
    its server-side dry-run; a RenderError names the file in `chart_dir` and the line. `values_from_contents`
    are the texts behind the body's `spec.valuesFrom` (see `read_values_from`); error messages never show
    their secret values.
    """
    name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
    try:
        spec = parse_release_spec(body["spec"])
    except SpecError as err:
        raise CliError(f"Release {namespace}/{name}: {err}") from None
    contents = tuple(values_from_contents) or (None,) * len(spec.values_from)
    secrets = values_from_redactor(spec.values_from, contents)
    rendered = render_release(spec, ReleaseInfo(name, namespace, revision), values_from_contents=contents)
    if isinstance(rendered, RenderError):
        raise CliError(secrets.text(f"render failed: {locate(rendered, chart_dir)}"))
    plan = plan_revision(spec, ReleaseIdentity(name, namespace, uid), revision, values_from_contents=contents)
    if isinstance(plan, Failure):
        raise CliError(secrets.text(f"{plan.reason}: {plan.message}"))
    return plan


def read_post_render(path: str) -> Any:
    """The `spec.postRender` mapping in the YAML file `path` (checked when the Release spec is parsed)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        return load_one(text)
    except (OSError, UnicodeDecodeError) as err:
        raise CliError(f"--post-render {path}: {getattr(err, 'strerror', None) or err}") from None
    except yaml.YAMLError as err:
        line, problem = yaml_error_position(err)
        raise CliError(f"--post-render {path}:{line}: {problem}" if line else f"--post-render {path}: {problem}") \
            from None


class ValuesFromUnreadable(CliError):
    """The CLI's user may not read a valuesFrom source of the Release."""


def with_live_values_from(body: Mapping[str, Any], live: Mapping[str, Any] | None) -> dict[str, Any]:
    """`body` with the live Release's `spec.valuesFrom` and `spec.postRender`: the CLI never writes them, so an
    upgrade keeps them and the controller renders with them; `diff` and `upgrade` must render the same way."""
    live_spec = (live or {}).get("spec") or {}
    kept = {key: live_spec[key] for key in ("valuesFrom", "postRender") if live_spec.get(key)}
    if not kept:
        return dict(body)
    return {**body, "spec": {**body["spec"], **kept}}


def read_values_from(kube: Kube, body: Mapping[str, Any]) -> tuple[str | None, ...]:
    """The texts behind `spec.valuesFrom`, read as the CLI's user (who must be allowed to read them); a
    missing source or one the user may not read is a CliError naming the field."""
    namespace = body["metadata"]["namespace"]
    try:
        spec = parse_release_spec(body["spec"])
    except SpecError as err:
        raise CliError(f"Release {namespace}/{body['metadata']['name']}: {err}") from None
    if not spec.values_from:
        return ()
    try:
        return fetch_inputs(kube, namespace, spec).values_from_contents
    except InputError as err:
        raise CliError(f"{err} (the controller would fail the same way)") from None
    except KubeError as err:
        if not err.forbidden:
            raise
        raise ValuesFromUnreadable(
            "spec.valuesFrom: cannot read the Release's valuesFrom sources as you "
            f"({describe_kube_error(err)}); rendering needs them"
        ) from None


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
