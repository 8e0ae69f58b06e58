"""ReleaseHistory objects: contract name, labels, owner and fields; records read back from stored objects;
status transitions that supersede the others and write nothing when nothing changes; the history limit that
never prunes the current or last Ready revision; descriptions that say what changed and why."""

from __future__ import annotations

from datetime import UTC, datetime

from rudder.domain import (
    HistoryContent,
    HistoryRecord,
    RevisionSource,
    changed_paths,
    describe_revision,
    describe_rollback,
    encode_manifest,
    history_body,
    history_inventory,
    history_record,
    history_secret_body,
    history_status_updates,
    plan_history_prune,
    summarize_changes,
)
from rudder.models import HistoryPhase, ObjectRef, parse_release_spec

from .conftest import OWNER, obj

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SPEC = parse_release_spec(
    {
        "chart": {"templates": {"cm.yaml": "kind: ConfigMap"}},
        "values": {"image": {"tag": "2"}},
        "valuesFrom": [{"secretKeyRef": {"name": "creds", "key": "values.yaml"}}],
    }
)


def content(revision: int = 4) -> HistoryContent:
    return HistoryContent(
        revision=revision,
        chart=SPEC.chart,
        values=SPEC.values,
        values_from=SPEC.values_from,
        content_digest="sha256:abc",
        inventory=(ObjectRef("v1", "Secret", "s", "prod"),),
        description="Upgrade from revision 3: values (image.tag)",
        source=RevisionSource.UPGRADE,
    )


def test_history_body_follows_the_contract() -> None:
    manifest = encode_manifest([obj("Secret", "s", data={"k": "dg=="})], notes="hi")
    body = history_body(OWNER, content(), manifest)
    assert body["metadata"]["name"] == "shop-v4"
    assert body["metadata"]["labels"] == {"rudder.dev/release": "shop", "rudder.dev/revision": "4"}
    assert body["metadata"]["ownerReferences"][0]["uid"] == "uid-shop"
    spec = body["spec"]
    assert (spec["release"], spec["revision"], spec["contentDigest"]) == ("shop", 4, "sha256:abc")
    assert spec["chart"] == {"templates": {"cm.yaml": "kind: ConfigMap"}}
    assert spec["values"] == {"image": {"tag": "2"}}
    assert spec["valuesFrom"] == [{"secretKeyRef": {"name": "creds", "key": "values.yaml"}}]
    assert spec["inventory"] == [{"apiVersion": "v1", "kind": "Secret", "name": "s"}]
    assert spec["secretRef"] == {"name": "shop-v4-secret"}
    assert spec["source"] == {"kind": "Upgrade"}
    assert spec["manifestDigest"].startswith("sha256:")
    assert history_inventory(spec) == (ObjectRef("v1", "Secret", "s"),)


def test_history_secret_is_owned_by_the_history() -> None:
    manifest = encode_manifest([obj("Secret", "s", data={"k": "dg=="})])
    secret = history_secret_body(OWNER, 4, manifest, "hist-uid")
    assert secret is not None
    assert secret["metadata"]["name"] == "shop-v4-secret"
    assert secret["metadata"]["ownerReferences"][0] == {
        "apiVersion": "rudder.dev/v1alpha1",
        "kind": "ReleaseHistory",
        "name": "shop-v4",
        "uid": "hist-uid",
        "controller": True,
    }
    assert secret["data"] == manifest.secret_data
    assert history_secret_body(OWNER, 4, encode_manifest([obj("ConfigMap", "c")]), "u") is None


def test_promotion_records_the_canary() -> None:
    promoted = HistoryContent(
        **{**content().__dict__, "source": RevisionSource.PROMOTION, "canary_release": "v2"}
    )
    body = history_body(OWNER, promoted, encode_manifest([]))
    assert body["spec"]["source"] == {"kind": "Promotion", "canaryRelease": "v2"}
    assert "secretRef" not in body["spec"]


def test_history_record_reads_status_timestamps() -> None:
    body = {
        "spec": {"revision": 2, "contentDigest": "sha256:x"},
        "status": {"phase": "Deployed", "deployedAt": ["2026-01-01T00:00:00Z", "bad"], "ready": True},
    }
    record = history_record(body)
    assert record == HistoryRecord(
        2, "sha256:x", HistoryPhase.DEPLOYED, (datetime(2026, 1, 1, tzinfo=UTC),), True
    )
    assert history_record({"spec": {"revision": 1}}).phase is None


def test_becoming_current_deploys_and_supersedes_the_rest() -> None:
    records = [
        HistoryRecord(1, "a", HistoryPhase.SUPERSEDED, (datetime(2026, 1, 1, tzinfo=UTC),)),
        HistoryRecord(2, "b", HistoryPhase.DEPLOYED),
        HistoryRecord(3, "c", HistoryPhase.FAILED),
    ]
    updates = history_status_updates(records, 1, NOW, became_current=True, message="Rollback to revision 1")
    assert updates == {
        1: {
            "phase": "Deployed",
            "deployedAt": ["2026-01-01T00:00:00Z", "2026-03-01T12:00:00Z"],
            "message": "Rollback to revision 1",
        },
        2: {"phase": "Superseded"},
    }


