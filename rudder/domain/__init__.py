"""Pure Release-controller logic: plan, decide, assess. No cluster access; the I/O layer gathers the
observed state once per reconcile, calls these functions and executes what they return.

Entry points, in reconcile order (objects are plain Mappings; everything else is typed):

Revision decision
- `content_digest(spec: ReleaseSpec, *, config_map_data=None, values_from_contents=()) -> str`
  (`sha256:...` of chart + chart ConfigMap data + spec.values + a digest of valuesFrom content).
- `history_record(body: Mapping) -> HistoryRecord` for each stored ReleaseHistory, then
  `decide_revision(desired_digest, records, *, current_revision, rollback_to=None) -> RevisionDecision`:
  `.action` UNCHANGED (no writes except drift repair) | INSTALL | UPGRADE (`.revision` = newest+1, or the
  newest when `.history_exists`: finish it, do not write the history again) | ROLLBACK (`.revision` = N) |
  FAILED (`.message`, e.g. revision 7 does not exist; the running revision is untouched).

New revision
- `plan_revision(spec, owner: ReleaseIdentity, revision, *, config_map_data=None, values_from_contents=(),
  scope_of=builtin_scope, allowed_cluster_kinds=(), previous=None, previous_revision=None,
  canary_release=None) -> RevisionPlan | Failure`. `RevisionPlan`: `.objects` (decorated, install order;
  dry-run all of them, then apply), `.inventory`, `.notes` (redacted), `.content_digest`, `.description`,
  `.history` (ReleaseHistory body to create after a successful apply) and `.manifest`; then
  `history_secret_body(owner, revision, plan.manifest, history_uid) -> dict | None` is the Secret to create
  (owned by the history) holding Secret data and valuesFrom content.
- Before each write: `check_ownership(live | None, owner) -> Ownership` (`.may_write`, `.message`).
- After apply: `plan_prune(previous_inventory, plan.inventory, previous_objects=..., live_objects=...)
  -> PrunePlan(delete, keep)`; `stale_refs(previous, desired)` says which live objects to fetch first.

Rollback
- `plan_rollback(history_body, secret_data, *, current_revision, release_resource_version=None)
  -> RollbackPlan | Failure`: `.objects` (decoded exactly, install order), `.inventory`, `.spec_patch`
  (JSON Patch restoring chart/values/valuesFrom and removing rollbackTo), `.description` (Event text).
- `history_status_updates(records, current, now, *, became_current, failed=False, ready=None, message="")
  -> {revision: status}`: the current revision Deployed (or Failed), deployedAt appended when it became
  current, `ready` recorded, other Deployed ones Superseded; only what changes is returned.
- `plan_history_prune(records, limit, *, current, last_ready) -> tuple[int, ...]` revisions to delete.

Unchanged revision
- `drifted_fields(desired, live) -> tuple[str, ...]` / `needs_apply(desired, live) -> bool`: re-apply only
  drifted or missing objects; fields owned by controllers such as the HPA are not drift.

Health and status
- `assess_health(ref: ObjectRef, live | None) -> ResourceHealth`;
  `current_template_hashes(workloads, replica_sets, controller_revisions) -> frozenset[str]`;
  `pod_statistics(pods, current_hashes) -> PodStatistics`.
- `build_status(StatusInputs(...)) -> ReleaseStatus` (`.to_dict()` is the status body; identical input
  gives an identical body, so nothing is written); `atomic_rollback_target(atomic, status) -> int | None`.

Suspend, dependencies, deletion
- `plan_suspend(live_workloads) -> SuspendPlan` / `plan_resume(live_workloads) -> SuspendPlan` (merge
  patches; do not apply new revisions while suspended).
- `evaluate_dependencies(name, spec.depends_on, phases, graph) -> DependencyVerdict(ready, message, cycle)`.
- `plan_uninstall(inventory, current_objects=..., live_objects=...) -> PrunePlan`; kept objects get
  `orphan_patch(live, owner) -> dict | None` so that garbage collection of the Release spares them.

Lower-level pieces (validation, ordering, decoration, codec, descriptions) are exported too.
"""

