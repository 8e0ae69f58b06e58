"""The revision plans end to end, without a cluster: install renders, validates, decorates and orders the
objects and builds a ReleaseHistory that holds no secrets in clear; upgrade prunes from the stored
inventory; rollback reassembles the exact stored objects and restores the spec; an unchanged re-reconcile
decides on zero writes."""

from __future__ import annotations

import json
from typing import Any

from rudder.domain import (
    Failure,
    FailureReason,
    RevisionAction,
    RevisionPlan,
    RollbackPlan,
    content_digest,
    decide_revision,
    history_record,
    history_secret_body,
    needs_apply,
    plan_prune,
    plan_revision,
    plan_rollback,
)
from rudder.models import ObjectRef, RollbackTo, parse_release_spec
from rudder.render import chart_to_inline_spec

from .conftest import OWNER, load_example

DB_PASSWORD = "s3cret-db-password"
SECRET_TEMPLATE = (
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ release.name }}-db\n"
    "stringData:\n  password: {{ values.db.password }}\n"
)


def web_spec(**values: Any) -> dict[str, Any]:
    chart = chart_to_inline_spec(load_example("web-app"))
    chart["templates"]["secret.yaml"] = SECRET_TEMPLATE
    return {
        "chart": chart,
        "values": values,
        "valuesFrom": [{"secretKeyRef": {"name": "shop-db", "key": "values.yaml"}}],
    }


VALUES_FROM = [f"db:\n  password: {DB_PASSWORD}\n"]


def install(raw: dict[str, Any], revision: int = 1, **kwargs: Any) -> RevisionPlan:
    plan = plan_revision(parse_release_spec(raw), OWNER, revision, values_from_contents=VALUES_FROM, **kwargs)
    assert isinstance(plan, RevisionPlan), plan
    return plan


def test_install_plan_orders_decorates_and_records_history_without_secrets() -> None:
    plan = install(web_spec())
    assert [o["kind"] for o in plan.objects] == [
        "Secret",
        "ConfigMap",
        "Service",
        "Deployment",
        "HorizontalPodAutoscaler",
    ]
    assert all(o["metadata"]["namespace"] == "prod" for o in plan.objects)
    assert all(o["metadata"]["annotations"]["rudder.dev/revision"] == "1" for o in plan.objects)
    assert plan.description == "Install complete (revision 1)"
    assert plan.history["metadata"]["name"] == "shop-v1"
    assert DB_PASSWORD not in json.dumps(plan.history)
    assert plan.manifest.secret_data is not None
    secret = history_secret_body(OWNER, 1, plan.manifest, "hist-uid")
    assert secret is not None
    assert DB_PASSWORD not in json.dumps(secret), "the payload is compressed and base64, not clear text"
    assert "Reach it inside the cluster at http://shop.prod.svc:80/" in plan.notes


def test_render_and_validation_failures_apply_nothing() -> None:
    broken = web_spec()
    broken["chart"]["templates"]["bad.yaml"] = "kind: X\nname: {{ values.nope.deeper }}\n"
    failure = plan_revision(parse_release_spec(broken), OWNER, 1, values_from_contents=VALUES_FROM)
    assert failure == Failure(FailureReason.RENDER_FAILED, "bad.yaml:2: values.nope is undefined")

    foreign = web_spec()
    foreign["chart"]["templates"]["ns.yaml"] = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: kube-system}\n"
    )
    failure = plan_revision(parse_release_spec(foreign), OWNER, 1, values_from_contents=VALUES_FROM)
    assert isinstance(failure, Failure)
    assert failure.reason == FailureReason.INVALID_OBJECTS
    assert (
        failure.message
        == "ns.yaml: ConfigMap/x: namespace 'kube-system' is not the Release's namespace 'prod'"
    )


def test_missing_values_from_secret_fails_without_rendering() -> None:
    failure = plan_revision(parse_release_spec(web_spec()), OWNER, 1, values_from_contents=[None])
    assert isinstance(failure, Failure)
    assert "shop-db" in failure.message


