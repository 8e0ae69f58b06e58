"""Session fixtures: a real cluster (local control plane or $KUBECONFIG) with crds/ installed,
a namespace per test, and a real Prometheus server."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.support import cluster as kube


@pytest.fixture(scope="session")
def cluster() -> Iterator[kube.Cluster]:
    c = kube.start_or_connect()
    try:
        kube.install_crds(c)
        yield c
    finally:
        kube.stop(c)


@pytest.fixture
def namespace(cluster: kube.Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    prefix = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-") or "t"
    yield from kube.temp_namespace(cluster, prefix)
