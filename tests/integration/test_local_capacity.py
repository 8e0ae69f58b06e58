"""The local control plane holds the scale benchmark: its fake nodes admit at least 5,000 pods in all and its
Service IP range has room for at least 5,000 Services, and a burst of Services each gets its own ClusterIP
from that range (kwokctl's defaults gave 330 pods and a /24 that was full at about 250 Services).

The range is checked before any Service is created, so on a cluster created with the old range the test
fails without filling it (other sessions may share the cluster)."""

from __future__ import annotations

import ipaddress
from concurrent.futures import ThreadPoolExecutor

from kubernetes import client

from tests.support.cluster import Cluster

PODS_NEEDED = 5000
SERVICES_NEEDED = 5000
BURST = 300  # more than the old /24 could hold, light enough for a 2-core CI machine


def service_ranges(cluster: Cluster) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The cluster's Service IP ranges, from its ServiceCIDR objects (networking.k8s.io/v1)."""
    resource = cluster.dynamic.resources.get(api_version="networking.k8s.io/v1", kind="ServiceCIDR")
    return [ipaddress.ip_network(cidr) for item in resource.get().items for cidr in item.spec.cidrs]


def test_nodes_admit_five_thousand_pods(cluster: Cluster) -> None:
    nodes = cluster.core.list_node().items
    ready = [n for n in nodes if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])]
    admitted = sum(int(n.status.allocatable["pods"].replace("k", "000")) for n in ready)
    assert admitted >= PODS_NEEDED, f"{len(ready)} Ready nodes admit {admitted} pods in all"


def test_service_range_holds_five_thousand_services_and_a_burst_gets_addresses(
    cluster: Cluster, namespace: str,
) -> None:
    ranges = service_ranges(cluster)
    # Network and broadcast addresses and the `kubernetes` Service's address are not for Services.
    room = sum(r.num_addresses - 2 for r in ranges) - 1
    assert room >= SERVICES_NEEDED, f"Service IP ranges {[str(r) for r in ranges]} hold {room} Services"

    def create(i: int) -> str:
        svc = client.V1Service(
            metadata=client.V1ObjectMeta(name=f"burst-{i}"),
            spec=client.V1ServiceSpec(selector={"app": f"burst-{i}"}, ports=[client.V1ServicePort(port=80)]),
        )
        return str(cluster.core.create_namespaced_service(namespace, svc).spec.cluster_ip)

    with ThreadPoolExecutor(max_workers=8) as pool:
        ips = list(pool.map(create, range(BURST)))

    assert len(set(ips)) == BURST
    assert all(any(ipaddress.ip_address(ip) in r for r in ranges) for ip in ips), ips
