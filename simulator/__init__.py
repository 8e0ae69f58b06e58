"""Rudder traffic SIMULATOR: test and demo tooling, never part of the controllers.

Pods on the local control plane (KWOK fake nodes) run no containers, so nothing serves HTTP and
nothing exports application metrics. This package stands in for both the clients and the
instrumented application: it reads the live routing state from the cluster (Service selectors,
replica counts, router weights), simulates a configurable request rate through it, draws each
request's outcome from a per-version profile (error rate, latency distribution), and exports the
per-pod counters and histograms that the `policies/` library queries, labelled with the real pod
names, for a real Prometheus to scrape.

Nothing in `rudder/` or `canary/` may import it. See docs/simulator.md.
"""

from simulator.profiles import Profile, ProfileError, ProfileSet
from simulator.prometheus_config import scrape_config
from simulator.routing import ROUTER_TYPES, RoutingError
from simulator.runner import Simulator

__all__ = [
    "ROUTER_TYPES",
    "Profile",
    "ProfileError",
    "ProfileSet",
    "RoutingError",
    "Simulator",
    "scrape_config",
]