def test_upgrade_describes_the_change_and_prunes_the_dropped_hpa() -> None:
    first = install(web_spec())
    second = install(
        web_spec(autoscaling={"enabled": False}), 2, previous=first.history["spec"], previous_revision=1
    )
    assert second.description == "Upgrade from revision 1: values (autoscaling)"
    prune = plan_prune(first.inventory, second.inventory)
    assert prune.delete == (ObjectRef("autoscaling/v2", "HorizontalPodAutoscaler", "shop"),)


def test_unchanged_content_decides_zero_writes() -> None:
    raw = web_spec()
    plan = install(raw)
    stored = {**plan.history, "status": {"phase": "Deployed", "deployedAt": ["2026-01-01T00:00:00Z"]}}
    digest = content_digest(parse_release_spec(raw), values_from_contents=VALUES_FROM)
    decision = decide_revision(digest, [history_record(stored)], current_revision=1)
    assert decision.action is RevisionAction.UNCHANGED
    live = {json.dumps(o["metadata"]["name"] + o["kind"]): o for o in plan.objects}
    assert not any(needs_apply(o, live[json.dumps(o["metadata"]["name"] + o["kind"])]) for o in plan.objects)


def test_changed_values_from_content_is_a_new_revision() -> None:
    raw = web_spec()
    plan = install(raw)
    stored = {**plan.history, "status": {"phase": "Deployed", "deployedAt": ["2026-01-01T00:00:00Z"]}}
    digest = content_digest(parse_release_spec(raw), values_from_contents=["db: {password: rotated}\n"])
    decision = decide_revision(digest, [history_record(stored)], current_revision=1)
    assert (decision.action, decision.revision) == (RevisionAction.UPGRADE, 2)


def test_rollback_applies_the_exact_stored_objects_and_restores_the_spec() -> None:
    first = install(web_spec())
    stored = {**first.history, "status": {"phase": "Superseded"}}
    secret_data = dict(first.manifest.secret_data or {})
    decision = decide_revision(
        "sha256:other", [history_record(stored)], current_revision=2, rollback_to=RollbackTo(1)
    )
    assert (decision.action, decision.revision) == (RevisionAction.ROLLBACK, 1)
    plan = plan_rollback(stored, secret_data, current_revision=2, owner=OWNER, release_resource_version="99")
    assert isinstance(plan, RollbackPlan)
    assert plan.objects == first.objects
    secret = next(o for o in plan.objects if o["kind"] == "Secret")
    assert secret["stringData"]["password"] == DB_PASSWORD
    assert plan.inventory == first.inventory
    assert plan.description == "Rollback to revision 1 (from revision 2)"
    assert plan.content_digest == first.content_digest
    assert plan.spec_patch[1] == {"op": "add", "path": "/spec/chart", "value": first.history["spec"]["chart"]}
    assert plan.spec_patch[-1] == {"op": "remove", "path": "/spec/rollbackTo"}


def test_rollback_without_its_secret_payload_is_a_failure() -> None:
    first = install(web_spec())
    failure = plan_rollback(first.history, None, current_revision=2, owner=OWNER)
    assert isinstance(failure, Failure)
    assert failure.reason == FailureReason.HISTORY_CORRUPT
    assert "revision 1" in failure.message


def test_promotion_is_recorded() -> None:
    first = install(web_spec())
    promoted = install(
        web_spec(image={"tag": "1.28"}),
        2,
        previous=first.history["spec"],
        previous_revision=1,
        canary_release="shop-v2",
    )
    assert (
        promoted.description == "Promoted from CanaryRelease shop-v2: upgrade from revision 1: values (image)"
    )
    assert promoted.history["spec"]["source"] == {"kind": "Promotion", "canaryRelease": "shop-v2"}


def test_cluster_scoped_objects_follow_the_allow_list() -> None:
    raw = web_spec()
    raw["chart"]["templates"]["role.yaml"] = (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
        "metadata: {name: shop-reader}\nrules: []\n"
    )
    refused = plan_revision(parse_release_spec(raw), OWNER, 1, values_from_contents=VALUES_FROM)
    assert isinstance(refused, Failure)
    plan = install(raw, allowed_cluster_kinds={"ClusterRole"})
    role = next(o for o in plan.objects if o["kind"] == "ClusterRole")
    assert "namespace" not in role["metadata"]
    assert "ownerReferences" not in role["metadata"]
