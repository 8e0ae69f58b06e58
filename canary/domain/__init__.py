"""Pure logic of the CanaryRelease controller: forking, weight maths and the state machine.

Nothing here talks to the cluster; the kube layer gathers an `Observed`, calls `decide`, and executes the
`Decision`. (This module only documents; import from the submodules. `canary.models` builds on
`canary.domain.readers`, `.vocabulary` and `.status_model` and re-exports them, which is why nothing is imported
here: importing this package must not pull in the state machine, or the models would import themselves.)

Public entry points
-------------------
canary.models.parse_canary(body: Mapping[str, Any]) -> ParsedCanary
    meta, spec (or the ParseError naming the field), status and pending manual action of a raw object.

canary.domain.fork.fork(stable, canary, *, owner: Owner, workloads: Sequence[str] | None, baseline: bool,
                        router: RouterType) -> ForkPlan            (raises ForkError)
    `stable`/`canary`: the Release's objects rendered with its current values and with
    deep_merge(current values, spec.values). ForkPlan.objects(router, weight) -> the copies to apply;
    ForkPlan.workloads -> the ForkedWorkload facts routers need; ForkPlan.hash -> the content hash.

canary.domain.machine.decide(observed: Observed, now: datetime) -> Decision
    Observed (canary.domain.observed): meta, spec | ParseError, status, action, release: ReleaseState | None,
    fork: ForkPlan | ForkError | None, copies: CopiesState, router: RouterState (router.get_weight or its
    RouterError), competitors: other CanaryReleases of the Release, analysis: the outcome of a RunAnalysis
    just executed (else None).

canary.domain.weights: canary_replicas(total, weight), weight_for_replicas(total, canary),
    copy_replicas(router, total, weight), traffic_split(weight, baseline), step_weight(steps, index).
canary.models.status_to_dict(status) -> the status subresource body to write (a merge patch: None clears).
canary.domain.labels: the copies' labels, selector matching, pod_name_regex(workload, kind, track).

Decision actions (canary.domain.actions), executed strictly in list order
-------------------------------------------------------------------------
ApplyCopies(objects)            server-side apply the canary/baseline copies
DeleteCopies(canary)            delete the workloads labelled rudder.dev/canary-release=<canary>
ReconcileRouter()               apply router.reconcile(ctx)
SetRouterWeight(weight)         apply router.set_weight(ctx, weight)
FinalizeRouter()                apply router.finalize(ctx): 100% to the primary, router objects removed
RunAnalysis(step, weight, since, until)
                                run the judge; then build Observed again with `analysis` set and call decide()
                                once more in the same reconcile. Always the last action of its decision.
PromoteRelease(release, overrides, canary, from_revision)
                                Release spec.values = deep_merge(spec.values, overrides) and annotation
                                rudder.dev/promoted-from=<canary>, only while the Release is at from_revision
RestoreRelease(release, revision)
                                Release spec.rollbackTo = {revision}
PatchStatus(status)             write status_to_dict(status) to the status subresource
RemoveActionAnnotation(value)   remove rudder.dev/action if it still equals `value`
EmitEvent(type, reason, message)
AllowDeletion()                 clean-up done: let the finalizer go (the kopf delete handler returns)
Requeue(after, at)              reconcile again at `at` (`after` seconds from now) unless a watched change
                                comes first; decide() appends it from the status it leaves (domain.timing)

If an action fails, stop and retry the whole reconcile later (decide again on a fresh observation): every
action is idempotent and the order is chosen so that any prefix of a decision is a safe place to crash.
Within a decision: traffic changes come before the status that records them; the status that announces new
copies comes before the copies; RemoveActionAnnotation comes after the status that performs the action.
"""
