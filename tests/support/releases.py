"""Building Release objects and waiting on their status in integration tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.support.cluster import Cluster
from tests.support.wait import WaitTimeout, wait_for

if TYPE_CHECKING:
    from tests.support.controller import ControllerProcess

GROUP, VERSION = "rudder.dev", "v1alpha1"
RECONCILES = 'rudder_release_reconciles_total{outcome="ok"}'

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}-config
data:
  greeting: {{ values.greeting | quote }}
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ release.name }}-web
spec:
  replicas: {{ values.replicas }}
  selector:
    matchLabels: {app: {{ release.name }}-web}
  template:
    metadata:
      labels: {app: {{ release.name }}-web}
    spec:
      containers:
        - name: web
          image: "registry.k8s.io/pause:{{ values.tag }}"
"""

# A Deployment whose pods never schedule with values.nodeSelector {nowhere: "true"}: a never-Ready revision.
UNSCHEDULABLE = DEPLOYMENT.replace(
    "      containers:", "      nodeSelector: {{ values.nodeSelector | tojson }}\n      containers:")

SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: {{ release.name }}-web
spec:
  selector: {app: {{ release.name }}-web}
  ports: [{port: 80, targetPort: 8080}]
"""

WEB_TEMPLATES = {"configmap.yaml": CONFIGMAP, "deployment.yaml": DEPLOYMENT, "service.yaml": SERVICE,
                 "NOTES.txt": "{{ release.name }} revision {{ release.revision }} greets {{ values.greeting }}"}
WEB_VALUES = {"greeting": "hello", "replicas": 2, "tag": "3.10"}


def release_body(name: str, templates: dict[str, str] | None = None, chart_values: dict[str, Any] | None = None,
                 **spec: Any) -> dict[str, Any]:
    chart: dict[str, Any] = {"templates": templates if templates is not None else WEB_TEMPLATES}
    chart["values"] = chart_values if chart_values is not None else WEB_VALUES
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Release",
        "metadata": {"name": name},
        "spec": {"chart": chart, **spec},
    }


def create_release(cluster: Cluster, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    return cluster.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "releases", body)  # type: ignore[no-any-return]


def get_release(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    return cluster.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "releases", name)  # type: ignore[no-any-return]


def patch_release(cluster: Cluster, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
    return cluster.custom.patch_namespaced_custom_object(  # type: ignore[no-any-return]
        GROUP, VERSION, namespace, "releases", name, patch)


def nudge(cluster: Cluster, controller: ControllerProcess, namespace: str, name: str, times: int) -> None:
    """Make the controller reconcile the Release `times` more times without changing its content: each label
    change wakes one pass (the safety-net resync is out of the tests' way)."""
    for touch in range(times):
        reconciles = controller.metrics().get(RECONCILES, 0)
        patch_release(cluster, namespace, name, {"metadata": {"labels": {"rudder.test/nudge": str(touch)}}})
        wait_for(lambda: controller.metrics().get(RECONCILES, 0) > reconciles, timeout=60,  # noqa: B023
                 what=f"reconciliation {touch + 1} of {times} of {name}")


def histories(cluster: Cluster, namespace: str, release: str) -> list[dict[str, Any]]:
    items = cluster.custom.list_namespaced_custom_object(
        GROUP, VERSION, namespace, "releasehistories", label_selector=f"rudder.dev/release={release}"
    )["items"]
    return sorted(items, key=lambda h: h["spec"]["revision"])


def wait_release(cluster: Cluster, namespace: str, name: str, *, phase: str, revision: int | None = None,
                 timeout: float = 90, message: str | None = None) -> dict[str, Any]:
    """Wait until the Release reports `phase` (and `revision`, and a message containing `message`)."""
    seen: dict[str, Any] = {}

    def check() -> dict[str, Any] | None:
        rel = get_release(cluster, namespace, name)
        status = rel.get("status") or {}
        seen.update(phase=status.get("phase"), revision=status.get("revision"), message=status.get("message"))
        if status.get("phase") != phase:
            return None
        if revision is not None and status.get("revision") != revision:
            return None
        if message is not None and message not in (status.get("message") or ""):
            return None
        return rel

    def describe() -> str:
        return f"Release {namespace}/{name} phase={phase} revision={revision} message~{message!r}"

    try:
        return wait_for(check, timeout=timeout, what=describe())
    except WaitTimeout as err:
        raise WaitTimeout(f"{err}; last status seen: {seen}") from None


def events_for(cluster: Cluster, namespace: str, name: str) -> list[Any]:
    events = cluster.core.list_namespaced_event(namespace).items
    return [e for e in events if e.involved_object.kind == "Release" and e.involved_object.name == name]
