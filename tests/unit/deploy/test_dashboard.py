"""deploy/grafana/rudder.json is a well-formed Grafana dashboard whose every query names metrics the
controllers really export (rudder/kube/metrics.py, canary/kube/metrics.py, and prometheus_client's
process collector), with the canary panels present, so a renamed metric cannot leave a panel empty."""

from __future__ import annotations

import json
import re
from typing import Any

from prometheus_client import REGISTRY

import canary.kube.metrics
import rudder.kube.metrics
from tests.unit.deploy.manifests import DEPLOY

DASHBOARD = DEPLOY / "grafana" / "rudder.json"
METRIC = re.compile(r"\b((?:rudder|process)_[a-z_]+)\b")
SUFFIXES = ("_bucket", "_sum", "_count", "_total", "_created")


def exported() -> set[str]:
    """Sample names of every registered collector (counters carry _total, histograms _bucket...)."""
    assert rudder.kube.metrics.RECONCILES and canary.kube.metrics.WEIGHT  # registered on import
    names = set()
    for metric in REGISTRY.collect():
        names.add(metric.name)
        names.update(sample.name for sample in metric.samples)
        names.update(metric.name + suffix for suffix in SUFFIXES)
    return names


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def test_dashboard_is_well_formed() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "namespace"} <= variables
    for panel in panels(dashboard):
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"] and all(t["expr"] for t in panel["targets"]), panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]


def test_every_queried_metric_is_exported() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    known = exported()
    queried = {m for p in panels(dashboard) for t in p["targets"] for m in METRIC.findall(t["expr"])}
    assert queried, "the dashboard queries metrics"
    assert queried <= known, f"not exported by the controllers: {sorted(queried - known)}"


def test_controller_and_canary_progress_are_both_shown() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = " ".join(t["expr"] for p in panels(dashboard) for t in p["targets"])
    for metric in ("rudder_release_reconciles_total", "rudder_api_write_requests_total", "rudder_release_revision",
                   "rudder_reconcile_errors_total", "rudder_canary_weight", "rudder_canary_step",
                   "rudder_canary_phase", "rudder_canary_metric_verdicts_total"):
        assert metric in exprs, metric
