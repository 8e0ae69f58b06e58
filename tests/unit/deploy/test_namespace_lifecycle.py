"""A controller restricted by a --namespace pattern keeps serving a namespace that is being deleted until the
namespace is really gone, so the finalizers of its Releases and CanaryReleases run (kopf on its own drops the
namespace as soon as it is marked for deletion, and the namespace then hangs in Terminating)."""

from __future__ import annotations

from kopf._cogs.structs import references
from kopf._core.reactor import observation

from rudder.controller import serve_terminating_namespaces

TERMINATING = {
    "metadata": {"name": "team-a", "deletionTimestamp": "2026-12-02T03:00:00Z"},
    "status": {"phase": "Terminating", "conditions": [
        {"type": "NamespaceDeletionContentFailure", "status": "False", "reason": "ContentDeleted"}]},
}


def test_a_terminating_namespace_stays_served_until_its_deleted_event() -> None:
    serve_terminating_namespaces()
    insights = references.Insights()
    patterns = ["team-*"]
    observation.revise_namespaces(raw_events=[{"type": "ADDED", "object": TERMINATING}],
                                  insights=insights, namespaces=patterns)
    assert insights.namespaces == {"team-a"}
    observation.revise_namespaces(raw_events=[{"type": "MODIFIED", "object": TERMINATING}],
                                  insights=insights, namespaces=patterns)
    assert insights.namespaces == {"team-a"}
    observation.revise_namespaces(raw_events=[{"type": "DELETED", "object": TERMINATING}],
                                  insights=insights, namespaces=patterns)
    assert insights.namespaces == set()