def test_a_resumed_attempt_does_not_stamp_a_second_deployment() -> None:
    # Killed after revision 2 was marked Deployed, before status said so: the resumed attempt makes it current
    # again, which is the same deployment, not a new one.
    earlier = datetime(2026, 2, 1, tzinfo=UTC)
    records = [HistoryRecord(1, "a", HistoryPhase.DEPLOYED, (earlier,)),
               HistoryRecord(2, "b", HistoryPhase.DEPLOYED, (NOW,))]
    updates = history_status_updates(records, 2, NOW, became_current=True)
    assert updates == {2: {"phase": "Deployed", "deployedAt": ["2026-03-01T12:00:00Z"]}, 1: {"phase": "Superseded"}}


def test_unchanged_reconcile_updates_no_history() -> None:
    records = [
        HistoryRecord(1, "a", HistoryPhase.SUPERSEDED),
        HistoryRecord(2, "b", HistoryPhase.DEPLOYED, (NOW,)),
    ]
    assert history_status_updates(records, 2, NOW, became_current=False) == {}


def test_failed_and_ready_states_of_the_current_revision_are_recorded_once() -> None:
    deployed = [HistoryRecord(3, "c", HistoryPhase.DEPLOYED, (NOW,))]
    assert history_status_updates(deployed, 3, NOW, became_current=False, ready=True) == {
        3: {"phase": "Deployed", "deployedAt": ["2026-03-01T12:00:00Z"], "ready": True}
    }
    ready = [HistoryRecord(3, "c", HistoryPhase.DEPLOYED, (NOW,), ready=True)]
    assert history_status_updates(ready, 3, NOW, became_current=False, ready=True) == {}
    failed = history_status_updates(deployed, 3, NOW, became_current=False, failed=True, message="deadline")
    assert failed == {3: {"phase": "Failed", "deployedAt": ["2026-03-01T12:00:00Z"], "message": "deadline"}}
    already = [HistoryRecord(3, "c", HistoryPhase.FAILED, (NOW,))]
    assert (
        history_status_updates(already, 3, NOW, became_current=False, failed=True, message="deadline") == {}
    )


def test_prune_keeps_the_limit_oldest_first() -> None:
    records = [HistoryRecord(r, str(r)) for r in range(1, 8)]
    assert plan_history_prune(records, 3, current=7, last_ready=7) == (1, 2, 3, 4)
    assert plan_history_prune(records, 10, current=7, last_ready=7) == ()


def test_prune_never_removes_current_or_last_ready() -> None:
    records = [HistoryRecord(r, str(r)) for r in range(1, 6)]
    # Rolled back to 1, and 2 was the last Ready: both survive even past the limit.
    assert plan_history_prune(records, 2, current=1, last_ready=2) == (3, 4, 5)
    assert plan_history_prune(records, 1, current=5, last_ready=2) == (1, 3, 4)


def test_changed_paths_name_the_differences() -> None:
    before = {"image": {"tag": "1", "repo": "nginx"}, "replicas": 2, "gone": 1}
    after = {"image": {"tag": "2", "repo": "nginx"}, "replicas": 2, "new": {"x": 1}}
    assert changed_paths(before, after) == ["gone", "image.tag", "new"]


def test_summary_names_chart_values_and_referenced_content() -> None:
    previous = {"chart": {"archive": "a"}, "values": {"tag": "1"}, "contentDigest": "d1"}
    assert summarize_changes(previous, {"archive": "b"}, {"tag": "2"}, "d2") == ("chart", "values (tag)")
    assert summarize_changes(previous, {"archive": "a"}, {"tag": "1"}, "d2") == (
        "referenced ConfigMap/Secret content",
    )
    many = {f"k{i}": i for i in range(8)}
    assert summarize_changes(previous, {"archive": "a"}, {"tag": "1", **many}, "d2") == (
        "values (k0, k1, k2, k3, k4, ...)",
    )
    assert summarize_changes(None, {}, {}, "d") == ()


def test_descriptions() -> None:
    assert describe_revision(RevisionSource.INSTALL, 1) == "Install complete (revision 1)"
    assert (
        describe_revision(RevisionSource.UPGRADE, 4, previous_revision=3, changes=("values (image.tag)",))
        == "Upgrade from revision 3: values (image.tag)"
    )
    assert (
        describe_revision(
            RevisionSource.PROMOTION, 5, previous_revision=4, canary_release="shop-v2", changes=("chart",)
        )
        == "Promoted from CanaryRelease shop-v2: upgrade from revision 4: chart"
    )
    assert describe_rollback(3, 5) == "Rollback to revision 3 (from revision 5)"
