"""CanaryRelease scenarios on the real control plane with real Prometheus and the traffic simulator:
a latency regression with an unchanged error rate is rolled back by the latency policy; no traffic is
inconclusive and pauses (never promotes); an unreachable Prometheus gives Error measurements and a
pause (never promotes); manual pause/resume/promote/abort through the annotation, each performed once;
copies that never become Ready are rolled back at progressDeadline; a second CanaryRelease of the same
Release is refused; deleting a CanaryRelease mid-way rolls back through its finalizer."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.profiles import Profile
from tests.support.canary import Bed, canary_bed
from tests.support.cluster import Cluster
from tests.support.controller import ControllerProcess
from tests.support.prometheus import PrometheusFactory
from tests.support.releases import GROUP, VERSION, get_release, histories
from tests.support.wait import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.prometheus]


def spec(bed: Bed, *, steps: list[dict[str, Any]], metrics: list[dict[str, Any]] | None = None,
         on_inconclusive: str = "extend", url: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "release": "web", "values": {"tag": "3.9"}, "steps": steps,
        "analysis": {"interval": "4s", "prometheus": {"url": url or bed.prometheus.url},
                     "metrics": metrics if metrics is not None else [{"policy": "http-error-rate"}],
                     "failureLimit": 0, "onInconclusive": on_inconclusive},
        "progressDeadline": "90s", **extra,
    }


def assert_release_untouched(bed: Bed) -> None:
    rel = get_release(bed.cluster, bed.namespace, "web")
    assert rel["status"]["revision"] == 1
    assert len(histories(bed.cluster, bed.namespace, "web")) == 1


def test_latency_regression_is_rolled_back_by_the_latency_policy(
    cluster: Cluster, namespace: str, controller: ControllerProcess, policies: list[str],
    prometheus_factory: PrometheusFactory,
) -> None:
    slow = {"3.9": Profile(error_rate=0.002, latency_median=0.4, latency_sigma=0.2)}
    with canary_bed(cluster, namespace, prometheus_factory, profiles=slow) as bed:
        bed.canary("slow", spec(bed, steps=[{"weight": 50, "duration": "90s"}], metrics=[
            {"policy": "http-error-rate"},
            {"policy": "http-latency-p99", "args": {"rate_window": "5s"}},
        ]))

        done = bed.wait_phase("slow", "RolledBack", timeout=150)

        assert "http-latency-p99" in done["status"]["message"]
        by_name = {m["name"]: m for m in done["status"]["analysis"][-1]["metrics"]}
        assert by_name["http-latency-p99"]["verdict"] == "Fail"
        assert by_name["http-error-rate"]["verdict"] != "Fail"
        assert by_name["http-latency-p99"]["canary"] > by_name["http-latency-p99"]["baseline"]
        assert_release_untouched(bed)
        assert bed.copies() == []


def test_no_traffic_is_inconclusive_and_pauses_without_promoting(
    cluster: Cluster, namespace: str, controller: ControllerProcess, policies: list[str],
    prometheus_factory: PrometheusFactory,
) -> None:
    with canary_bed(cluster, namespace, prometheus_factory, rps=0) as bed:
        bed.canary("quiet", spec(bed, steps=[{"weight": 50, "duration": "8s"}], on_inconclusive="pause"))

        paused = bed.wait_phase("quiet", "Paused", timeout=90)

        assert paused["status"]["verdict"] in ("NoData", "Inconclusive")
        assert_release_untouched(bed)
        assert bed.copies(), "a paused canary keeps its copies for a human to look at"


def test_unreachable_prometheus_gives_errors_and_never_promotes(
    cluster: Cluster, namespace: str, controller: ControllerProcess, policies: list[str],
    prometheus_factory: PrometheusFactory,
) -> None:
    with canary_bed(cluster, namespace, prometheus_factory) as bed:
        bed.canary("blind", spec(bed, steps=[{"weight": 50, "duration": "6s"}],
                                 url="http://127.0.0.1:9", on_inconclusive="rollback"))

        done = bed.wait("blind", lambda s: s.get("phase") in ("Paused", "RolledBack", "Promoted"),
                        "a final or paused phase", timeout=150)

        assert done["status"]["phase"] != "Promoted"
        errors = [r for r in done["status"]["analysis"] if r["verdict"] == "Error"]
        assert errors, "provider failures are recorded as Error measurements"
        assert all(m["verdict"] == "Error" for r in errors for m in r["metrics"])
        assert_release_untouched(bed)


def test_manual_pause_resume_and_promote(
    cluster: Cluster, namespace: str, controller: ControllerProcess, policies: list[str],
    prometheus_factory: PrometheusFactory,
) -> None:
    with canary_bed(cluster, namespace, prometheus_factory) as bed:
        bed.canary("hand", spec(bed, steps=[{"weight": 50, "duration": "10m"}]))
        bed.wait("hand", lambda s: s.get("phase") == "Progressing" and s.get("weight") == 50, "progressing at 50%")

        bed.annotate("hand", "pause")
        bed.wait_phase("hand", "Paused", timeout=60)
        wait_for(lambda: "rudder.dev/action" not in (bed.get("hand")["metadata"].get("annotations") or {}),
                 timeout=30, what="the pause annotation removed")

        bed.annotate("hand", "resume")
        bed.wait_phase("hand", "Progressing", timeout=60)

        bed.annotate("hand", "promote")
        done = bed.wait_phase("hand", "Promoted", timeout=120)
        assert done["status"]["promotedRevision"] == 2
        assert "rudder.dev/action" not in (done["metadata"].get("annotations") or {})
        assert bed.copies() == []


def test_manual_abort_rolls_back(
    cluster: Cluster, namespace: str, controller: ControllerProcess, policies: list[str],
    prometheus_factory: PrometheusFactory,
) -> None:
    with canary_bed(cluster, namespace, prometheus_factory) as bed:
        bed.canary("nope", spec(bed, steps=[{"weight": 50, "duration": "10m"}]))
        bed.wait("nope", lambda s: s.get("weight") == 50, "traffic shifted")

        bed.annotate("nope", "abort")

        done = bed.wait_phase("nope", "RolledBack", timeout=90)
        assert "abort" in done["status"]["message"].lower()
        assert_release_untouched(bed)
        assert bed.copies() == []


def test_copies_never_ready_roll_back_at_progress_deadline(
    cluster: Cluster, namespace: str, controller: ControllerProcess, policies: list[str],
    prometheus_factory: PrometheusFactory,
) -> None:
    with canary_bed(cluster, namespace, prometheus_factory) as bed:
        body = spec(bed, steps=[{"weight": 50, "duration": "30s"}], progressDeadline="10s")
        body["values"] = {"tag": "3.9", "nodeSelector": {"nowhere": "true"}}
        bed.canary("stuck", body)

        done = bed.wait_phase("stuck", "RolledBack", timeout=90)

        assert "progressDeadline" in done["status"]["message"]
        assert_release_untouched(bed)
        wait_for(lambda: bed.copies() == [], timeout=30, what="copies removed")


def test_second_canary_is_refused_and_deletion_rolls_back(
    cluster: Cluster, namespace: str, controller: ControllerProcess, policies: list[str],
    prometheus_factory: PrometheusFactory,
) -> None:
    with canary_bed(cluster, namespace, prometheus_factory) as bed:
        bed.canary("first", spec(bed, steps=[{"weight": 50, "duration": "10m"}]))
        bed.wait("first", lambda s: s.get("weight") == 50, "first canary running")

        bed.canary("second", spec(bed, steps=[{"weight": 50, "duration": "10m"}]))
        refused = bed.wait("second", lambda s: s.get("phase") == "Failed", "second refused", timeout=60)
        assert "first" in refused["status"]["message"]
        assert bed.get("first")["status"]["phase"] == "Progressing"

        cluster.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "canaryreleases", "first")
        wait_for(lambda: not [c for c in cluster.custom.list_namespaced_custom_object(
            GROUP, VERSION, namespace, "canaryreleases")["items"] if c["metadata"]["name"] == "first"],
            timeout=90, what="first CanaryRelease gone after its finalizer")
        assert bed.copies() == []
        assert_release_untouched(bed)
