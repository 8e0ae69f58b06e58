"""A canary test bed: a Release with a web Deployment and Service, the traffic simulator sending
requests through whatever routes them, and a real Prometheus scraping the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from simulator import ProfileSet, Simulator
from simulator.profiles import Profile
from tests.support.cluster import Cluster
from tests.support.prometheus import PrometheusFactory, PrometheusServer
from tests.support.releases import GROUP, VERSION, create_release, release_body, wait_release
from tests.support.wait import WaitTimeout, wait_for

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {{ values.replicas }}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      nodeSelector: {{ values.nodeSelector | default({}) | tojson }}
      containers:
        - name: web
          image: "registry.k8s.io/pause:{{ values.tag }}"
"""
WEB_SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
"""
GOOD = Profile(error_rate=0.002, latency_median=0.05, latency_sigma=0.2)


@dataclass
class Bed:
    cluster: Cluster
    namespace: str
    simulator: Simulator
    prometheus: PrometheusServer

    def canary(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "CanaryRelease", "metadata": {"name": name},
                "spec": spec}
        return self.cluster.custom.create_namespaced_custom_object(  # type: ignore[no-any-return]
            GROUP, VERSION, self.namespace, "canaryreleases", body)

    def get(self, name: str) -> dict[str, Any]:
        return self.cluster.custom.get_namespaced_custom_object(  # type: ignore[no-any-return]
            GROUP, VERSION, self.namespace, "canaryreleases", name)

    def wait_phase(self, name: str, phase: str, timeout: float = 180) -> dict[str, Any]:
        seen: dict[str, Any] = {}

        def check() -> dict[str, Any] | None:
            obj = self.get(name)
            status = obj.get("status") or {}
            seen.update({k: status.get(k) for k in ("phase", "step", "weight", "verdict", "message")})
            return obj if status.get("phase") == phase else None

        try:
            return wait_for(check, timeout=timeout, what=f"CanaryRelease {name} phase {phase}")
        except WaitTimeout as err:
            raise WaitTimeout(f"{err}; last status seen: {seen}") from None

    def annotate(self, name: str, action: str) -> None:
        self.cluster.custom.patch_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "canaryreleases", name,
            {"metadata": {"annotations": {"rudder.dev/action": action}}})

    def wait(self, name: str, predicate: Any, what: str, timeout: float = 120) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            obj = self.get(name)
            return obj if predicate(obj.get("status") or {}) else None

        return wait_for(check, timeout=timeout, what=f"CanaryRelease {name}: {what}")

    def copies(self) -> list[str]:
        items = self.cluster.apps.list_namespaced_deployment(
            self.namespace, label_selector="rudder.dev/track").items
        return sorted(d.metadata.name for d in items)


@contextmanager
def canary_bed(cluster: Cluster, namespace: str, factory: PrometheusFactory, *, replicas: int = 2,
               rps: float = 1000, profiles: dict[str, Profile] | None = None,
               templates: dict[str, str] | None = None, **release_spec: Any) -> Iterator[Bed]:
    """Install the web Release at revision 1 and start the simulator and Prometheus for it.

    `templates` replaces the chart's (they must keep the `web` Deployment and Service); `release_spec` adds
    Release spec fields (e.g. `valuesFrom`).

    1000 req/s: a healthy canary passes only on evidence (the judge's non-inferiority bound must clear the
    error-rate policy's tolerated rise), which at GOOD's 0.2% errors takes about 2,200 requests per side; at this
    rate a 12 s step at 50% gathers them."""
    create_release(cluster, namespace, release_body(
        "web", templates=templates or {"deployment.yaml": WEB, "service.yaml": WEB_SERVICE},
        chart_values={"replicas": replicas, "tag": "3.10"}, **release_spec))
    wait_release(cluster, namespace, "web", phase="Ready", revision=1)
    sim = Simulator(namespace, "web", kubeconfig=cluster.kubeconfig, rps=rps, seed=7,
                    profiles=ProfileSet(GOOD, profiles or {}))
    sim.start()
    try:
        prometheus = factory.start(scrape_configs=[{
            "job_name": f"sim-{namespace}", "honor_labels": True, "scrape_interval": "1s",
            "static_configs": [{"targets": [sim.target]}],
        }])
        try:
            yield Bed(cluster, namespace, sim, prometheus)
        finally:
            prometheus.stop()
    finally:
        sim.stop()
