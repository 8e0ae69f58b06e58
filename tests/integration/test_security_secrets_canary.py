"""A secret never leaves through the canary paths (issue 11's acceptance, the part test_security_secrets.py
leaves out): the canary bed's `web` Release renders a sentinel held only in a valuesFrom Secret into its
Deployment's environment and into a chart Secret. A CanaryRelease whose values override would make the fork's
render fail with an error quoting the sentinel fails with that error redacted; then a CanaryRelease with an
unrelated override (the image tag) forks the Release, is analysed against the real Prometheus fed by the
traffic simulator (the `http-error-rate` policy) and is promoted (revision 2, from history). Afterwards the
CanaryReleases and their status, every Event of the namespace, the controller log, `kubectl canary status`
(table, `-o json`, `-o yaml`), the `kubectl canary report` HTML file and the Release's ReleaseHistory objects
(the promotion's included) are searched for the sentinel in clear, base64 and JSON-escaped form: no hit."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from kubernetes import client

from tests.support.canary import WEB_SERVICE, canary_bed
from tests.support.cli import KUBECTL_CANARY, run
from tests.support.cluster import Cluster
from tests.support.controller import ControllerProcess
from tests.support.prometheus import PrometheusFactory
from tests.support.releases import histories, wait_release
from tests.support.secrets import sentinel_hits

pytestmark = [pytest.mark.integration, pytest.mark.prometheus, pytest.mark.usefixtures("policies")]

PASSWORD = "Sentinel-canary-pw-9b17-never-leaves"  # only in the valuesFrom Secret `creds`
SENTINELS = (PASSWORD,)

# The canary bed's web Deployment (its image tag keys the simulator's profiles), with the secret in its env.
DEPLOYMENT = """\
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
      containers:
        - name: web
          image: "registry.k8s.io/pause:{{ values.tag }}"
          env:
            - {name: DB_PASSWORD, value: {{ values.db.password | quote }}}
"""
CHART_SECRET = """\
apiVersion: v1
kind: Secret
metadata: {name: db}
stringData:
  password: {{ values.db.password | quote }}
"""
# Renders nothing unless `boom` is set; then an undefined key looked up by the secret's value, whose
# message names the secret.
BOOM = """\
{% if values.boom | default(false) %}
apiVersion: v1
kind: ConfigMap
metadata: {name: boom}
data: {a: '{{ values.db[values.db.password] }}'}
{% endif %}
"""
TEMPLATES = {"deployment.yaml": DEPLOYMENT, "service.yaml": WEB_SERVICE, "secret.yaml": CHART_SECRET,
             "boom.yaml": BOOM}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.corpus("secrets")
def test_no_secret_value_leaves_through_the_canary_paths(
    cluster: Cluster, namespace: str, controller: ControllerProcess,
    prometheus_factory: PrometheusFactory, tmp_path: Path,
) -> None:
    cluster.core.create_namespaced_secret(namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name="creds"), data={"values.yaml": b64(f"db:\n  password: {PASSWORD}\n")}))
    values_from = [{"secretKeyRef": {"name": "creds", "key": "values.yaml"}}]
    with canary_bed(cluster, namespace, prometheus_factory, templates=TEMPLATES, valuesFrom=values_from) as bed:
        live = cluster.apps.read_namespaced_deployment("web", namespace).spec.template.spec.containers[0].env
        assert [(e.name, e.value) for e in live] == [("DB_PASSWORD", PASSWORD)], "the sentinel is really rendered"
        assert cluster.core.read_namespaced_secret("db", namespace).data["password"] == b64(PASSWORD)

        # A fork whose render fails quoting the secret: Failed, the message redacted.
        bed.canary("web-boom", {"release": "web", "values": {"boom": True},
                                "steps": [{"weight": 50, "duration": "5s"}]})
        boom = bed.wait_phase("web-boom", "Failed", timeout=60)["status"]
        assert "values.db.(redacted) is undefined" in boom["message"], boom["message"]
        assert "boom.yaml" in boom["message"], boom["message"]

        # An unrelated override: forked (the copies carry the secret as the primary does), analysed, promoted.
        bed.canary("web-good", {
            "release": "web", "values": {"tag": "3.9"},
            "steps": [{"weight": 50, "duration": "12s"}],
            "analysis": {"interval": "4s", "prometheus": {"url": bed.prometheus.url},
                         "metrics": [{"policy": "http-error-rate"}], "failureLimit": 0,
                         "onInconclusive": "extend"},
            "progressDeadline": "2m",
        })
        good = bed.wait_phase("web-good", "Promoted")["status"]
        assert good["analysis"] and good["analysis"][-1]["verdict"] == "Pass"
        wait_release(cluster, namespace, "web", phase="Ready", revision=2)
        stored = histories(cluster, namespace, "web")
        assert [h["spec"]["revision"] for h in stored] == [1, 2]
        assert stored[-1]["spec"]["source"] == {"kind": "Promotion", "canaryRelease": "web-good"}
        assert cluster.core.read_namespaced_secret("db", namespace).data["password"] == b64(PASSWORD)

        # Every place a reader of the canaries can look.
        leaks: list[str] = []
        for name in ("web-boom", "web-good"):
            leaks += sentinel_hits(f"CanaryRelease {name}", json.dumps(bed.get(name)), SENTINELS)
            for output in ((), ("-o", "json"), ("-o", "yaml")):
                done = run(KUBECTL_CANARY, cluster, "status", name, "-n", namespace, *output)
                assert done.returncode == 0, f"status {name} {output}: {done.returncode}\n{done.stderr}"
                assert name in done.stdout
                leaks += sentinel_hits(f"kubectl canary status {name} {' '.join(output)}",
                                       done.stdout + done.stderr, SENTINELS)
            report = tmp_path / f"{name}.html"
            done = run(KUBECTL_CANARY, cluster, "report", name, "-n", namespace, "-o", str(report))
            assert done.returncode == 0, f"report {name}: {done.returncode}\n{done.stderr}"
            page = report.read_text(encoding="utf-8")
            assert name in page and "<html" in page.lower()
            leaks += sentinel_hits(f"kubectl canary report {name}", page + done.stdout + done.stderr, SENTINELS)
        leaks += sentinel_hits("ReleaseHistory", json.dumps(stored), SENTINELS)
        events = cluster.core.list_namespaced_event(namespace).items
        assert any(e.involved_object.kind == "CanaryRelease" for e in events), "the canaries' Events are searched"
        leaks += sentinel_hits(
            "Events", json.dumps([cluster.api.sanitize_for_serialization(e) for e in events]), SENTINELS)
        assert controller.log_path is not None
        log = controller.log_path.read_text(errors="replace")  # unbuffered: written as it happened
        # The daemons' start lines name the objects: this is the log that reconciled them.
        assert f"canaryreleases {namespace}/" in log and "on_event" in log, \
            "the session controller's log, with its reconciles"
        leaks += sentinel_hits("controller log", log, SENTINELS)
        assert leaks == [], "\n".join(leaks)
