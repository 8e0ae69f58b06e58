"""Revision decisions: an unchanged digest means no new revision; new content is newest+1; a rollback makes
an existing revision current without creating one; a missing target fails and leaves the running revision;
a restart after the history was written resumes that revision instead of duplicating it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rudder.domain import (
    HistoryRecord,
    RevisionAction,
    content_digest,
    decide_revision,
    previous_deployed_revision,
    rollback_spec_patch,
)
from rudder.models import HistoryPhase, RollbackTo, parse_release_spec

SPEC = {
    "chart": {"templates": {"cm.yaml": "kind: ConfigMap"}},
    "values": {"a": 1},
    "valuesFrom": [{"secretKeyRef": {"name": "s", "key": "v"}}],
}


def at(hour: int) -> datetime:
    return datetime(2026, 1, 1, hour, tzinfo=UTC)


def record(
    revision: int, digest: str, phase: HistoryPhase = HistoryPhase.SUPERSEDED, *hours: int
) -> HistoryRecord:
    return HistoryRecord(revision, digest, phase, tuple(at(h) for h in hours))


HISTORY = [
    record(1, "d1", HistoryPhase.SUPERSEDED, 1),
    record(2, "d2", HistoryPhase.SUPERSEDED, 2),
    record(3, "d3", HistoryPhase.DEPLOYED, 3),
]


class TestContentDigest:
    def test_same_input_same_digest_regardless_of_key_order(self) -> None:
        a = parse_release_spec(SPEC)
        b = parse_release_spec({"values": {"a": 1}, "valuesFrom": SPEC["valuesFrom"], "chart": SPEC["chart"]})
        assert content_digest(a, values_from_contents=["x: 1"]) == content_digest(
            b, values_from_contents=["x: 1"]
        )
        assert content_digest(a, values_from_contents=["x: 1"]).startswith("sha256:")

    @pytest.mark.parametrize(
        "change",
        [
            {"values": {"a": 2}},
            {"chart": {"templates": {"cm.yaml": "kind: Secret"}}},
            {"valuesFrom": [{"configMapKeyRef": {"name": "s", "key": "v"}}]},
        ],
    )
    def test_spec_changes_change_the_digest(self, change: dict[str, object]) -> None:
        before = content_digest(parse_release_spec(SPEC), values_from_contents=["x: 1"])
        after = content_digest(parse_release_spec({**SPEC, **change}), values_from_contents=["x: 1"])
        assert before != after

    def test_referenced_content_changes_the_digest_but_never_appears_in_it(self) -> None:
        spec = parse_release_spec(SPEC)
        assert content_digest(spec, values_from_contents=["pw: a"]) != content_digest(
            spec, values_from_contents=["pw: b"]
        )
        by_ref = parse_release_spec({"chart": {"configMapRef": {"name": "c"}}})
        one = content_digest(by_ref, config_map_data={"a.yaml": "kind: A"})
        two = content_digest(by_ref, config_map_data={"a.yaml": "kind: B"})
        assert one != two
        assert "pw" not in content_digest(spec, values_from_contents=["pw: a"])


class TestDecision:
    def test_first_install_is_revision_one(self) -> None:
        decision = decide_revision("d", [], current_revision=None)
        assert (decision.action, decision.revision, decision.renders) == (RevisionAction.INSTALL, 1, True)

    def test_unchanged_content_keeps_the_revision(self) -> None:
        decision = decide_revision("d3", HISTORY, current_revision=3)
        assert (decision.action, decision.revision, decision.renders) == (RevisionAction.UNCHANGED, 3, False)

    def test_new_content_is_newest_plus_one_even_after_a_rollback(self) -> None:
        assert decide_revision("d4", HISTORY, current_revision=3).revision == 4
        rolled_back = decide_revision("new", HISTORY, current_revision=1)
        assert (rolled_back.action, rolled_back.revision) == (RevisionAction.UPGRADE, 4)

    def test_content_equal_to_an_older_deployed_revision_is_still_a_new_revision(self) -> None:
        decision = decide_revision("d2", HISTORY, current_revision=3)
        assert (decision.action, decision.revision, decision.history_exists) == (
            RevisionAction.UPGRADE,
            4,
            False,
        )

    def test_restart_after_history_write_resumes_instead_of_duplicating(self) -> None:
        written = [*HISTORY, HistoryRecord(4, "d4")]
        decision = decide_revision("d4", written, current_revision=3)
        assert (decision.action, decision.revision, decision.history_exists) == (
            RevisionAction.UPGRADE,
            4,
            True,
        )
        first = decide_revision("d1", [HistoryRecord(1, "d1")], current_revision=None)
        assert (first.action, first.revision, first.history_exists) == (RevisionAction.INSTALL, 1, True)

    def test_restart_after_the_history_was_made_current_resumes_instead_of_duplicating(self) -> None:
        # Killed between marking revision 4 Deployed in its history and writing status.revision = 4.
        made_current = [*HISTORY[:2], record(3, "d3", HistoryPhase.SUPERSEDED, 3),
                        record(4, "d4", HistoryPhase.DEPLOYED, 4)]
        decision = decide_revision("d4", made_current, current_revision=3)
        assert (decision.action, decision.revision, decision.history_exists) == (RevisionAction.UPGRADE, 4, True)
        # Killed before revision 3 was marked Superseded: both say Deployed, the newest is still the one to finish.
        both = [*HISTORY, record(4, "d4", HistoryPhase.DEPLOYED, 4)]
        assert decide_revision("d4", both, current_revision=3).history_exists

    def test_content_of_a_revision_rolled_back_from_is_a_new_revision(self) -> None:
        # Rolled back from 3 to 2: 3 is Superseded; asking for 3's content again is revision 4, as documented.
        rolled_back = [*HISTORY[:2], record(3, "d3", HistoryPhase.SUPERSEDED, 3)]
        decision = decide_revision("d3", rolled_back, current_revision=2)
        assert (decision.action, decision.revision, decision.history_exists) == (RevisionAction.UPGRADE, 4, False)

    def test_rollback_to_an_existing_revision(self) -> None:
        decision = decide_revision("d3", HISTORY, current_revision=3, rollback_to=RollbackTo(1))
        assert (decision.action, decision.revision, decision.renders) == (RevisionAction.ROLLBACK, 1, False)

    def test_rollback_zero_means_the_previously_deployed_revision(self) -> None:
        # Revision 1 was made current again after 2, so it is the previous deployed one.
        history = [
            record(1, "d1", HistoryPhase.SUPERSEDED, 1, 5),
            record(2, "d2", HistoryPhase.SUPERSEDED, 2),
            record(3, "d3", HistoryPhase.DEPLOYED, 6),
        ]
        assert decide_revision("d3", history, current_revision=3, rollback_to=RollbackTo(0)).revision == 1
        assert previous_deployed_revision(HISTORY, 3) == 2

    def test_failed_revisions_are_not_rollback_candidates(self) -> None:
        history = [
            *HISTORY[:2],
            record(3, "d3", HistoryPhase.FAILED, 3),
            record(4, "d4", HistoryPhase.DEPLOYED, 4),
        ]
        assert previous_deployed_revision(history, 4) == 2

    def test_rollback_to_a_missing_revision_fails_and_names_what_exists(self) -> None:
        decision = decide_revision("d3", HISTORY, current_revision=3, rollback_to=RollbackTo(7))
        assert decision.action is RevisionAction.FAILED
        assert decision.message == "rollback: revision 7 does not exist (available: 1, 2, 3)"
        nothing = decide_revision(
            "d1", [record(1, "d1", HistoryPhase.DEPLOYED, 1)], current_revision=1, rollback_to=RollbackTo(0)
        )
        assert nothing.action is RevisionAction.FAILED
        assert "no previous deployed revision" in nothing.message


def test_rollback_spec_patch_restores_chart_values_and_clears_rollback_to() -> None:
    stored = {"chart": {"archive": "abc"}, "values": {"a": None}, "valuesFrom": []}
    ops = rollback_spec_patch(stored, resource_version="17")
    assert ops == [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "17"},
        {"op": "add", "path": "/spec/chart", "value": {"archive": "abc"}},
        {"op": "add", "path": "/spec/values", "value": {"a": None}},
        {"op": "add", "path": "/spec/valuesFrom", "value": []},
        {"op": "remove", "path": "/spec/postRender"},  # the revision had no post-render patches
        {"op": "remove", "path": "/spec/rollbackTo"},
    ]
    assert rollback_spec_patch(stored)[0]["path"] == "/spec/chart"


def test_rollback_spec_patch_restores_the_revisions_post_render() -> None:
    post_render = {"commonMetadata": {"labels": {"team": "a"}}}
    ops = rollback_spec_patch({"chart": {"archive": "abc"}, "postRender": post_render})
    assert {"op": "add", "path": "/spec/postRender", "value": post_render} in ops
    assert all(op["path"] != "/spec/postRender" or op["op"] == "add" for op in ops)
