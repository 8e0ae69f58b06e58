"""End to end against the real control plane, the traffic simulator and a real Prometheus: a good
version walks its steps and is promoted through the Release (revision N+1, history says promoted
from this CanaryRelease, copies gone); a version with a higher error rate is rolled back within the
first analysed step and the Release stays at its stable revision."""

from __future__ import annotations

import pytest

from simulator.profiles import Profile
from tests.support.canary import canary_bed
from tests.support.cluster import Cluster
from tests.support.controller import ControllerProcess
from tests.support.prometheus import PrometheusFactory
from tests.support.releases import get_release, histories, wait_release

pytestmark = [pytest.mark.integration, pytest.mark.prometheus]


def analysis(prometheus_url: str, *metrics: dict[str, object], interval: str = "4s") -> dict[str, object]:
    return {"interval": interval, "prometheus": {"url": prometheus_url}, "metrics": list(metrics),
            "failureLimit": 0, "onInconclusive": "extend"}


def test_good_version_is_promoted_through_the_release(
    cluster: Cluster, namespace: str, controller: ControllerProcess, policies: list[str],
    prometheus_factory: PrometheusFactory,
) -> None:
    with canary_bed(cluster, namespace, prometheus_factory) as bed:
        bed.canary("web-good", {
            "release": "web", "values": {"tag": "3.9"},
            "steps": [{"weight": 50, "duration": "12s"}],
            "analysis": analysis(bed.prometheus.url, {"policy": "http-error-rate"}),
            "progressDeadline": "2m",
        })

        done = bed.wait_phase("web-good", "Promoted")

        status = done["status"]
        assert status["stableRevision"] == 1
        assert status["promotedRevision"] == 2
        assert status["analysis"], "the analyses that led to promotion are recorded"
        last = status["analysis"][-1]
        assert last["verdict"] == "Pass"
        (metric,) = last["metrics"]
        assert metric["name"] == "http-error-rate"
        assert metric["samples"]["canary"] > 0
        assert 'pod=~"' in metric["query"]
        rel = wait_release(cluster, namespace, "web", phase="Ready", revision=2)
        assert rel["spec"]["values"]["tag"] == "3.9"
        v2 = histories(cluster, namespace, "web")[-1]
        assert v2["spec"]["source"] == {"kind": "Promotion", "canaryRelease": "web-good"}
        assert "Promoted from CanaryRelease web-good" in v2["spec"]["description"]
        assert bed.copies() == []
        image = cluster.apps.read_namespaced_deployment("web", namespace).spec.template.spec.containers[0].image
        assert image.endswith(":3.9")

        # The controller's own metrics follow the canary.
        metrics = controller.metrics()
        assert metrics[f'rudder_canary_phase{{canary="web-good",namespace="{namespace}",phase="Promoted"}}'] == 1
        assert metrics['rudder_canary_metric_verdicts_total{metric="http-error-rate",verdict="Pass"}'] >= 1
        assert metrics["rudder_canary_analysis_seconds_count"] >= 1
        assert metrics["rudder_canary_step_seconds_count"] >= 1


def test_error_rate_regression_is_rolled_back_in_the_first_analysed_step(
    cluster: Cluster, namespace: str, controller: ControllerProcess, policies: list[str],
    prometheus_factory: PrometheusFactory,
) -> None:
    bad = {"3.9": Profile(error_rate=0.3, latency_median=0.05, latency_sigma=0.2)}
    with canary_bed(cluster, namespace, prometheus_factory, profiles=bad) as bed:
        bed.canary("web-bad", {
            "release": "web", "values": {"tag": "3.9"},
            "steps": [{"weight": 50, "duration": "60s"}, {"weight": 100, "duration": "60s"}],
            "analysis": analysis(bed.prometheus.url, {"policy": "http-error-rate"}),
            "progressDeadline": "2m",
        })

        done = bed.wait_phase("web-bad", "RolledBack", timeout=120)

        status = done["status"]
        assert status["step"] == 0, "rolled back within the first analysed step"
        assert status["verdict"] == "Fail"
        assert "http-error-rate" in status["message"]
        failing = status["analysis"][-1]["metrics"][0]
        assert failing["verdict"] == "Fail"
        assert failing["canary"] > failing["baseline"]
        rel = get_release(cluster, namespace, "web")
        assert rel["status"]["revision"] == 1
        assert rel["spec"].get("values", {}).get("tag") != "3.9"
        assert len(histories(cluster, namespace, "web")) == 1
        assert bed.copies() == []
