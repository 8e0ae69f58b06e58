"""The watch-fed cache's pure parts: label selectors matched locally as the API server would (equality,
inequality, set membership, existence; a form it does not take falls back to the server), the namespace
patterns of --namespace as kopf reads them, cluster-scoped objects found whatever namespace a caller names,
the bookkeeping of one kind's store (stale events and events
of objects the controller deleted itself are ignored; a re-list tells listeners what changed meanwhile; its
namespace and label indexes follow every change, and lists come in the API server's order),
which Release a watch event concerns (labels, the release-namespace annotation, controller owners, chart
and values ConfigMaps, dependsOn), and status patches that drop keys the new status no longer has (else
every pass would write the same status again)."""

from __future__ import annotations

from typing import Any

import pytest
from kopf._cogs.structs.references import NamespaceName, match_namespace

from rudder.domain.objects import merge_patch_to
from rudder.domain.wakes import Owner, controller_owner, reads_of, release_of
from rudder.kube.client import MISS, CacheMiss, Ref
from rudder.kube.informer import KindStore, is_older
from rudder.kube.namespaces import NamespaceScope, match_pattern


def obj(name: str, namespace: str = "ns", rv: str = "10", uid: str = "u1", **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "resourceVersion": rv, "uid": uid,
                         "labels": dict(labels)}}


OBJECTS = [obj("a", app="web", tier="front"), obj("b", app="db"), obj("c"), obj("d", "other", app="web")]


def select(objects: list[dict[str, Any]], namespace: str | None, selector: str) -> list[dict[str, Any]] | CacheMiss:
    store = KindStore("v1", "ConfigMap")
    store.replace(None, list(reversed(objects)), notify=False)  # stored order must not matter
    return store.select(namespace, selector)


@pytest.mark.parametrize(("selector", "names"), [
    ("", ["a", "b", "c"]),
    ("app=web", ["a"]),
    ("app==web", ["a"]),
    ("app!=web", ["b", "c"]),
    ("app in (web,db)", ["a", "b"]),
    ("app notin (web)", ["b", "c"]),
    ("app", ["a", "b"]),
    ("!app", ["c"]),
    ("app=web,tier=front", ["a"]),
    ("app=web,tier=back", []),
])
def test_selectors_match_like_the_api_server(selector: str, names: list[str]) -> None:
    found = select(OBJECTS, "ns", selector)
    assert not isinstance(found, CacheMiss)
    assert [o["metadata"]["name"] for o in found] == names


def test_a_list_across_namespaces_and_an_unsupported_selector() -> None:
    everywhere = select(OBJECTS, None, "app=web")
    assert not isinstance(everywhere, CacheMiss)
    assert [o["metadata"]["name"] for o in everywhere] == ["a", "d"]
    assert select(OBJECTS, "ns", "app=web,app=db") is MISS  # a key twice: the server evaluates it


def test_the_label_index_follows_changes_and_deletions() -> None:
    store = KindStore("v1", "ConfigMap")
    store.replace(None, [obj("a", app="web"), obj("b", app="web")], notify=False)
    assert store.apply("MODIFIED", obj("a", rv="11", app="db"))
    assert [o["metadata"]["name"] for o in store.select("ns", "app=web")] == ["b"]
    assert [o["metadata"]["name"] for o in store.select("ns", "app in (db)")] == ["a"]
    assert store.apply("DELETED", obj("b", rv="12", app="web"))
    assert store.select("ns", "app=web") == [] and store.select(None, "") == [store.objects[("ns", "a")]]
    assert ("app", "web") not in store.by_label, "an emptied index entry goes"


@pytest.mark.parametrize("pattern", ["s1234-*", "myapp-*, !*-pr-*, *pr-123", "!*-pr-*, *pr-123", "exact", "a?c"])
@pytest.mark.parametrize("namespace", ["s1234-x", "myapp-test", "myapp-pr-123", "myapp-pr-456",
                                       "otherapp-pr-123", "exact", "abc", "default"])
def test_namespace_patterns_match_as_kopf_does(pattern: str, namespace: str) -> None:
    assert match_pattern(namespace, pattern) == match_namespace(NamespaceName(namespace), pattern)


def test_exact_namespaces_are_watched_one_by_one_and_patterns_cluster_wide() -> None:
    exact = NamespaceScope.of(("a", "b", "a"))
    assert exact.exact == ("a", "b") and exact.matches("a") and not exact.matches("c")
    globbed = NamespaceScope.of(("s1-*",))
    assert not globbed.exact and globbed.matches("s1-x") and not globbed.matches("s2-x")
    assert NamespaceScope.of(()).everything and NamespaceScope.of(()).matches("anything")


