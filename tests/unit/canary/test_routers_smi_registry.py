"""The `smi` router (a TrafficSplit the CanaryRelease owns) and the router registry: every type has a
router and names its CRDs, and an unknown type is an error, never a silent fallback."""

from __future__ import annotations

import pytest

from canary.models import RouterSpec, RouterType
from canary.routers import ROUTERS, RouterError, UnknownRouterError, get_router, required_crds
from canary.routers.smi import SmiRouter
from tests.unit.canary.cluster import Cluster, release_objects

SMI = RouterSpec(type=RouterType.SMI, service="web", traffic_split="shop")


def split_of(c: Cluster) -> dict[str, object]:
    found = c.get("split.smi-spec.io/v1alpha2", "TrafficSplit", "shop")
    assert found is not None
    return found


def test_smi_router_owns_a_traffic_split_over_the_track_services() -> None:
    c = Cluster(release_objects())
    router = SmiRouter()
    assert router.get_weight(c.context(SMI)) == 0
    c.apply(router.reconcile(c.context(SMI)))
    c.apply(router.set_weight(c.context(SMI), 10))
    split = split_of(c)
    assert split["spec"] == {
        "service": "web",
        "backends": [
            {"service": "web", "weight": 80},
            {"service": "web-canary", "weight": 10},
            {"service": "web-baseline", "weight": 10},
        ],
    }
    assert split["metadata"]["ownerReferences"][0]["uid"] == "uid-1"  # type: ignore[index]
    assert c.get("v1", "Service", "web-canary") is not None
    assert router.get_weight(c.context(SMI)) == 10


def test_smi_router_finalize_deletes_the_split_then_the_services() -> None:
    c = Cluster(release_objects())
    router = SmiRouter()
    c.apply(router.set_weight(c.context(SMI), 50))
    changes = router.finalize(c.context(SMI))
    assert [x.ref.kind for x in changes] == ["TrafficSplit", "Service", "Service"]
    c.apply(changes)
    assert c.get("split.smi-spec.io/v1alpha2", "TrafficSplit", "shop") is None
    assert router.get_weight(c.context(SMI)) == 0


def test_smi_router_defaults_the_split_name_to_the_apex() -> None:
    spec = RouterSpec(type=RouterType.SMI, service="web")
    assert [r.name for r in SmiRouter().reads(Cluster().context(spec))] == ["web"]


def test_smi_router_never_takes_over_someone_elses_split() -> None:
    theirs = {
        "apiVersion": "split.smi-spec.io/v1alpha2",
        "kind": "TrafficSplit",
        "metadata": {"name": "shop", "namespace": "prod"},
        "spec": {"service": "web", "backends": [{"service": "web", "weight": 100}]},
    }
    c = Cluster([*release_objects(), theirs])
    with pytest.raises(RouterError, match="belongs to someone else"):
        SmiRouter().get_weight(c.context(SMI))


def test_every_router_type_is_registered() -> None:
    assert set(ROUTERS) == set(RouterType)
    for kind in RouterType:
        assert get_router(kind).kind is kind
        assert get_router(kind.value) is get_router(kind)


def test_an_unknown_router_type_is_an_error_naming_the_known_ones() -> None:
    with pytest.raises(UnknownRouterError, match=r"linkerd.*known: gateway-api, istio, nginx, replicas, service, smi"):
        get_router("linkerd")


def test_routers_name_the_crds_they_need() -> None:
    assert required_crds("gateway-api") == ("httproutes.gateway.networking.k8s.io",)
    assert required_crds("istio") == ("virtualservices.networking.istio.io",)
    assert required_crds("smi") == ("trafficsplits.split.smi-spec.io",)
    assert required_crds("replicas") == required_crds("service") == required_crds("nginx") == ()
