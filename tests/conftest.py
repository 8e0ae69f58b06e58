"""Session fixtures: a real cluster (local control plane or $KUBECONFIG) with crds/ installed,
a namespace per test, and a real Prometheus server."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.support import cluster as kube
from tests.support.controller import LOG_DIR, ControllerProcess
from tests.support.prometheus import prometheus_factory

__all__ = ["prometheus_factory"]  # a session fixture shared by every test module

REPO = kube.REPO


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


@pytest.fixture(scope="session")
def controller(cluster: kube.Cluster) -> Iterator[ControllerProcess]:
    """The real controller entry point, watching only this session's namespaces (tests that kill or
    replace the controller run their own in an `iso-` namespace)."""
    proc = ControllerProcess(cluster.kubeconfig, args=["--namespace", f"{kube.SESSION_PREFIX}*"])
    proc.start(LOG_DIR)
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def iso_namespace(cluster: kube.Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace the shared controller ignores."""
    prefix = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-") or "t"
    yield from kube.temp_namespace(cluster, prefix, isolated=True)


@pytest.fixture(scope="session")
def policies(cluster: kube.Cluster) -> list[str]:
    """The ClusterMetricPolicy library of policies/, installed once."""
    names = []
    for path in sorted((REPO / "policies").glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for obj in cluster.apply_file(path):
            names.append(obj.metadata.name)
    return names
