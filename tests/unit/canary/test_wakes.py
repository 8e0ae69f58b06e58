"""Which CanaryReleases a watched change wakes (canary.domain.interest, canary.kube.wakes): an object the
canary made (ownerReference or annotation) wakes it; its Release, the Release's workloads, its copies and its
router's objects wake it once a pass has read them, and stop when a later pass no longer reads them or the
canary is forgotten; a CanaryRelease's own change in the cache wakes it (kopf's event may come first, with the
cache still behind); objects of other namespaces wake nothing."""

from __future__ import annotations

from typing import Any

from canary.domain.interest import interests, named_canary
from canary.kube.wakes import CanaryWakes
from tests.unit.canary.world import World, in_phase


def obj(kind: str, name: str, namespace: str = "prod", **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": namespace, **meta}}


def test_a_canary_reads_its_release_the_workloads_their_copies_and_its_router_objects() -> None:
    world = World().run(until=in_phase("Initializing"))
    found = interests(world.observe(), [("Service", "web"), ("Service", "web-canary")])
    assert found == {("Release", "shop"), ("Deployment", "web"), ("Deployment", "web-canary"),
                     ("Deployment", "web-baseline"), ("Service", "web"), ("Service", "web-canary")}


def test_before_the_release_exists_the_canary_still_waits_on_it() -> None:
    world = World(release=None)
    assert interests(world.observe()) == {("Release", "shop")}


def test_objects_made_by_a_canary_name_it() -> None:
    owned = obj("Deployment", "web-canary", ownerReferences=[
        {"apiVersion": "rudder.dev/v1alpha1", "kind": "CanaryRelease", "name": "shop-v2", "controller": True}])
    assert named_canary(owned) == ("prod", "shop-v2")
    annotated = obj("Service", "web-canary", annotations={"rudder.dev/canary-release": "prod/shop-v2"})
    assert named_canary(annotated) == ("prod", "shop-v2")
    assert named_canary(obj("Service", "web")) is None


def test_changes_wake_the_canaries_that_read_them_until_they_no_longer_do() -> None:
    woken: list[tuple[str, str]] = []
    wakes = CanaryWakes(lambda ns, name: woken.append((ns, name)))
    wakes.note("prod", "a", frozenset({("Release", "shop"), ("Service", "web")}))
    wakes.note("prod", "b", frozenset({("Release", "shop")}))
    wakes.on_event("MODIFIED", {**obj("Release", "shop"), "apiVersion": "rudder.dev/v1alpha1"})
    assert sorted(woken) == [("prod", "a"), ("prod", "b")]
    woken.clear()
    wakes.on_event("MODIFIED", obj("Service", "web", namespace="other"))  # same name, other namespace
    assert woken == []
    wakes.on_event("MODIFIED", obj("CanaryRelease", "c"))  # its own change, as the cache sees it
    assert woken == [("prod", "c")]
    woken.clear()
    wakes.note("prod", "a", frozenset({("Release", "shop")}))  # a no longer reads the Service
    wakes.on_event("DELETED", obj("Service", "web"))
    assert woken == []
    wakes.forget("prod", "b")
    wakes.on_event("MODIFIED", obj("Release", "shop"))
    assert woken == [("prod", "a")]


def test_an_object_a_canary_made_wakes_it_before_any_pass_read_it() -> None:
    woken: list[tuple[str, str]] = []
    wakes = CanaryWakes(lambda ns, name: woken.append((ns, name)))
    wakes.on_event("ADDED", obj("Deployment", "web-canary", annotations={"rudder.dev/canary-release": "prod/x"}))
    assert woken == [("prod", "x")]
