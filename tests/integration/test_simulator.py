"""Pins down the traffic simulator against a real kube-apiserver and a real Prometheus: it finds the
pods behind a real Service, exports series labelled with the real pod names whose counts grow,
applies each version's profile by image tag, drops a deleted pod's series, follows a real canary
Ingress's weight, runs from the command line and stops on SIGTERM, and a Prometheus scraping it
with honor_labels answers per-pod rate queries with the real pod names."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import urllib.parse
import urllib.request
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from simulator import ProfileSet, Simulator
from simulator.prometheus_config import scrape_config
from tests.support.cluster import REPO, Cluster
from tests.support.prometheus import PrometheusFactory, prometheus_factory
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration
__all__ = ["prometheus_factory"]  # the real-Prometheus fixture, used by the last test

STABLE, CANARY = "registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.9"


def deployment(name: str, replicas: int, image: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
    }


def service(name: str, selector: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": 8080}]},
    }


def ready_pod_names(cluster: Cluster, namespace: str, selector: str, count: int) -> list[str]:
    """Wait until exactly `count` pods match and are Ready; their names, sorted."""

    def ready() -> list[str] | None:
        pods: list[Any] = cluster.core.list_namespaced_pod(namespace, label_selector=selector).items
        names = sorted(
            str(p.metadata.name) for p in pods
            if not p.metadata.deletion_timestamp
            and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
        )
        return names if len(names) == count and len(pods) == count else None

    return wait_for(ready, timeout=90, what=f"{count} ready pods for {selector}")


def scrape(url: str) -> dict[str, dict[str, float]]:
    """http_requests_total per pod, by code, as the simulator exports it."""
    with urllib.request.urlopen(url + "/metrics", timeout=5) as resp:
        text = resp.read().decode()
    out: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "http_requests_total":
                out.setdefault(s.labels["pod"], {})[s.labels["code"]] = s.value
    return out


def scrape_until(url: str, condition: Any, what: str, timeout: float = 60) -> dict[str, dict[str, float]]:
    """The first scrape for which `condition(counts)` holds."""

    def attempt() -> dict[str, dict[str, float]] | None:
        counts = scrape(url)
        return counts if condition(counts) else None

    return wait_for(attempt, timeout=timeout, what=what)


def total(counts: dict[str, dict[str, float]]) -> float:
    return sum(v for codes in counts.values() for v in codes.values())


def fleet(cluster: Cluster, namespace: str) -> tuple[list[str], list[str]]:
    """`web` (2 replicas, stable image) and a `web-canary` copy (1 replica, canary image, track label)
    behind one Service selecting app=web: the replicas router's layout."""
    cluster.apply(deployment("web", 2, STABLE, {"app": "web"}), namespace)
    canary_labels = {"app": "web", "rudder.dev/track": "canary"}
    cluster.apply(deployment("web-canary", 1, CANARY, canary_labels), namespace)
    cluster.apply(service("web", {"app": "web"}), namespace)
    canary = ready_pod_names(cluster, namespace, "app=web,rudder.dev/track=canary", 1)
    primary = ready_pod_names(cluster, namespace, "app=web,!rudder.dev/track", 2)
    return primary, canary


def test_exports_real_pod_names_and_version_profiles(cluster: Cluster, namespace: str) -> None:
    primary, canary = fleet(cluster, namespace)
    profiles = ProfileSet.from_yaml("versions: {'3.9': {errorRate: 1.0}}")  # the canary's image tag
    sim = Simulator(
        namespace, "web", kubeconfig=cluster.kubeconfig, rps=60, refresh=0.5, seed=1, profiles=profiles,
    )
    with sim:
        first = scrape_until(sim.url, lambda c: set(c) == {*primary, *canary}, "series for every real pod")
        wait_for(lambda: total(scrape(sim.url)) > total(first) + 30, timeout=30, what="counts to grow")
        counts = scrape(sim.url)
        # The canary's image tag 3.9 is profiled to fail every request; the stable one never fails.
        assert counts[canary[0]]["200"] == 0
        assert counts[canary[0]]["500"] > 0
        assert all(counts[p]["500"] == 0 and counts[p]["200"] > 0 for p in primary)
        # Round-robin over three ready replicas: the canary's share of traffic is its replica share.
        assert total({canary[0]: counts[canary[0]]}) / total(counts) == pytest.approx(1 / 3, abs=0.05)

        cluster.apps.patch_namespaced_deployment_scale("web-canary", namespace, {"spec": {"replicas": 0}})
        wait_for(lambda: canary[0] not in scrape(sim.url), timeout=60, what="the deleted pod's series to go")
        assert set(scrape(sim.url)) == set(primary)


