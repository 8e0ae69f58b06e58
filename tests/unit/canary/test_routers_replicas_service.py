"""The `replicas` and `service` routers: which objects they write at each step, and that the weight they
read back from the live objects is the weight they set."""

from __future__ import annotations

import pytest

from canary.domain.labels import TRACK_LABEL, WEIGHT_ANNOTATION
from canary.domain.weights import canary_replicas
from canary.models import RouterSpec, RouterType
from canary.routers import Patch, RouterError
from canary.routers.replicas import ReplicasRouter
from canary.routers.service import ServiceRouter
from tests.unit.canary.cluster import Cluster, plan, release_objects

REPLICAS = RouterSpec(type=RouterType.REPLICAS, service="web")


def replicas_cluster(baseline: bool = True) -> Cluster:
    """The Release's objects plus the copies, as ApplyCopies creates them at weight 0."""
    copies = plan(RouterType.REPLICAS, baseline=baseline).objects(RouterType.REPLICAS, 0)
    return Cluster([*release_objects(), *copies])


@pytest.mark.parametrize("weight", [0, 1, 10, 25, 50, 99, 100])
def test_replicas_router_scales_both_copies_and_reads_the_weight_back(weight: int) -> None:
    cluster = replicas_cluster()
    router = ReplicasRouter()
    cluster.apply(router.set_weight(cluster.context(REPLICAS), weight))
    for name in ("web-canary", "web-baseline"):
        copy = cluster.get("apps/v1", "Deployment", name)
        assert copy is not None
        assert copy["spec"]["replicas"] == canary_replicas(4, weight)
    # The primary is never touched.
    primary = cluster.get("apps/v1", "Deployment", "web")
    assert primary is not None
    assert primary["spec"]["replicas"] == 4
    read = router.get_weight(cluster.context(REPLICAS))
    assert canary_replicas(4, read) == canary_replicas(4, weight)


def test_replicas_router_finalize_scales_the_copies_to_zero() -> None:
    cluster = replicas_cluster()
    router = ReplicasRouter()
    cluster.apply(router.set_weight(cluster.context(REPLICAS), 50))
    cluster.apply(router.finalize(cluster.context(REPLICAS)))
    assert router.get_weight(cluster.context(REPLICAS)) == 0


def test_replicas_router_writes_nothing_else() -> None:
    cluster = replicas_cluster(baseline=False)
    router = ReplicasRouter()
    assert router.reconcile(cluster.context(REPLICAS, baseline=False)) == ()
    changes = router.set_weight(cluster.context(REPLICAS, baseline=False), 10)
    assert [(c.ref.name, c.patch) for c in changes if isinstance(c, Patch)] == [
        ("web-canary", {"spec": {"replicas": 1}})
    ]


def test_replicas_router_skips_copies_that_are_not_there() -> None:
    cluster = Cluster(release_objects())
    router = ReplicasRouter()
    assert router.set_weight(cluster.context(REPLICAS), 10) == ()
    assert router.get_weight(cluster.context(REPLICAS)) == 0


def test_replicas_router_needs_a_service_that_selects_every_track() -> None:
    router = ReplicasRouter()
    missing = Cluster([o for o in release_objects() if o["metadata"]["name"] != "web" or o["kind"] != "Service"])
    with pytest.raises(RouterError, match="not found"):
        router.get_weight(missing.context(REPLICAS))
    # Under a traffic router's fork the copies are isolated: the primary Service does not select them.
    isolated = plan(RouterType.SERVICE)
    with pytest.raises(RouterError, match="does not select the canary pods"):
        router.get_weight(replicas_cluster().context(REPLICAS, fork_plan=isolated))


def test_replicas_router_names_what_to_read() -> None:
    refs = ReplicasRouter().reads(Cluster().context(REPLICAS))
    assert {(r.kind, r.name) for r in refs} == {
        ("Deployment", "web-canary"),
        ("Deployment", "web-baseline"),
        ("Service", "web"),
    }


SERVICE = RouterSpec(type=RouterType.SERVICE, service="web")


def test_service_router_creates_track_services_with_the_split() -> None:
    cluster = Cluster(release_objects())
    router = ServiceRouter()
    cluster.apply(router.reconcile(cluster.context(SERVICE)))
    assert router.get_weight(cluster.context(SERVICE)) == 0
    cluster.apply(router.set_weight(cluster.context(SERVICE), 10))
    canary = cluster.get("v1", "Service", "web-canary")
    baseline = cluster.get("v1", "Service", "web-baseline")
    assert canary is not None
    assert baseline is not None
    # Same ports as the primary Service, selecting only that copy's pods.
    assert canary["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": 8080}]
    assert canary["spec"]["selector"][TRACK_LABEL] == "canary"
    assert baseline["spec"]["selector"][TRACK_LABEL] == "baseline"
    assert canary["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    assert (
        canary["metadata"]["annotations"][WEIGHT_ANNOTATION],
        baseline["metadata"]["annotations"][WEIGHT_ANNOTATION],
    ) == ("10", "10")
    assert router.get_weight(cluster.context(SERVICE)) == 10
    # Reconciling again (after a restart) keeps the weight.
    cluster.apply(router.reconcile(cluster.context(SERVICE)))
    assert router.get_weight(cluster.context(SERVICE)) == 10


def test_service_router_finalize_removes_its_services() -> None:
    cluster = Cluster(release_objects())
    router = ServiceRouter()
    cluster.apply(router.set_weight(cluster.context(SERVICE), 50))
    cluster.apply(router.finalize(cluster.context(SERVICE)))
    assert cluster.get("v1", "Service", "web-canary") is None
    assert cluster.get("v1", "Service", "web-baseline") is None
    assert cluster.get("v1", "Service", "web") is not None
    assert router.get_weight(cluster.context(SERVICE)) == 0


def test_service_router_refuses_a_service_that_fronts_no_forked_workload() -> None:
    cluster = Cluster(release_objects())
    with pytest.raises(RouterError, match="selects none of the forked workloads"):
        ServiceRouter().set_weight(cluster.context(RouterSpec(type=RouterType.SERVICE, service="api")), 10)
    with pytest.raises(RouterError, match="not found"):
        ServiceRouter().get_weight(Cluster().context(SERVICE))
