"""The `Kube` client against a real HTTP server on 127.0.0.1 that plays an overloaded API server: an answer
of 429 with `Retry-After` (or 503 with `Retry-After`) makes the client wait what the server asked and send the
request again, for reads and writes alike, until it succeeds; a server that keeps refusing, or a 503 without
`Retry-After`, ends in the usual `KubeError` after a bounded number of requests. Every request, discovery
included, first waits for the rate limiter's token, and impersonated clones share their parent's limiter.
The clock is injected: the tests count requests and sleeps and check their order, never the time."""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from kubernetes import client

from rudder.kube import client as client_module
from rudder.kube.client import Kube, KubeError, Ref, set_politeness
from rudder.kube.throttle import Politeness, RetryPolicy
from tests.support.loopback import serve

CONFIGMAP = Ref("v1", "ConfigMap", "settings", "shop")
DISCOVERY: dict[str, Any] = {
    "/api": {"kind": "APIVersions", "versions": ["v1"]},
    "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": []},
    "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
        {"name": "configmaps", "singularName": "configmap", "namespaced": True, "kind": "ConfigMap",
         "verbs": ["create", "delete", "get", "list", "patch"]}]},
}


class StandIn:
    """What the stand-in API server answers next, and the log of what happened (requests and sleeps)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[str] = []
        # (status, Retry-After or None) answers to give, in order, before answering normally.
        self.refusals: list[tuple[int, str | None]] = []
        self.now = 0.0

    def log(self, event: str) -> None:
        with self.lock:
            self.events.append(event)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.log(f"sleep {seconds:g}")
        self.now += seconds

    def requests(self) -> list[str]:
        return [e for e in self.events if not e.startswith("sleep")]


def handler_for(stand_in: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def answer(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def handle_any(self) -> None:
            path = self.path.split("?", 1)[0]
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            stand_in.log(f"{self.command} {path}")
            if path in DISCOVERY:
                self.answer(200, DISCOVERY[path])
                return
            with stand_in.lock:
                refusal = stand_in.refusals.pop(0) if stand_in.refusals else None
            if refusal is not None:
                status, retry_after = refusal
                self.answer(status, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                     "reason": "TooManyRequests" if status == 429 else "ServiceUnavailable",
                                     "message": "the server has received too many requests", "code": status},
                            {"Retry-After": retry_after} if retry_after is not None else None)
                return
            obj = body if self.command == "PATCH" else {}
            self.answer(200, {"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": CONFIGMAP.name, "namespace": CONFIGMAP.namespace},
                              "data": obj.get("data", {"greeting": "hello"})})

        do_GET = do_PATCH = do_POST = do_DELETE = handle_any

    return Handler


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[tuple[StandIn, str]]:
    # The dynamic client caches discovery in a file of the temp dir: keep it in the test's own.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    state = StandIn()
    with serve(handler_for(state)) as url:
        yield state, url


def kube_for(state: StandIn, url: str, *, qps: float = 0, burst: int = 1, retries: int = 5) -> Kube:
    configuration = client.Configuration()
    configuration.host = url
    polite = Politeness(qps, burst, retry=RetryPolicy(max_retries=retries), clock=state.clock, sleep=state.sleep)
    kube = Kube(client.ApiClient(configuration), politeness=polite)
    assert kube.resource("v1", "ConfigMap") is not None  # discovery done before the behaviour under test
    state.events.clear()
    return kube


OBJECT_PATH = f"/api/v1/namespaces/{CONFIGMAP.namespace}/configmaps/{CONFIGMAP.name}"


def test_a_read_refused_with_429_waits_the_retry_after_and_succeeds(stand_in: tuple[StandIn, str]) -> None:
    state, url = stand_in
    kube = kube_for(state, url)
    state.refusals = [(429, "2"), (429, "1")]
    got = kube.get(CONFIGMAP)
    assert got is not None and got["data"] == {"greeting": "hello"}
    assert state.events == [f"GET {OBJECT_PATH}", "sleep 2", f"GET {OBJECT_PATH}", "sleep 1", f"GET {OBJECT_PATH}"]


def test_a_write_refused_with_503_and_retry_after_is_sent_again(stand_in: tuple[StandIn, str]) -> None:
    state, url = stand_in
    kube = kube_for(state, url)
    state.refusals = [(503, "1")]
    applied = kube.apply({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": CONFIGMAP.name, "namespace": CONFIGMAP.namespace},
                          "data": {"greeting": "hi"}})
    assert applied["data"] == {"greeting": "hi"}
    assert state.events == [f"PATCH {OBJECT_PATH}", "sleep 1", f"PATCH {OBJECT_PATH}"]


def test_a_429_without_retry_after_backs_off_exponentially(stand_in: tuple[StandIn, str]) -> None:
    state, url = stand_in
    kube = kube_for(state, url)
    state.refusals = [(429, None)] * 3
    assert kube.delete(CONFIGMAP) is True
    assert [e for e in state.events if e.startswith("sleep")] == ["sleep 0.5", "sleep 1", "sleep 2"]
    assert len(state.requests()) == 4


def test_a_server_that_keeps_refusing_ends_in_a_kube_error(stand_in: tuple[StandIn, str]) -> None:
    state, url = stand_in
    kube = kube_for(state, url, retries=3)
    state.refusals = [(429, "1")] * 10
    with pytest.raises(KubeError) as caught:
        kube.get(CONFIGMAP)
    assert caught.value.status == 429
    assert "too many requests" in caught.value.message
    assert len(state.requests()) == 4, "one request and three retries"


def test_a_503_without_retry_after_is_not_retried(stand_in: tuple[StandIn, str]) -> None:
    state, url = stand_in
    kube = kube_for(state, url)
    state.refusals = [(503, None)]
    with pytest.raises(KubeError) as caught:
        kube.get(CONFIGMAP)
    assert caught.value.status == 503
    assert state.events == [f"GET {OBJECT_PATH}"]


def test_requests_wait_for_the_rate_limiter_in_order(stand_in: tuple[StandIn, str]) -> None:
    state, url = stand_in
    kube = kube_for(state, url, qps=1, burst=2)  # discovery took the two tokens of the burst
    for _ in range(3):
        kube.get(CONFIGMAP)
    assert state.events == ["sleep 1", f"GET {OBJECT_PATH}"] * 3


def test_retries_take_tokens_too(stand_in: tuple[StandIn, str]) -> None:
    state, url = stand_in
    kube = kube_for(state, url, qps=1, burst=2)
    state.now += 10  # the burst is back
    state.refusals = [(429, "0")] * 2
    kube.get(CONFIGMAP)
    assert state.events == [f"GET {OBJECT_PATH}", f"GET {OBJECT_PATH}", "sleep 1", f"GET {OBJECT_PATH}"]


def test_impersonated_clones_share_the_parents_limiter(stand_in: tuple[StandIn, str]) -> None:
    state, url = stand_in
    kube = kube_for(state, url, qps=1, burst=2)
    clone = kube.impersonate("shop", "deployer")
    assert clone.politeness is kube.politeness
    state.events.clear()
    state.now += 10  # the burst is back
    kube.get(CONFIGMAP)
    clone.get(CONFIGMAP)  # the clone's discovery comes from its own cache file, no request
    kube.get(CONFIGMAP)
    assert state.events == [f"GET {OBJECT_PATH}", f"GET {OBJECT_PATH}", "sleep 1", f"GET {OBJECT_PATH}"]


def test_clients_created_after_set_politeness_share_the_process_limiter(
        stand_in: tuple[StandIn, str], monkeypatch: pytest.MonkeyPatch) -> None:
    _, url = stand_in
    monkeypatch.setattr(client_module._Process, "politeness", client_module._Process.politeness)  # restored after
    set_politeness(7, 3)
    configuration = client.Configuration()
    configuration.host = url
    release_side, canary_side = Kube(client.ApiClient(configuration)), Kube(client.ApiClient(configuration))
    assert release_side.politeness is canary_side.politeness
    assert (release_side.politeness.bucket.qps, release_side.politeness.bucket.burst) == (7, 3)
