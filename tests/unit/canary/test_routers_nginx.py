"""The `nginx` router: a canary Ingress with ingress-nginx canary annotations for the paths that reach a
forked workload, a canary Service behind it, the weight read back, and a clean finalize."""

from __future__ import annotations

from typing import Any

import pytest

from canary.domain.labels import TRACK_LABEL
from canary.models import RouterSpec, RouterType
from canary.routers import Delete, RouterError
from canary.routers.nginx import CANARY_ANNOTATION, CANARY_WEIGHT_ANNOTATION, NginxRouter
from tests.unit.canary.cluster import Cluster, release_objects

NGINX = RouterSpec(type=RouterType.NGINX, ingress="shop")


def ingress() -> dict[str, Any]:
    def path(prefix: str, service: str) -> dict[str, Any]:
        backend = {"service": {"name": service, "port": {"number": 80}}}
        return {"path": prefix, "pathType": "Prefix", "backend": backend}

    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "shop", "namespace": "prod", "annotations": {"a": "b"}},
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": ["shop.example"], "secretName": "tls"}],
            "rules": [{"host": "shop.example", "http": {"paths": [path("/", "web"), path("/api", "api")]}}],
        },
    }


def cluster() -> Cluster:
    return Cluster([*release_objects(), ingress()])


def canary_ingress(c: Cluster) -> dict[str, Any]:
    found = c.get("networking.k8s.io/v1", "Ingress", "shop-canary")
    assert found is not None
    return found


def test_canary_ingress_routes_the_forked_paths_to_the_canary_service() -> None:
    c = cluster()
    router = NginxRouter()
    c.apply(router.reconcile(c.context(NGINX)))
    c.apply(router.set_weight(c.context(NGINX, baseline=False), 10))
    canary = canary_ingress(c)
    annotations = canary["metadata"]["annotations"]
    assert (annotations[CANARY_ANNOTATION], annotations[CANARY_WEIGHT_ANNOTATION]) == ("true", "10")
    assert canary["spec"]["ingressClassName"] == "nginx"
    [rule] = canary["spec"]["rules"]
    assert rule["host"] == "shop.example"
    # Only the path to the forked workload is in the canary Ingress, sent to its canary Service.
    assert [(p["path"], p["backend"]["service"]["name"]) for p in rule["http"]["paths"]] == [("/", "web-canary")]
    assert "tls" not in canary["spec"]
    service = c.get("v1", "Service", "web-canary")
    assert service is not None
    assert service["spec"]["selector"][TRACK_LABEL] == "canary"
    assert router.get_weight(c.context(NGINX, baseline=False)) == 10


def test_with_a_baseline_the_canary_backend_carries_both_copies() -> None:
    c = cluster()
    router = NginxRouter()
    c.apply(router.set_weight(c.context(NGINX), 10))
    assert canary_ingress(c)["metadata"]["annotations"][CANARY_WEIGHT_ANNOTATION] == "20"
    service = c.get("v1", "Service", "web-canary")
    assert service is not None
    assert TRACK_LABEL not in service["spec"]["selector"]
    assert router.get_weight(c.context(NGINX)) == 10
    c.apply(router.set_weight(c.context(NGINX), 80))
    assert canary_ingress(c)["metadata"]["annotations"][CANARY_WEIGHT_ANNOTATION] == "100"
    assert router.get_weight(c.context(NGINX)) == 80


def test_reconcile_keeps_the_current_weight() -> None:
    c = cluster()
    router = NginxRouter()
    c.apply(router.set_weight(c.context(NGINX), 30))
    c.apply(router.reconcile(c.context(NGINX)))
    assert router.get_weight(c.context(NGINX)) == 30


def test_finalize_deletes_the_canary_ingress_before_its_service() -> None:
    c = cluster()
    router = NginxRouter()
    c.apply(router.set_weight(c.context(NGINX), 50))
    changes = router.finalize(c.context(NGINX))
    assert [c.ref.name for c in changes if isinstance(c, Delete)] == ["shop-canary", "web-canary"]
    c.apply(changes)
    assert router.get_weight(c.context(NGINX)) == 0
    assert c.get("networking.k8s.io/v1", "Ingress", "shop") is not None


def test_missing_or_unrelated_ingress_is_an_error() -> None:
    with pytest.raises(RouterError, match="not found"):
        NginxRouter().get_weight(Cluster(release_objects()).context(NGINX))
    unrelated = ingress()
    unrelated["spec"]["rules"][0]["http"]["paths"] = unrelated["spec"]["rules"][0]["http"]["paths"][1:]
    c = Cluster([*release_objects(), unrelated])
    with pytest.raises(RouterError, match="none of the forked workloads"):
        NginxRouter().set_weight(c.context(NGINX), 10)
