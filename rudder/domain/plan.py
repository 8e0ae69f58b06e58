"""The two ways a revision reaches the cluster, as plans the I/O layer executes: a new revision (render,
validate, decorate, order, encode its history) and a rollback (decode a stored manifest, restore the spec).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rudder.domain.describe import RevisionSource, describe_revision, describe_rollback, summarize_changes
from rudder.domain.digest import content_digest
from rudder.domain.history import HistoryContent, history_body, history_inventory, is_history_secret_name
from rudder.domain.history_codec import (
    DEFAULT_COMPRESS_ABOVE,
    EncodedManifest,
    HistoryCorrupt,
    decode_manifest,
    encode_manifest,
)
from rudder.domain.labels import metadata_of
from rudder.domain.order import order_objects
from rudder.domain.ownership import ReleaseIdentity, decorate
from rudder.domain.prune import inventory_of
from rudder.domain.redaction import values_from_redactor
from rudder.domain.revision import rollback_spec_patch
from rudder.domain.status import Failure, FailureReason
from rudder.domain.validation import ObjectProblem, ScopeLookup, builtin_scope, object_scope, validate_objects
from rudder.models import FieldError, ObjectRef, ReleaseSpec
from rudder.postrender.apply import post_render
from rudder.render import ReleaseInfo, RenderError, render_release
from rudder.render.engine import RenderedObject


@dataclass(frozen=True, eq=False)
class RevisionPlan:
    """A new revision ready to apply: `objects` decorated and in install order (validated; dry-run them
    all before the first write), then write `history` (and `history_secret`'s Secret once the history's
    uid is known, see `history_secret_body`)."""

    revision: int
    objects: tuple[dict[str, Any], ...]
    inventory: tuple[ObjectRef, ...]
    notes: str  # redacted: safe for status.notes
    content_digest: str
    description: str
    history: dict[str, Any]
    manifest: EncodedManifest


@dataclass(frozen=True, eq=False)
class RollbackPlan:
    """A rollback to a stored revision: apply `objects` exactly as stored, patch the Release spec with
    `spec_patch` (JSON Patch), set status.revision to `revision`, and emit `description` as an Event."""

    revision: int
    objects: tuple[dict[str, Any], ...]
    inventory: tuple[ObjectRef, ...]
    notes: str
    content_digest: str
    description: str
    spec_patch: list[dict[str, Any]]


def plan_revision(
    spec: ReleaseSpec,
    owner: ReleaseIdentity,
    revision: int,
    *,
    config_map_data: Mapping[str, str] | None = None,
    values_from_contents: Sequence[str | None] = (),
    scope_of: ScopeLookup = builtin_scope,
    allowed_cluster_kinds: Collection[str] = (),
    previous: Mapping[str, Any] | None = None,
    previous_revision: int | None = None,
    canary_release: str | None = None,
    compress_above: int = DEFAULT_COMPRESS_ABOVE,
) -> RevisionPlan | Failure:
    """Render and prepare revision `revision`; a Failure (nothing to apply) names the file/object at fault.

    `previous` is the spec of the current revision's ReleaseHistory (for the description and `what
    changed`), `canary_release` marks a promotion.
    """
    # Failure messages may quote what a template did with a secret (`values.users.<secret> is undefined`).
    secrets = values_from_redactor(spec.values_from, values_from_contents)
    rendered = render_release(
        spec, ReleaseInfo(owner.name, owner.namespace, revision),
        config_map_data=config_map_data, values_from_contents=values_from_contents,
    )
    if isinstance(rendered, RenderError):
        return Failure(FailureReason.RENDER_FAILED, secrets.text(str(rendered)))
    # Patched before validation: namespace confinement, ownership and the dry-run see the patched objects.
    rendered_objects = post_render(spec.post_render, rendered.objects, owner.namespace)
    if isinstance(rendered_objects, FieldError):
        return Failure(FailureReason.POST_RENDER_FAILED, secrets.text(str(rendered_objects)))
    problems = [
        *validate_objects(rendered_objects, owner.namespace, scope_of, allowed_cluster_kinds),
        *_reserved_name_problems(rendered_objects, owner),
    ]
    if problems:
        return Failure(FailureReason.INVALID_OBJECTS, secrets.text("; ".join(str(p) for p in problems)))
    decorated = [
        decorate(item.body, owner, revision, namespaced=object_scope(
            str(item.body["apiVersion"]), str(item.body["kind"]), scope_of) is not False)
        for item in rendered_objects
    ]
    objects = tuple(dict(obj) for obj in order_objects(decorated))
    digest = content_digest(spec, config_map_data=config_map_data, values_from_contents=values_from_contents)
    chart_dict, values = spec.chart.to_dict(), dict(spec.values)
    source = RevisionSource.PROMOTION if canary_release else (
        RevisionSource.INSTALL if previous_revision is None else RevisionSource.UPGRADE)
    description = describe_revision(
        source, revision, previous_revision=previous_revision, canary_release=canary_release,
        changes=summarize_changes(previous, chart_dict, values, digest, spec.post_render.to_dict()),
    )
    manifest = encode_manifest(
        objects, notes=rendered.notes, values_from_contents=values_from_contents,
        compress_above=compress_above, redactor=secrets,
    )
    inventory = inventory_of(objects)
    content = HistoryContent(
        revision=revision, chart=spec.chart, values=values, values_from=spec.values_from,
        content_digest=digest, inventory=inventory, description=description, source=source,
        canary_release=canary_release, post_render=spec.post_render.to_dict() or None,
    )
    return RevisionPlan(
        revision=revision, objects=objects, inventory=inventory,
        notes=secrets.text(rendered.notes),
        content_digest=digest, description=description,
        history=history_body(owner, content, manifest), manifest=manifest,
    )


def _reserved_name_problems(objects: Sequence[RenderedObject], owner: ReleaseIdentity) -> list[ObjectProblem]:
    # `<release>-v<N>-secret` holds the Release's own history payload: a chart Secret of that name would
    # be taken for it, or take its place (F13).
    return [
        ObjectProblem(item.template, f"Secret/{name}",
                      "the name is reserved for the Release's history Secrets (<release>-v<N>-secret)")
        for item in objects
        if item.body.get("kind") == "Secret" and item.body.get("apiVersion") == "v1"
        and isinstance(name := metadata_of(item.body).get("name"), str) and is_history_secret_name(owner.name, name)
    ]


def stored_objects(
    history: Mapping[str, Any],
    secret_data: Mapping[str, str] | None,
    owner: ReleaseIdentity,
    *,
    scope_of: ScopeLookup = builtin_scope,
    allowed_cluster_kinds: Collection[str] = (),
) -> tuple[dict[str, Any], ...]:
    """The objects a stored revision applied, held to exactly the rules of rendered ones.

    Decodes the manifest (see `decode_manifest`), runs `validate_objects` and the reserved-name check over
    it, then marks every object as the Release's again as the render path does (namespace forced to the
    Release's, labels, ownerReference), so whatever a history says, nothing leaves the namespace.
    Raises HistoryCorrupt naming the revision and the objects at fault.
    """
    spec = history.get("spec") if isinstance(history.get("spec"), Mapping) else {}
    assert isinstance(spec, Mapping)
    revision = spec.get("revision")
    if not isinstance(revision, int) or isinstance(revision, bool) or revision < 1:
        raise HistoryCorrupt("spec.revision is not a positive integer")
    objects = decode_manifest(spec, secret_data)
    origin = f"ReleaseHistory {metadata_of(history).get('name', '')}"
    items = [RenderedObject(origin, index, obj) for index, obj in enumerate(objects)]
    problems = [
        *validate_objects(items, owner.namespace, scope_of, allowed_cluster_kinds),
        *_reserved_name_problems(items, owner),
    ]
    if problems:
        raise HistoryCorrupt("stored objects fail validation: " + "; ".join(str(p) for p in problems))
    return tuple(
        decorate(obj, owner, revision,
                 namespaced=object_scope(str(obj["apiVersion"]), str(obj["kind"]), scope_of) is not False)
        for obj in objects
    )


def plan_rollback(
    history: Mapping[str, Any],
    secret_data: Mapping[str, str] | None,
    *,
    current_revision: int | None,
    owner: ReleaseIdentity,
    scope_of: ScopeLookup = builtin_scope,
    allowed_cluster_kinds: Collection[str] = (),
    release_resource_version: str | None = None,
) -> RollbackPlan | Failure:
    """Prepare the rollback to the revision of the ReleaseHistory object `history` (with the `data` of its
    Secret, when it has one). A corrupt, incomplete or invalid history is a Failure and nothing is applied;
    its objects pass the same validation as rendered ones (see `stored_objects`)."""
    spec = history.get("spec") or {}
    raw_revision = spec.get("revision")
    revision = raw_revision if isinstance(raw_revision, int) else 0
    try:
        objects = stored_objects(history, secret_data, owner, scope_of=scope_of,
                                 allowed_cluster_kinds=allowed_cluster_kinds)
        inventory = history_inventory(spec)
    except HistoryCorrupt as exc:
        return Failure(FailureReason.HISTORY_CORRUPT, f"revision {revision}: {exc}")
    return RollbackPlan(
        revision=revision,
        objects=tuple(dict(obj) for obj in order_objects(objects)),
        inventory=inventory or inventory_of(objects),
        notes=str(spec.get("notes") or ""),  # the stored, redacted notes: safe for status
        content_digest=str(spec.get("contentDigest") or ""),
        description=describe_rollback(revision, current_revision),
        spec_patch=rollback_spec_patch(spec, release_resource_version),
    )
