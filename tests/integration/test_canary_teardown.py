"""A CanaryRelease that goes together with its Release lets go promptly, on the real control plane.

Deleting the Release and the CanaryRelease at once mid-step or mid-promotion (the Release held in deletion
by an object slow to go), or deleting their namespace, removes the CanaryRelease well within its progress
deadline: there is no Release left to restore or roll traffic back into, so nothing waits for it, no
`rollbackTo` is written into the going Release, and no copy or router object labelled for the canary stays."""

from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException

from tests.support.canary import Bed, canary_bed
from tests.support.cluster import Cluster
from tests.support.controller import ControllerProcess
from tests.support.prometheus import PrometheusFactory
from tests.support.releases import GROUP, VERSION
from tests.support.wait import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.prometheus]

PROGRESS_DEADLINE = 300  # seconds, in the spec; every wait below is well under it
# The canary lets go in its first reconcile, but kopf may remove the finalizer only at its next watch event for
# the object (seen up to its 60 s watch timeout later, under load), so the waits allow 120 s: still well short
# of the progress deadline the old behaviour waited out.
GONE_WITHIN = 120


def _mid_canary(bed: Bed, name: str) -> None:
    """A canary holding 50% of the traffic on its copies, with its router's track Services in place."""
    bed.canary(name, {
        "release": "web", "values": {"tag": "3.9"}, "router": {"type": "service", "service": "web"},
        "steps": [{"weight": 50, "duration": "10m"}],
        "analysis": {"interval": "4s", "prometheus": {"url": bed.prometheus.url},
                     "metrics": [{"policy": "http-error-rate"}], "onInconclusive": "extend"},
        "progressDeadline": f"{PROGRESS_DEADLINE}s",
    })
    bed.wait(name, lambda s: s.get("phase") == "Progressing" and s.get("weight") == 50, "at 50%", timeout=120)
    assert bed.copies(), "the copies exist before the deletion"
    assert _labelled(bed.cluster, bed.namespace, name), "the router's track Services exist before the deletion"


def _labelled(cluster: Cluster, namespace: str, canary: str) -> list[str]:
    """Every workload and Service labelled for the canary (its copies and the router's objects)."""
    selector = f"rudder.dev/canary-release={canary}"
    listed = {
        "Deployment": cluster.apps.list_namespaced_deployment(namespace, label_selector=selector).items,
        "StatefulSet": cluster.apps.list_namespaced_stateful_set(namespace, label_selector=selector).items,
        "Service": cluster.core.list_namespaced_service(namespace, label_selector=selector).items,
    }
    return sorted(f"{kind}/{o.metadata.name}" for kind, items in listed.items() for o in items)


def _exists(cluster: Cluster, namespace: str, plural: str, name: str) -> bool:
    try:
        cluster.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


def test_deleted_together_with_its_release_both_go_promptly(
    cluster: Cluster, namespace: str, controller: ControllerProcess, policies: list[str],
    prometheus_factory: PrometheusFactory,
) -> None:
    with canary_bed(cluster, namespace, prometheus_factory) as bed:
        _mid_canary(bed, "mid")

        cluster.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "releases", "web")
        cluster.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "canaryreleases", "mid")

        wait_for(lambda: not _exists(cluster, namespace, "canaryreleases", "mid")
                 and not _exists(cluster, namespace, "releases", "web"),
                 timeout=GONE_WITHIN, what=f"Release and CanaryRelease gone (log: {controller.log_path})")
        wait_for(lambda: _labelled(cluster, namespace, "mid") == [], timeout=GONE_WITHIN,
                 what="nothing labelled for the canary left")


HOLD = "example.com/hold"  # another controller's finalizer: an object of the Release that is slow to go


def test_deleted_together_mid_promotion_it_goes_without_waiting_for_the_release(
    cluster: Cluster, namespace: str, controller: ControllerProcess, policies: list[str],
    prometheus_factory: PrometheusFactory,
) -> None:
    with canary_bed(cluster, namespace, prometheus_factory) as bed:
        # Promoted by hand into revision 2, whose pods are never scheduled: the canary waits for it in Promoting.
        bed.canary("mid", {
            "release": "web", "values": {"tag": "3.9", "nodeSelector": {"nowhere": "true"}},
            "router": {"type": "service", "service": "web"}, "steps": [{"weight": 50, "duration": "10m"}],
            "analysis": {"interval": "4s", "prometheus": {"url": bed.prometheus.url},
                         "metrics": [{"policy": "http-error-rate"}]},
            "progressDeadline": f"{PROGRESS_DEADLINE}s",
        })
        bed.wait_phase("mid", "Initializing", timeout=60)
        bed.annotate("mid", "promote")
        bed.wait("mid", lambda s: s.get("phase") == "Promoting"
                 and "to be Ready at revision 2" in (s.get("message") or ""), "waiting for revision 2", timeout=60)
        # The Release's Service carries another controller's finalizer: the Release stays in deletion a while.
        cluster.core.patch_namespaced_service("web", namespace, {"metadata": {"finalizers": [HOLD]}})
        try:
            cluster.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "releases", "web")
            cluster.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "canaryreleases", "mid")

            # Nothing to restore into a Release that is going: the canary goes at once, not at its deadline.
            wait_for(lambda: not _exists(cluster, namespace, "canaryreleases", "mid"), timeout=GONE_WITHIN,
                     what=f"CanaryRelease gone (log: {controller.log_path})")
            assert _labelled(cluster, namespace, "mid") == []
            assert "rollbackTo" not in cluster.custom.get_namespaced_custom_object(
                GROUP, VERSION, namespace, "releases", "web")["spec"]
        finally:
            cluster.core.patch_namespaced_service("web", namespace, {"metadata": {"finalizers": None}})
        wait_for(lambda: not _exists(cluster, namespace, "releases", "web"), timeout=GONE_WITHIN,
                 what="Release gone once its Service is")


def test_their_namespace_deleted_mid_canary_goes_promptly(
    cluster: Cluster, namespace: str, controller: ControllerProcess, policies: list[str],
    prometheus_factory: PrometheusFactory,
) -> None:
    with canary_bed(cluster, namespace, prometheus_factory) as bed:
        _mid_canary(bed, "mid")

        cluster.core.delete_namespace(namespace)

        def gone() -> bool:
            try:
                cluster.core.read_namespace(namespace)
            except ApiException as exc:
                if exc.status == 404:
                    return True
                raise
            return False

        wait_for(gone, timeout=GONE_WITHIN, what=f"namespace {namespace} gone (log: {controller.log_path})")
