"""Forking: `<workload>-canary` and `<workload>-baseline` copies of the Release's Deployments/StatefulSets,
owned by the CanaryRelease, unmanaged by the Release controller, selecting only their own pods, isolated
from the primary's Services under traffic routers and shared with them under `replicas`, with a content
hash that changes with the canary's content but not its size; missing workloads are errors naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from canary.domain.fork import ForkError, ForkPlan, Owner, fork
from canary.domain.labels import (
    CANARY_ANNOTATION,
    CANARY_LABEL,
    FORK_HASH_ANNOTATION,
    MANAGED_BY_LABEL,
    TRACK_LABEL,
    selector_matches,
    service_selects,
)
from canary.models import RouterType, Track
from tests.unit.canary.cluster import deployment, release_objects, service

OWNER = Owner("shop-v2", "prod", "uid-1")


def forked(
    router: RouterType = RouterType.SERVICE,
    *,
    baseline: bool = True,
    canary_tag: str = "2.0",
    workloads: tuple[str, ...] = ("web",),
) -> ForkPlan:
    return fork(
        release_objects(),
        release_objects(canary_tag),
        owner=OWNER,
        workloads=workloads,
        baseline=baseline,
        router=router,
    )


def by_name(objects: tuple[dict[str, Any], ...]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects}


def test_copies_are_named_owned_and_marked() -> None:
    copies = by_name(forked().objects(RouterType.SERVICE, 0))
    assert set(copies) == {"web-canary", "web-baseline"}
    for track, copy in (("canary", copies["web-canary"]), ("baseline", copies["web-baseline"])):
        meta = copy["metadata"]
        assert meta["labels"][TRACK_LABEL] == track
        assert meta["labels"][MANAGED_BY_LABEL] == "rudder-canary"
        assert "rudder.dev/release" not in meta["labels"]
        assert meta["annotations"][CANARY_ANNOTATION] == "prod/shop-v2"
        assert meta["ownerReferences"] == [
            {
                "apiVersion": "rudder.dev/v1alpha1",
                "kind": "CanaryRelease",
                "name": "shop-v2",
                "uid": "uid-1",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
        assert "status" not in copy


def test_canary_runs_the_canary_values_and_baseline_the_stable_ones() -> None:
    copies = by_name(forked().objects(RouterType.SERVICE, 0))
    images = {name: o["spec"]["template"]["spec"]["containers"][0]["image"] for name, o in copies.items()}
    assert images == {"web-canary": "web:2.0", "web-baseline": "web:1.0"}


def test_baseline_is_the_same_size_as_the_canary() -> None:
    for router in (RouterType.REPLICAS, RouterType.ISTIO):
        for weight in (0, 10, 60):
            copies = by_name(forked(router).objects(router, weight))
            assert copies["web-canary"]["spec"]["replicas"] == copies["web-baseline"]["spec"]["replicas"]
    assert by_name(forked(RouterType.REPLICAS).objects(RouterType.REPLICAS, 10))["web-canary"]["spec"]["replicas"] == 1
    assert by_name(forked().objects(RouterType.SERVICE, 10))["web-canary"]["spec"]["replicas"] == 4


def test_copies_select_only_their_own_pods() -> None:
    plan = forked(RouterType.REPLICAS)
    primary = deployment("web", {"app": "web"})
    primary_pods = primary["spec"]["template"]["metadata"]["labels"]
    copies = by_name(plan.objects(RouterType.REPLICAS, 10))
    canary, baseline = copies["web-canary"], copies["web-baseline"]
    assert not selector_matches(canary["spec"]["selector"], primary_pods)
    assert not selector_matches(canary["spec"]["selector"], baseline["spec"]["template"]["metadata"]["labels"])
    for copy in (canary, baseline):
        assert selector_matches(copy["spec"]["selector"], copy["spec"]["template"]["metadata"]["labels"])


def test_under_the_replicas_router_the_primary_service_selects_every_track() -> None:
    copies = forked(RouterType.REPLICAS).objects(RouterType.REPLICAS, 10)
    web = service("web", {"app": "web"})
    for copy in copies:
        assert service_selects(web, copy["spec"]["template"]["metadata"]["labels"])


@pytest.mark.parametrize("router", [r for r in RouterType if r is not RouterType.REPLICAS])
def test_under_traffic_routers_copies_are_isolated_from_the_primary(router: RouterType) -> None:
    plan = forked(router)
    web = service("web", {"app": "web"})
    primary_selector = deployment("web", {"app": "web"})["spec"]["selector"]
    for copy in plan.objects(router, 10):
        labels = copy["spec"]["template"]["metadata"]["labels"]
        assert not service_selects(web, labels)
        assert not selector_matches(primary_selector, labels)
        assert labels["app"] in ("web-canary", "web-baseline")
    [workload] = plan.workloads
    assert workload.pod_labels == {"app": "web"}
    assert workload.copy_selectors[Track.CANARY][TRACK_LABEL] == "canary"


def test_a_selector_that_suffixes_cannot_escape_is_an_error() -> None:
    stable = [deployment("web", {"app": "web"}), service("any", {"app": "web"})]
    stable[0]["spec"]["selector"] = {"matchExpressions": [{"key": "app", "operator": "Exists"}]}
    with pytest.raises(ForkError, match="would still match its primary's selector"):
        fork(stable, stable, owner=OWNER, workloads=None, baseline=False, router=RouterType.ISTIO)


def test_the_content_hash_follows_content_not_size() -> None:
    plan = forked()
    objects = plan.objects(RouterType.SERVICE, 10)
    assert {o["metadata"]["annotations"][FORK_HASH_ANNOTATION] for o in objects} == {plan.hash}
    assert forked().hash == plan.hash
    assert forked(canary_tag="2.1").hash != plan.hash
    assert forked(baseline=False).hash != plan.hash
    replicas = forked(RouterType.REPLICAS)
    assert {o["metadata"]["annotations"][FORK_HASH_ANNOTATION] for o in replicas.objects(RouterType.REPLICAS, 50)} == {
        replicas.hash
    }


def test_default_workloads_are_all_deployments() -> None:
    stateful = deployment("db", {"app": "db"})
    stateful["kind"] = "StatefulSet"
    objects = [*release_objects(), stateful]
    plan = fork(objects, objects, owner=OWNER, workloads=None, baseline=False, router=RouterType.REPLICAS)
    assert [w.name for w in plan.workloads] == ["api", "web"]
    named = fork(objects, objects, owner=OWNER, workloads=["db"], baseline=True, router=RouterType.REPLICAS)
    assert {c.name for c in named.copies} == {"db-canary", "db-baseline"}
    assert named.workloads[0].kind == "StatefulSet"


def test_missing_workloads_are_errors_naming_the_field() -> None:
    with pytest.raises(ForkError) as caught:
        forked(workloads=("web", "worker"))
    assert caught.value.field == "spec.workloads[1]"
    assert "worker" in str(caught.value)
    with pytest.raises(ForkError, match="renders no Deployment"):
        fork([service("web", {"a": "b"})], [], owner=OWNER, workloads=None, baseline=True, router=RouterType.REPLICAS)
    with pytest.raises(ForkError, match="not rendered with the canary values") as gone:
        fork(release_objects(), [], owner=OWNER, workloads=["web"], baseline=True, router=RouterType.REPLICAS)
    assert gone.value.field == "spec.values"


def test_release_bookkeeping_is_not_copied() -> None:
    stable = release_objects()
    stable[0]["metadata"].update(
        uid="x", resourceVersion="9", annotations={"rudder.dev/revision": "4", "note": "kept"}, labels={"team": "a"}
    )
    stable[0]["status"] = {"replicas": 4}
    plan = fork(stable, stable, owner=OWNER, workloads=["web"], baseline=False, router=RouterType.REPLICAS)
    [copy] = plan.objects(RouterType.REPLICAS, 10)
    meta = copy["metadata"]
    assert "uid" not in meta
    assert "resourceVersion" not in meta
    assert "rudder.dev/revision" not in meta["annotations"]
    assert meta["annotations"]["note"] == "kept"
    assert meta["labels"]["team"] == "a"
    assert meta["labels"][CANARY_LABEL] == "shop-v2"
