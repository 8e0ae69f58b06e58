"""Every CRD in crds/ installs with its short name and printer columns, accepts the contract's
examples and rejects invalid objects at admission, naming the offending field."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.support.cluster import Cluster

pytestmark = pytest.mark.integration

GROUP, VERSION = "rudder.dev", "v1alpha1"

EXPECTED = {
    "releases": ("Release", "Namespaced", "rel", ["Revision", "Phase", "Ready", "Age"]),
    "releasehistories": ("ReleaseHistory", "Namespaced", "relhist", ["Release", "Revision", "Phase", "Age"]),
    "canaryreleases": (
        "CanaryRelease", "Namespaced", "canary", ["Release", "Phase", "Step", "Weight", "Verdict", "Age"]
    ),
    "metricpolicies": ("MetricPolicy", "Namespaced", "mpol", ["Type", "Test", "Age"]),
    "clustermetricpolicies": ("ClusterMetricPolicy", "Cluster", "cmpol", ["Type", "Test", "Age"]),
}

VALID: dict[str, dict[str, Any]] = {
    "releases": {
        "chart": {"templates": {"cm.yaml": "kind: ConfigMap"}, "values": {"a": 1}},
        "values": {"image": {"tag": "1.0"}},
        "valuesFrom": [{"secretKeyRef": {"name": "s", "key": "values.yaml"}}],
        "rollbackTo": {"revision": 0},
        "dependsOn": [{"name": "mysql"}],
        "timeout": "1h30m",
    },
    "releasehistories": {
        "release": "shop", "revision": 1, "manifest": "[]", "manifestDigest": "sha256:0",
    },
    "canaryreleases": {
        "release": "shop",
        "router": {"type": "replicas"},
        "steps": [{"weight": 10, "duration": "2m"}, {"pause": {}}],
        "analysis": {"interval": "30s", "metrics": [{"policy": "http-error-rate"}]},
    },
    "metricpolicies": {
        "type": "ratio", "test": "proportion",
        "queries": {"errors": "sum(x)", "total": "sum(y)"}, "threshold": {"max": 0.01},
    },
}
VALID["clustermetricpolicies"] = VALID["metricpolicies"]

INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("releases", {"chart": {}}, "exactly one source"),
    ("releases", {"chart": {"templates": {}}, "timeout": "soon"}, "spec.timeout"),
    ("releases", {"chart": {"templates": {}}, "rollbackTo": {"revision": -1}}, "spec.rollbackTo.revision"),
    ("releases", {"chart": {"templates": {}}, "valuesFrom": [{}]}, "exactly one of secretKeyRef"),
    ("releasehistories", {"release": "shop", "revision": 0, "manifest": "", "manifestDigest": ""},
     "spec.revision"),
    ("canaryreleases", {"release": "shop", "steps": [{"weight": 150}]}, "spec.steps[0].weight"),
    ("canaryreleases", {"release": "shop", "steps": [{"weight": 10, "pause": {}}]}, "either"),
    ("canaryreleases", {"release": "shop", "steps": [{"weight": 10}], "router": {"type": "linkerd"}},
     "spec.router.type"),
    ("canaryreleases", {"release": "shop", "steps": [{"weight": 10}],
                        "analysis": {"onInconclusive": "promote"}}, "spec.analysis.onInconclusive"),
    ("metricpolicies", {"type": "ratio", "test": "proportion", "queries": {"errors": "x"}},
     "queries.errors and queries.total"),
    ("metricpolicies", {"type": "distribution", "test": "mann-whitney", "queries": {"v": "x"},
                        "confidence": 1.5}, "spec.confidence"),
]


def create(cluster: Cluster, plural: str, namespace: str, name: str, spec: dict[str, Any]) -> Any:
    kind = EXPECTED[plural][0]
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": {"name": name}, "spec": spec}
    if EXPECTED[plural][1] == "Cluster":
        return cluster.custom.create_cluster_custom_object(GROUP, VERSION, plural, body)
    return cluster.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, body)


@pytest.mark.parametrize("plural", sorted(EXPECTED))
def test_crd_names_scope_and_printer_columns(cluster: Cluster, plural: str) -> None:
    kind, scope, short, columns = EXPECTED[plural]
    crd = client.ApiextensionsV1Api(cluster.api).read_custom_resource_definition(f"{plural}.{GROUP}")
    assert crd.spec.names.kind == kind
    assert crd.spec.scope == scope
    assert short in crd.spec.names.short_names
    (version,) = crd.spec.versions
    assert version.subresources.status is not None
    assert [c.name for c in version.additional_printer_columns] == columns


@pytest.mark.parametrize("plural", sorted(VALID))
def test_valid_example_is_accepted(cluster: Cluster, namespace: str, plural: str) -> None:
    obj = create(cluster, plural, namespace, f"ok-{namespace}", VALID[plural])
    assert obj["metadata"]["uid"]
    if EXPECTED[plural][1] == "Cluster":
        cluster.custom.delete_cluster_custom_object(GROUP, VERSION, plural, obj["metadata"]["name"])


@pytest.mark.parametrize(("plural", "spec", "mentions"), INVALID)
def test_invalid_object_is_rejected_naming_the_field(
    cluster: Cluster, namespace: str, plural: str, spec: dict[str, Any], mentions: str
) -> None:
    with pytest.raises(ApiException) as err:
        create(cluster, plural, namespace, "invalid", spec)
    assert err.value.status == 422
    assert mentions in err.value.body


def test_release_history_spec_is_immutable(cluster: Cluster, namespace: str) -> None:
    create(cluster, "releasehistories", namespace, "shop-v1", VALID["releasehistories"])
    patch = {"spec": {"manifest": "[{}]"}}
    with pytest.raises(ApiException) as err:
        cluster.custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, "releasehistories", "shop-v1", patch
        )
    assert err.value.status == 422
    assert "immutable" in err.value.body
