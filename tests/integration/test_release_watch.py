"""Passes over a Release with nothing changed (the safety net at two seconds) send no write and no read
request at all: every read is answered by the watch-fed cache. (That reactions are event-driven is proven by
the whole suite: the session controller runs with the safety net at an hour, see tests/support/controller.py.)
This test runs its own controller in an `iso-` namespace."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.support.cluster import Cluster
from tests.support.controller import LOG_DIR, ControllerProcess
from tests.support.releases import create_release, get_release, release_body, wait_release
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration

RECONCILES = 'rudder_release_reconciles_total{outcome="ok"}'


@pytest.fixture
def fast_resync(cluster: Cluster, iso_namespace: str) -> Iterator[ControllerProcess]:
    """A controller whose safety net re-reads every Release every two seconds."""
    proc = ControllerProcess(cluster.kubeconfig, args=["--namespace", iso_namespace, "--controllers", "release",
                                                       "--resync", "2"])
    proc.start(LOG_DIR)
    try:
        yield proc
    finally:
        proc.stop()


def _kind(sample: str) -> str:
    found = re.search(r'kind="([^"]*)"', sample)
    return found.group(1) if found else ""


def reads(controller: ControllerProcess) -> dict[str, float]:
    """Get and list requests the controller sent to the API server (those its cache did not answer), by kind;
    the watch streams feeding the cache are not requests of a pass. Nor is a stream's list after a 410 Gone (on
    a busy shared cluster a watch may resume from a version the server no longer holds): each such re-list is
    one `rudder_watch_restarts_total{cause="expired"}` of its kind, taken off that kind's lists."""
    samples = controller.metrics()
    relists = {_kind(k): v for k, v in samples.items()
               if k.startswith("rudder_watch_restarts_total") and 'cause="expired"' in k}
    return {k: v - (relists.get(_kind(k), 0.0) if 'verb="list"' in k else 0.0) for k, v in samples.items()
            if k.startswith("rudder_api_read_requests_total") and 'verb="watch"' not in k}


def test_passes_with_nothing_changed_send_no_request(
    cluster: Cluster, iso_namespace: str, fast_resync: ControllerProcess
) -> None:
    ns = iso_namespace
    create_release(cluster, ns, release_body("idle"))
    wait_release(cluster, ns, "idle", phase="Ready", revision=1)
    # The first safety-net pass after Ready may still settle the history's ready flag; from then on, quiet.
    start = fast_resync.metrics().get(RECONCILES, 0)
    wait_for(lambda: fast_resync.metrics().get(RECONCILES, 0) >= start + 2, timeout=60, what="two more passes")
    writes, read, passes = fast_resync.writes(), reads(fast_resync), fast_resync.metrics().get(RECONCILES, 0)

    wait_for(lambda: fast_resync.metrics().get(RECONCILES, 0) >= passes + 3, timeout=60,
             what="three safety-net passes")

    assert fast_resync.writes() == writes, "an unchanged Release must cost zero write requests"
    assert reads(fast_resync) == read, "every read of an unchanged Release must come from the cache"
    assert get_release(cluster, ns, "idle")["status"]["phase"] == "Ready"
