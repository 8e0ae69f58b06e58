"""Session fixtures: a real cluster (local control plane or $KUBECONFIG) with crds/ installed,
a namespace per test, and a real Prometheus server."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator

import pytest

from tests.support import cluster as kube
from tests.support.controller import LOG_DIR, ControllerProcess
from tests.support.corpus import CLASSES
from tests.support.prometheus import prometheus_factory

__all__ = ["prometheus_factory"]  # a session fixture shared by every test module

REPO = kube.REPO


@pytest.fixture(scope="session")
def cluster() -> Iterator[kube.Cluster]:
    c = kube.start_or_connect()
    try:
        kube.install_crds(c)
        yield c
        # Last teardown of the session: every namespace fixture and controller is done. Release what
        # is left (isolated namespaces whose own controller stopped) and fail loudly if anything stays.
        kube.drain_namespaces(c, kube.CREATED, grace=0, timeout=180)
        left = kube.present(c, kube.CREATED)
        if left:
            raise AssertionError(
                f"this test session left {len(left)} namespace(s) behind:\n{kube.stuck_report(c, left)}")
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
        # The tests' namespaces are deleted but not awaited; their Releases and CanaryReleases hold this
        # controller's finalizers. Stopping it first would strand them in Terminating: let it finish.
        session = [ns for ns in kube.CREATED if ns.startswith(kube.SESSION_PREFIX)]
        alive = proc.proc is not None and proc.proc.poll() is None
        stripped = kube.drain_namespaces(cluster, session, grace=90 if alive else 0)
        proc.stop()
        if stripped:
            warnings.warn(f"the controller did not finish these deletions within 90 s; their finalizers were "
                          f"dropped: {stripped}; log: {proc.log_path}", stacklevel=1)


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


def pytest_report_header() -> str:
    return f"rudder test namespaces of this session: {kube.SESSION_PREFIX}*, iso-*"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for mark in item.iter_markers("corpus"):
            if not mark.args or mark.args[0] not in CLASSES:
                raise pytest.UsageError(f"{item.nodeid}: corpus class must be one of {CLASSES}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the bad-input corpus by class: how many cases ran and how many held."""
    counts: dict[str, list[int]] = {}
    for outcome in ("passed", "failed", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", "call") != "call" and outcome != "error":
                continue
            cls = getattr(report, "user_properties", None) and dict(report.user_properties).get("corpus")
            if cls:
                counts.setdefault(cls, [0, 0])
                counts[cls][0] += 1
                counts[cls][1] += outcome == "passed"
    if not counts:
        return
    terminalreporter.section("bad-input corpus")
    for cls in sorted(counts):
        ran, held = counts[cls]
        terminalreporter.write_line(f"{cls:10s} {held:4d} held of {ran:4d}")
    total_ran = sum(c[0] for c in counts.values())
    total_held = sum(c[1] for c in counts.values())
    terminalreporter.write_line(f"{'total':10s} {total_held:4d} held of {total_ran:4d}")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    mark = item.get_closest_marker("corpus")
    if mark is not None:
        item.user_properties.append(("corpus", mark.args[0]))
