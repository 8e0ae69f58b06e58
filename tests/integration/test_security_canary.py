"""Canary analysis against the real API server under the controller's Prometheus allow-list (issue 11: F5, F20).

Pins down, with the real controller entry point started here with its own flags (in an `iso-` namespace
the session's controller ignores):

* a CanaryRelease whose `spec.analysis.prometheus.url` points at a local HTTP server that is not on the
  allow-list fails with `InvalidSpec` naming the field, the server receives zero requests, no copies
  are created and the controller stays healthy;
* an authenticated Prometheus (a local server on 127.0.0.1 that answers 401 unless the request carries
  the bearer token of the `headersFrom` Secret) is queried with that header on every request, the
  canary is judged (no Error, the last look Pass) and promoted, and the token appears nowhere in the
  status, the Events or the controller's log;
* a ReleaseHistory a tenant re-created to name a CanaryRelease as the source of someone else's revision
  (owned by the Release's uid, the controller's signature annotations copied) is not believed: the
  canary waiting for its promotion sees a Release moved by someone else and rolls back, leaving the
  Release at that revision, instead of finishing a promotion it never made.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

import pytest
from kubernetes import client

from tests.support.canary import WEB, WEB_SERVICE
from tests.support.cluster import Cluster
from tests.support.controller import LOG_DIR, ControllerProcess
from tests.support.loopback import serve
from tests.support.releases import (
    GROUP,
    VERSION,
    create_release,
    get_release,
    patch_release,
    release_body,
    wait_release,
)
from tests.support.wait import WaitTimeout, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("policies")]

TOKEN = f"tok-{uuid.uuid4().hex}"


class _Prometheus(BaseHTTPRequestHandler):
    """A stand-in Prometheus that counts requests; with `token` set it demands `Bearer <token>`."""

    token: ClassVar[str | None] = None
    requests: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        self.requests.append({"path": self.path, "authorization": self.headers.get("Authorization", "")})
        if self.token is not None and self.headers.get("Authorization") != f"Bearer {self.token}":
            self._answer(401, {"status": "error", "errorType": "unauthorized", "error": "no token"})
            return
        # errors (5xx matchers) 10, total 10000, for canary and baseline alike: the same error rate, on enough
        # requests for the judge's non-inferiority bound to clear the policy's tolerated rise (a Pass).
        value = "10" if "5.." in self.path or "5%2E%2E" in self.path.upper() else "10000"
        self._answer(200, {"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {}, "value": [1.0, value]}]}})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def stand_in() -> Iterator[str]:
    _Prometheus.token, _Prometheus.requests = None, []
    with serve(_Prometheus) as url:
        yield url


def _controller(cluster: Cluster, namespace: str, *flags: str) -> ControllerProcess:
    return ControllerProcess(cluster.kubeconfig, args=["--namespace", namespace, *flags]).start(LOG_DIR)


def _web(cluster: Cluster, namespace: str) -> None:
    create_release(cluster, namespace, release_body(
        "web", templates={"deployment.yaml": WEB, "service.yaml": WEB_SERVICE},
        chart_values={"replicas": 1, "tag": "3.10"}))
    wait_release(cluster, namespace, "web", phase="Ready", revision=1)


def _canary(cluster: Cluster, namespace: str, name: str, prometheus: dict[str, Any]) -> None:
    cluster.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "canaryreleases", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "CanaryRelease", "metadata": {"name": name},
        "spec": {"release": "web", "values": {"tag": "3.9"}, "router": {"type": "service", "service": "web"},
                 "steps": [{"weight": 50, "duration": "3s"}],
                 "analysis": {"interval": "1s", "prometheus": prometheus,
                              "metrics": [{"policy": "http-error-rate"}], "onInconclusive": "rollback"},
                 "progressDeadline": "2m"}})


def _status(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    obj = cluster.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "canaryreleases", name)
    return dict(obj.get("status") or {})


def _wait_phase(cluster: Cluster, namespace: str, name: str, phase: str, timeout: float) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def reached() -> dict[str, Any] | None:
        seen.clear()
        seen.update(_status(cluster, namespace, name))
        return dict(seen) if seen.get("phase") == phase else None

    try:
        return wait_for(reached, timeout=timeout, what=f"CanaryRelease {name} phase {phase}")
    except WaitTimeout as err:
        raise WaitTimeout(f"{err}; last status: {seen}") from None


def _copies(cluster: Cluster, namespace: str) -> list[str]:
    items = cluster.apps.list_namespaced_deployment(namespace, label_selector="rudder.dev/track").items
    return sorted(d.metadata.name for d in items)


def _events(cluster: Cluster, namespace: str) -> str:
    return json.dumps([e.to_dict() for e in cluster.core.list_namespaced_event(namespace).items], default=str)


@pytest.mark.corpus("promql")
def test_a_prometheus_outside_the_allow_list_is_never_queried(
        cluster: Cluster, iso_namespace: str, stand_in: str) -> None:
    ns = iso_namespace
    controller = _controller(cluster, ns, "--prometheus-allow", "http://127.0.0.1:1")
    try:
        _web(cluster, ns)
        _canary(cluster, ns, "ssrf", {"url": f"{stand_in}/"})
        failed = _wait_phase(cluster, ns, "ssrf", "Failed", timeout=60)
        assert failed["message"] == (
            f"invalid spec: spec.analysis.prometheus.url: {stand_in} is not on the controller's Prometheus "
            "allow-list (--prometheus-allow); nothing was queried")
        assert _Prometheus.requests == []
        assert _copies(cluster, ns) == []
        # The Event is posted after the status patch: wait for it rather than read once.
        wait_for(lambda: "InvalidSpec" in _events(cluster, ns), timeout=30, what="an InvalidSpec Event")
        assert controller.healthy()
    finally:
        controller.stop()
    assert _Prometheus.requests == []


def test_an_authenticated_prometheus_is_queried_with_the_secrets_header(
        cluster: Cluster, iso_namespace: str, stand_in: str) -> None:
    ns = iso_namespace
    _Prometheus.token = TOKEN
    cluster.core.create_namespaced_secret(ns, client.V1Secret(
        metadata=client.V1ObjectMeta(name="prometheus-auth"), string_data={"Authorization": f"Bearer {TOKEN}"}))
    controller = _controller(cluster, ns, "--prometheus-allow", stand_in)
    try:
        _web(cluster, ns)
        _canary(cluster, ns, "authed", {"url": stand_in, "timeout": "5s",
                                        "headersFrom": {"secretName": "prometheus-auth"}})
        promoted = _wait_phase(cluster, ns, "authed", "Promoted", timeout=180)
        assert _Prometheus.requests, "the analysis queried the authenticated Prometheus"
        assert {r["authorization"] for r in _Prometheus.requests} == {f"Bearer {TOKEN}"}
        verdicts = {m["verdict"] for record in promoted.get("analysis", []) for m in record.get("metrics", [])}
        assert "Error" not in verdicts, promoted.get("analysis")
        assert promoted["analysis"][-1]["verdict"] == "Pass"
        leaked = [where for where, text in (("status", json.dumps(promoted)), ("events", _events(cluster, ns)),
                                            ("controller log", controller.log())) if TOKEN in text]
        assert leaked == []
    finally:
        controller.stop()


def _forge_promotion_source(cluster: Cluster, namespace: str, history: str, canary: str) -> None:
    """Re-create `history` as a tenant can (its spec is immutable): owned by the Release's uid, the signature
    annotations copied, its source now a promotion from `canary`."""
    original = cluster.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "releasehistories", history)
    meta = original["metadata"]
    forged = {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "ReleaseHistory",
        "metadata": {"name": history, "labels": meta["labels"], "annotations": meta["annotations"],
                     "ownerReferences": meta["ownerReferences"]},
        "spec": {**original["spec"], "source": {"kind": "Promotion", "canaryRelease": canary}},
    }
    cluster.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "releasehistories", history)
    wait_for(lambda: all(h["metadata"]["name"] != history for h in cluster.custom.list_namespaced_custom_object(
        GROUP, VERSION, namespace, "releasehistories")["items"]), timeout=30, what=f"{history} deleted")
    cluster.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "releasehistories", forged)


def test_a_forged_release_history_does_not_pass_for_the_canarys_promotion(
        cluster: Cluster, iso_namespace: str, stand_in: str) -> None:
    ns = iso_namespace
    # Someone else moves the Release to revision 2; then the tenant forges web-v2 as promoted from `waiting`.
    release_controller = _controller(cluster, ns, "--controllers", "release")
    try:
        _web(cluster, ns)
        patch_release(cluster, ns, "web", {"spec": {"values": {"tag": "3.9"}}})
        wait_release(cluster, ns, "web", phase="Ready", revision=2)
    finally:
        release_controller.stop()
    _forge_promotion_source(cluster, ns, "web-v2", "waiting")
    # A canary promoting from revision 1, its status as its controller writes it before the Release moves.
    _canary(cluster, ns, "waiting", {"url": stand_in})
    cluster.custom.patch_namespaced_custom_object_status(GROUP, VERSION, ns, "canaryreleases", "waiting", {
        "status": {"phase": "Promoting", "stableRevision": 1, "step": 1, "weight": 0, "observedGeneration": 1}})
    canary_controller = _controller(cluster, ns, "--controllers", "canary", "--prometheus-allow", stand_in)
    try:
        def finished() -> dict[str, Any] | None:
            status = _status(cluster, ns, "waiting")
            return status if status.get("phase") in ("Promoted", "RolledBack") else None

        done = wait_for(finished, timeout=60, what="the canary finished")
        assert done["phase"] == "RolledBack", done
        assert done["message"] == "Release web moved to revision 2 by someone else"
        release = get_release(cluster, ns, "web")
        assert release["status"]["revision"] == 2
        assert "rollbackTo" not in release["spec"]
    finally:
        canary_controller.stop()