from rudder.domain.dependencies import DependencyVerdict, evaluate_dependencies, find_cycle
from rudder.domain.describe import (
    RevisionSource,
    changed_paths,
    describe_revision,
    describe_rollback,
    summarize_changes,
)
from rudder.domain.digest import canonical_json, content_digest, values_from_digest
from rudder.domain.drift import RESPECTED_MANAGERS, drifted_fields, needs_apply
from rudder.domain.health import ResourceHealth, assess_health
from rudder.domain.history import (
    HistoryContent,
    history_body,
    history_inventory,
    history_labels,
    history_name,
    history_record,
    history_secret_body,
    history_secret_name,
    history_status_updates,
    plan_history_prune,
)
from rudder.domain.history_codec import (
    EncodedManifest,
    HistoryCorrupt,
    HistoryDecodeError,
    decode_manifest,
    decode_notes,
    decode_values_from,
    encode_manifest,
    redact_text,
    sensitive_strings,
)
from rudder.domain.labels import (
    FIELD_MANAGER,
    KEEP_ANNOTATION,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    RELEASE_LABEL,
    REVISION_ANNOTATION,
    REVISION_LABEL,
    SUSPENDED_REPLICAS_ANNOTATION,
    is_kept,
)
from rudder.domain.objects import ref_of
from rudder.domain.order import INSTALL_ORDER, deletion_order, install_order, order_objects
from rudder.domain.ownership import (
    Ownership,
    OwnershipVerdict,
    ReleaseIdentity,
    check_ownership,
    decorate,
    orphan_patch,
)
from rudder.domain.plan import RevisionPlan, RollbackPlan, plan_revision, plan_rollback
from rudder.domain.pods import ContainerProblem, PodStatistics, current_template_hashes, pod_statistics
from rudder.domain.prune import PrunePlan, inventory_of, plan_prune, plan_uninstall, stale_refs
from rudder.domain.revision import (
    HistoryRecord,
    RevisionAction,
    RevisionDecision,
    decide_revision,
    previous_deployed_revision,
    rollback_spec_patch,
)
from rudder.domain.status import (
    Condition,
    Failure,
    FailureReason,
    ReleaseStatus,
    StatusInputs,
    atomic_rollback_target,
    build_status,
)
from rudder.domain.suspend import SuspendPlan, WorkloadPatch, plan_resume, plan_suspend
from rudder.domain.validation import ObjectProblem, ScopeLookup, builtin_scope, validate_objects

__all__ = [
    "FIELD_MANAGER",
    "INSTALL_ORDER",
    "KEEP_ANNOTATION",
    "MANAGED_BY_LABEL",
    "MANAGED_BY_VALUE",
    "RELEASE_LABEL",
    "RESPECTED_MANAGERS",
    "REVISION_ANNOTATION",
    "REVISION_LABEL",
    "SUSPENDED_REPLICAS_ANNOTATION",
    "Condition",
    "ContainerProblem",
    "DependencyVerdict",
    "EncodedManifest",
    "Failure",
    "FailureReason",
    "HistoryContent",
    "HistoryCorrupt",
    "HistoryDecodeError",
    "HistoryRecord",
    "ObjectProblem",
    "Ownership",
    "OwnershipVerdict",
    "PodStatistics",
    "PrunePlan",
    "ReleaseIdentity",
    "ReleaseStatus",
    "ResourceHealth",
    "RevisionAction",
    "RevisionDecision",
    "RevisionPlan",
    "RevisionSource",
    "RollbackPlan",
    "ScopeLookup",
    "StatusInputs",
    "SuspendPlan",
    "WorkloadPatch",
    "assess_health",
    "atomic_rollback_target",
    "build_status",
    "builtin_scope",
    "canonical_json",
    "changed_paths",
    "check_ownership",
    "content_digest",
    "current_template_hashes",
    "decide_revision",
    "decode_manifest",
    "decode_notes",
    "decode_values_from",
    "decorate",
    "deletion_order",
    "describe_revision",
    "describe_rollback",
    "drifted_fields",
    "encode_manifest",
    "evaluate_dependencies",
    "find_cycle",
    "history_body",
    "history_inventory",
    "history_labels",
    "history_name",
    "history_record",
    "history_secret_body",
    "history_secret_name",
    "history_status_updates",
    "install_order",
    "inventory_of",
    "is_kept",
    "needs_apply",
    "order_objects",
    "orphan_patch",
    "plan_history_prune",
    "plan_prune",
    "plan_resume",
    "plan_revision",
    "plan_rollback",
    "plan_suspend",
    "plan_uninstall",
    "pod_statistics",
    "previous_deployed_revision",
    "redact_text",
    "ref_of",
    "rollback_spec_patch",
    "sensitive_strings",
    "stale_refs",
    "summarize_changes",
    "validate_objects",
    "values_from_digest",
]
