"""The canary benchmark's simulators share one routing snapshot: within its time to live every caller gets the
same list from one read of the API, and a read after it lists again (each kind of read apart)."""

from __future__ import annotations

import time

from bench.scale.shared_reader import SharedReader
from simulator.routing.reader import KindRef, Obj


class CountingReader:
    namespace = "bench"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def pods(self) -> list[Obj]:
        self.calls.append("pods")
        return [{"metadata": {"name": f"p{len(self.calls)}"}}]

    def services(self) -> list[Obj]:
        self.calls.append("services")
        return []

    def objects(self, kind: KindRef) -> list[Obj]:
        self.calls.append(kind.plural)
        return []


def test_callers_share_one_read_per_time_to_live() -> None:
    inner = CountingReader()
    shared = SharedReader(inner, ttl=60.0)
    first = [shared.pods() for _ in range(200)]
    assert all(p is first[0] for p in first) and inner.calls == ["pods"]
    shared.services()
    shared.objects(KindRef("networking.k8s.io", ("v1",), "ingresses", "Ingress"))
    assert inner.calls == ["pods", "services", "ingresses"]
    assert shared.namespace == "bench"


def test_an_expired_snapshot_is_read_again() -> None:
    inner = CountingReader()
    shared = SharedReader(inner, ttl=0.001)
    shared.pods()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and inner.calls == ["pods"]:
        shared.pods()
    assert inner.calls == ["pods", "pods"]