def ingress(name: str, backend: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    backend_ref = {"service": {"name": backend, "port": {"number": 80}}}
    path = {"path": "/", "pathType": "Prefix", "backend": backend_ref}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": {"ingressClassName": "nginx", "rules": [{"host": "shop.example", "http": {"paths": [path]}}]},
    }


def test_follows_a_real_canary_ingress_weight(cluster: Cluster, namespace: str) -> None:
    cluster.apply(deployment("web", 2, STABLE, {"app": "web"}), namespace)
    cluster.apply(deployment("web-canary", 1, CANARY, {"app": "web-canary"}), namespace)
    cluster.apply(service("web", {"app": "web"}), namespace)
    cluster.apply(service("web-canary", {"app": "web-canary"}), namespace)
    cluster.apply(ingress("web", "web"), namespace)
    weight = {"nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": "25"}
    cluster.apply(ingress("web-canary", "web-canary", weight), namespace)
    [canary] = ready_pod_names(cluster, namespace, "app=web-canary", 1)
    ready_pod_names(cluster, namespace, "app=web", 2)

    sim = Simulator(namespace, "web", kubeconfig=cluster.kubeconfig, router="nginx", rps=150, refresh=0.5)
    with sim:
        counts = scrape_until(sim.url, lambda c: total(c) >= 800, "800 requests")
        # 3 standard deviations of a binomial share at n=800 is 0.046
        assert sum(counts.get(canary, {}).values()) / total(counts) == pytest.approx(0.25, abs=0.05)

        weight["nginx.ingress.kubernetes.io/canary-weight"] = "0"
        cluster.apply(ingress("web-canary", "web-canary", weight), namespace)
        wait_for(
            lambda: sim.routing and {b.name: b.weight for b in sim.routing.backends}.get("web-canary") == 0,
            timeout=30, what="the simulator to read the new weight",
        )
        before = sum(scrape(sim.url).get(canary, {}).values())
        grown = total(scrape(sim.url)) + 100
        wait_for(lambda: total(scrape(sim.url)) > grown, timeout=30)
        assert sum(scrape(sim.url).get(canary, {}).values()) == before


def read_line(proc: subprocess.Popen[bytes], timeout: float) -> str:
    """One stdout line of `proc`, waiting at most `timeout` seconds."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise AssertionError(f"no output from {proc.args!r} within {timeout}s")
    return proc.stdout.readline().decode()


def test_command_line_serves_metrics_and_stops_on_sigterm(cluster: Cluster, namespace: str) -> None:
    primary, canary = fleet(cluster, namespace)
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--kubeconfig", cluster.kubeconfig, "--namespace", namespace,
         "--service", "web", "--router", "replicas", "--rps", "30", "--port", "0", "--seed", "1"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        ready = json.loads(read_line(proc, timeout=30))
        assert ready["event"] == "listening"
        url = f"http://127.0.0.1:{ready['port']}"
        wait_for(lambda: set(scrape(url)) == {*primary, *canary}, timeout=30, what="series for every pod")
        proc.terminate()
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def instant_query(url: str, query: str) -> dict[str, float]:
    """Result of an instant vector query keyed by its `pod` label."""
    params = urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(f"{url}/api/v1/query?{params}", timeout=5) as resp:
        body = json.load(resp)
    assert body["status"] == "success", body
    return {item["metric"].get("pod", ""): float(item["value"][1]) for item in body["data"]["result"]}


@pytest.mark.prometheus
def test_prometheus_sees_per_pod_rates_with_real_pod_names(
    cluster: Cluster, namespace: str, prometheus_factory: PrometheusFactory
) -> None:
    primary, canary = fleet(cluster, namespace)
    with Simulator(namespace, "web", kubeconfig=cluster.kubeconfig, rps=60, refresh=0.5) as sim:
        config = yaml.safe_load(scrape_config([sim.target], job_name=f"simulator-{namespace}"))
        server = prometheus_factory.start(scrape_configs=config["scrape_configs"])
        try:
            query = f'sum by (pod) (rate(http_requests_total{{namespace="{namespace}"}}[10s]))'

            def steady_rates() -> dict[str, float] | None:
                # rate() divides by the whole window, so it reads low until 10s of samples exist:
                # wait for 60 rps round-robin over three pods to show as about 20 each.
                got = instant_query(server.url, query)
                steady = all(v == pytest.approx(20, rel=0.25) for v in got.values())
                return got if set(got) == {*primary, *canary} and steady else None

            per_pod = wait_for(steady_rates, timeout=90, interval=1, what="per-pod rates in Prometheus")
            buckets = f'http_request_duration_seconds_bucket{{namespace="{namespace}"}}'
            latency = f"sum by (pod) (rate({buckets}[10s]))"
            assert set(instant_query(server.url, latency)) == set(per_pod)
        finally:
            server.stop()
