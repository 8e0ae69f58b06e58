"""What `rudder` shows and decides from cluster objects, without a cluster: the history table, the status
page, the field-by-field diff (only fields the chart sets, with the controller's drift rules), and `--wait`'s
decision (a Ready left over from before the write never ends the wait; Failed does, with its message)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rudder.cli.diffing import Change, diff_dict, format_diff, object_diff, release_diff
from rudder.cli.history import format_history, history_entries
from rudder.cli.output import format_duration, format_number, table
from rudder.cli.progress import Finished, Waiting
from rudder.cli.status import format_status
from rudder.cli.waiting import Goal, gone_progress, release_progress

NOW = datetime(2026, 3, 1, 12, 10, 0, tzinfo=UTC)


def history(revision: int, phase: str, deployed: list[str], description: str) -> dict[str, Any]:
    return {"spec": {"revision": revision, "description": description},
            "status": {"phase": phase, "deployedAt": deployed, "ready": phase != "Failed"}}


def test_history_lists_revision_phase_last_deployment_and_description_oldest_first() -> None:
    items = [
        history(2, "Deployed", ["2026-03-01T12:05:00Z", "2026-03-01T12:09:00Z"], "Rollback target"),
        history(1, "Superseded", ["2026-03-01T12:00:00Z"], "Install complete (revision 1)"),
        history(3, "Failed", [], "Upgrade from revision 2: values (image.tag)"),
    ]
    entries = history_entries(items)
    assert [e["revision"] for e in entries] == [1, 2, 3]
    text = format_history(entries, current=2)
    lines = text.splitlines()
    assert lines[0].split() == ["REVISION", "PHASE", "DEPLOYED", "AT", "DESCRIPTION"]
    assert lines[1].split()[:4] == ["1", "Superseded", "2026-03-01", "12:00:00Z"]
    assert lines[2].split()[:4] == ["2*", "Deployed", "2026-03-01", "12:09:00Z"]  # the latest deployment
    assert lines[3].split()[:3] == ["3", "Failed", "-"]
    assert lines[3].endswith("Upgrade from revision 2: values (image.tag)")
    assert format_history([]) == "no revisions yet\n"


def test_tables_align_columns_and_keep_multiline_cells_on_one_line() -> None:
    text = table(["name", "message"], [["a", "two\nlines"], ["longer", None]])
    assert text.splitlines() == ["NAME     MESSAGE", "a        two lines", "longer   -"]


def test_number_and_duration_formats() -> None:
    assert [format_number(v) for v in (None, 0, 0.012345, 1.2e-6, 1520.0, 123456.0)] == [
        "-", "0", "0.01235", "1.2e-06", "1520", "1.23e+05"]
    assert [format_duration(s) for s in (5, 75, 3600, 3725, 90000)] == ["5s", "1m15s", "1h", "1h2m", "1d1h"]


def release(status: dict[str, Any], generation: int = 2, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "shop", "namespace": "prod", "generation": generation},
            "spec": {"chart": {"templates": {}}, **spec}, "status": status}


def test_status_page_shows_phase_resources_pods_conditions_and_notes() -> None:
    status = {
        "revision": 3, "phase": "Progressing", "message": "waiting for Deployment/web", "ready": "1/2",
        "observedGeneration": 1, "revisionStartedAt": "2026-03-01T12:08:00Z",
        "podStatistics": {"updated": {"Running": 1, "Pending": 1}, "old": {"Running": 2}},
        "resources": [{"kind": "ConfigMap", "name": "cfg", "phase": "Ready"},
                      {"kind": "Deployment", "name": "web", "phase": "Progressing", "message": "1/2 updated"}],
        "conditions": [{"type": "Ready", "status": "False", "reason": "Progressing", "message": "1/2"}],
        "notes": "reach it at http://web",
    }
    text = format_status(release(status, rollbackTo={"revision": 1}), NOW)
    assert "Release:    prod/shop" in text and "Revision:   3" in text and "Phase:      Progressing" in text
    assert "Pods:       updated: 1 Pending, 1 Running; old: 2 Running" in text
    assert "(2m0s ago)" not in text and "12:08:00Z (2m ago)" in text
    assert "not yet acted on the latest change (generation 2, observed 1)" in text
    assert "Rollback:   to revision 1 pending" in text
    assert "Deployment/web   Progressing   1/2 updated" in text
    assert text.rstrip().endswith("NOTES:\nreach it at http://web")


DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web"}, "annotations": {"rudder.dev/revision": "4"}},
    "spec": {"replicas": 3, "template": {"spec": {"containers": [
        {"name": "web", "image": "web:2", "resources": {"requests": {"cpu": "0.5", "memory": "64Mi"}}},
        {"name": "sidecar", "image": "proxy:1"},
    ]}}},
}


def live_deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web", "extra": "x"}, "uid": "u",
                     "annotations": {"rudder.dev/revision": "3"},
                     "managedFields": [{"manager": "kube-controller-manager", "operation": "Update",
                                        "fieldsV1": {"f:spec": {"f:replicas": {}}}}]},
        "spec": {"replicas": 5, "strategy": {"type": "RollingUpdate"}, "template": {"spec": {"containers": [
            {"name": "web", "image": "web:1", "resources": {"requests": {"cpu": "500m", "memory": "64Mi"}},
             "terminationMessagePath": "/dev/termination-log"},
        ]}}},
        "status": {"replicas": 5},
    }


def test_diff_compares_only_fields_the_chart_sets_with_the_controllers_drift_rules() -> None:
    diff = object_diff(DEPLOYMENT, live_deployment())
    assert diff.change is Change.UPDATE
    changes = {f.path: (f.live, f.desired, f.live_set) for f in diff.fields}
    # image changed; the sidecar is new; cpu 0.5 == 500m; replicas belong to the HPA's controller; the revision
    # annotation changes with every revision by design; server defaults and status are not the chart's.
    assert changes == {
        "spec.template.spec.containers[0].image": ("web:1", "web:2", True),
        "spec.template.spec.containers.sidecar": (None, {"name": "sidecar", "image": "proxy:1"}, False),
    }
    assert object_diff(DEPLOYMENT, None).change is Change.CREATE


def test_diff_output_marks_changes_creations_and_deletions() -> None:
    objects = [object_diff(DEPLOYMENT, live_deployment()), object_diff(DEPLOYMENT | {"kind": "Service"}, None)]
    diff = release_diff({"chart": {"a": 1}, "values": {"image": {"tag": "1"}}},
                        {"chart": {"a": 1}, "values": {"image": {"tag": "2"}}}, objects)
    text = format_diff(diff, "prod/shop", exists=True)
    assert text.splitlines() == [
        "~ Release prod/shop: values (image.tag)",
        "~ Deployment/web",
        '    spec.template.spec.containers[0].image: "web:1" -> "web:2"',
        '    spec.template.spec.containers.sidecar: (unset) -> {"image": "proxy:1", "name": "sidecar"}',
        "+ Service/web",
    ]
    assert diff.changed
    data = diff_dict(diff)
    assert data["release"] == {"chartChanged": False, "valuesChanged": ["image.tag"]}
    assert data["objects"][1] == {"object": "Service/web", "change": "create", "fields": []}
    same = release_diff({"chart": {}, "values": {}}, {"chart": {}, "values": {}}, [object_diff(DEPLOYMENT, DEPLOYMENT)])
    assert not same.changed
    assert format_diff(same, "prod/shop", exists=True) == "no differences (1 objects up to date)\n"


def test_wait_ignores_a_ready_status_from_before_the_write() -> None:
    goal = Goal(generation=2)
    stale = release({"observedGeneration": 1, "phase": "Ready", "revision": 1})
    assert isinstance(release_progress(stale, goal), Waiting)
    progressing = release({"observedGeneration": 2, "phase": "Progressing", "revision": 2, "ready": "1/3",
                           "message": "waiting for Deployment/web"})
    waiting = release_progress(progressing, goal)
    assert isinstance(waiting, Waiting) and waiting.text == (
        "Progressing at revision 2, 1/3 resources ready: waiting for Deployment/web")
    done = release_progress(release({"observedGeneration": 2, "phase": "Ready", "revision": 2}), goal)
    assert isinstance(done, Finished) and done.value.ready and done.value.revision == 2


def test_wait_ends_on_failed_suspended_or_deleted_with_the_reason() -> None:
    goal = Goal(generation=2)
    failed = release_progress(release({"observedGeneration": 2, "phase": "Failed", "revision": 2,
                                       "message": "templates/web.yaml:3: values.image is undefined"}), goal)
    assert isinstance(failed, Finished) and not failed.value.ready
    assert failed.value.message == "templates/web.yaml:3: values.image is undefined"
    suspended = release_progress(release({"observedGeneration": 2, "phase": "Suspended", "revision": 2}), goal)
    assert isinstance(suspended, Finished) and "suspended" in suspended.value.message
    gone = release_progress(None, goal)
    assert isinstance(gone, Finished) and gone.value.phase == "Deleted"


def test_rollback_wait_needs_the_target_revision_current_and_rollback_to_cleared() -> None:
    goal = Goal(generation=5, revision=2)
    pending = release({"observedGeneration": 5, "phase": "Ready", "revision": 4}, generation=5,
                      rollbackTo={"revision": 2})
    assert release_progress(pending, goal) == Waiting("rolling back to revision 2")
    # The controller restored the spec (a new generation) and made 2 current; health not yet reported for it.
    restored = release({"observedGeneration": 5, "phase": "Progressing", "revision": 2}, generation=6)
    assert isinstance(release_progress(restored, goal), Waiting)
    ready = release({"observedGeneration": 6, "phase": "Ready", "revision": 2}, generation=6)
    result = release_progress(ready, goal)
    assert isinstance(result, Finished) and result.value.revision == 2
    missing = release({"observedGeneration": 5, "phase": "Failed", "revision": 4,
                       "message": "revision 2 does not exist"}, generation=5, rollbackTo={"revision": 2})
    failed = release_progress(missing, goal)
    assert isinstance(failed, Finished) and failed.value.message == "revision 2 does not exist"


def test_uninstall_wait_ends_when_the_release_is_gone() -> None:
    assert isinstance(gone_progress({"metadata": {}}), Waiting)
    assert gone_progress(None) == Finished(True)