def test_store_ignores_stale_events_and_revives_nothing_it_deleted() -> None:
    store = KindStore("v1", "ConfigMap")
    seen: list[tuple[str, str]] = []
    store.listeners.append(lambda kind, o: seen.append((kind, o["metadata"]["resourceVersion"])))
    assert store.apply("ADDED", obj("a", rv="10"))
    assert store.apply("MODIFIED", obj("a", rv="12"))
    assert not store.apply("MODIFIED", obj("a", rv="11"))  # older than what is stored: a late watch event
    assert not store.apply("MODIFIED", obj("a", rv="12"))  # the watch echoing a write already recorded
    assert store.objects[("ns", "a")]["metadata"]["resourceVersion"] == "12"
    store.tombstones[("ns", "a")] = 12
    store.apply("DELETED", obj("a", rv="12"))
    store.tombstones[("ns", "a")] = 12  # what ObjectCache.observe_deleted leaves behind
    assert not store.apply("MODIFIED", obj("a", rv="12"))  # the event of a version already deleted
    assert ("ns", "a") not in store.objects
    assert store.apply("ADDED", obj("a", rv="20", uid="u2"))  # created again later
    assert seen == [("ADDED", "10"), ("MODIFIED", "12"), ("DELETED", "12"), ("ADDED", "20")]


def test_the_first_list_fills_the_store_silently() -> None:
    store = KindStore("v1", "ConfigMap")
    seen: list[str] = []
    store.listeners.append(lambda kind, o: seen.append(kind))
    store.replace("ns", [obj("a"), obj("b")], notify=False)
    assert set(store.objects) == {("ns", "a"), ("ns", "b")} and seen == []


def test_a_relist_reports_what_changed_while_the_watch_was_down() -> None:
    store = KindStore("v1", "ConfigMap")
    for o in (obj("kept", rv="1"), obj("changed", rv="2"), obj("gone", rv="3"), obj("elsewhere", "other", rv="4")):
        store.apply("ADDED", o)
    seen: list[tuple[str, str]] = []
    store.listeners.append(lambda kind, o: seen.append((kind, o["metadata"]["name"])))
    store.replace("ns", [obj("kept", rv="1"), obj("changed", rv="5"), obj("new", rv="6")])
    assert sorted(seen) == [("ADDED", "new"), ("DELETED", "gone"), ("MODIFIED", "changed")]
    assert set(store.objects) == {("ns", "kept"), ("ns", "changed"), ("ns", "new"), ("other", "elsewhere")}


def test_only_the_same_object_at_a_smaller_version_is_older() -> None:
    assert is_older(obj("a", rv="9"), obj("a", rv="10"))
    assert not is_older(obj("a", rv="9", uid="u2"), obj("a", rv="10"))  # re-created: a new object
    assert not is_older(obj("a", rv="x"), obj("a", rv="10"))  # not a number: accepted as it comes


def test_release_of_managed_objects_and_histories() -> None:
    managed = obj("web", **{"rudder.dev/release": "shop"})
    assert release_of(managed) == ("ns", "shop")
    cluster_scoped = {"metadata": {"name": "role", "labels": {"rudder.dev/release": "shop"},
                                   "annotations": {"rudder.dev/release-namespace": "team"}}}
    assert release_of(cluster_scoped) == ("team", "shop")
    assert release_of(obj("plain")) is None


def test_pods_lead_to_their_workload_through_the_controller_owner() -> None:
    pod = {"metadata": {"name": "p", "ownerReferences": [
        {"apiVersion": "v1", "kind": "Node", "name": "n"},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc", "controller": True}]}}
    assert controller_owner(pod) == Owner("apps/v1", "ReplicaSet", "web-abc")
    assert controller_owner(obj("orphan")) is None


def test_reads_of_a_release_name_its_configmaps_and_dependencies() -> None:
    release = {"spec": {
        "chart": {"configMapRef": {"name": "chart"}},
        "valuesFrom": [{"configMapKeyRef": {"name": "values", "key": "v"}},
                       {"secretKeyRef": {"name": "secret", "key": "s"}}, "junk"],
        "dependsOn": [{"name": "db"}, {"nope": 1}],
    }}
    reads = reads_of(release)
    assert reads.config_maps == {"chart", "values"}
    assert reads.depends_on == {"db"}
    assert reads_of({"spec": "broken"}).config_maps == frozenset()


def test_a_status_patch_removes_the_keys_the_new_status_drops() -> None:
    live = {"updated": {"Pending": 1, "Running": 1}, "old": {}}
    assert merge_patch_to(live, {"updated": {"Running": 2}, "old": {}}) == \
        {"updated": {"Pending": None, "Running": 2}, "old": {}}
    assert merge_patch_to(None, {"a": 1}) == {"a": 1}
    assert merge_patch_to({"a": 1}, [1, 2]) == [1, 2]


def test_a_cluster_scoped_object_is_found_whatever_namespace_the_caller_names() -> None:
    store = KindStore("rbac.authorization.k8s.io/v1", "ClusterRole", namespaced=False)
    assert store.key_of(Ref("rbac.authorization.k8s.io/v1", "ClusterRole", "reader", "team")) == ("", "reader")
    namespaced = KindStore("v1", "ConfigMap")
    assert namespaced.key_of(Ref("v1", "ConfigMap", "x", "team")) == ("team", "x")
