"""The controller's own Prometheus metrics, served by the controller process."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

API_WRITES = Counter(
    "rudder_api_write_requests_total",
    "Write requests (apply, create, patch, delete) the controller sent to the API server.",
    ["verb", "kind", "namespace"],
)
RECONCILES = Counter(
    "rudder_release_reconciles_total", "Release reconciliations by outcome.", ["outcome"]
)
RECONCILE_ERRORS = Counter(
    "rudder_reconcile_errors_total", "Reconcile attempts that raised, by controller.", ["controller"]
)
RECONCILE_SECONDS = Histogram(
    "rudder_release_reconcile_seconds", "Time spent in one Release reconciliation."
)
RELEASE_REVISION = Gauge(
    "rudder_release_revision", "Current revision of each Release.", ["namespace", "release"]
)
API_READS = Counter(
    "rudder_api_read_requests_total",
    "Read requests the controller sent to the API server: gets and lists its caches did not answer, and the "
    "caches' own lists and watch opens (verb watch).",
    ["verb", "kind"],
)
CACHE_OBJECTS = Gauge("rudder_cache_objects", "Objects held by the watch-fed cache, by kind.", ["kind"])
WATCH_RESTARTS = Counter(
    "rudder_watch_restarts_total", "Watch streams re-opened, by kind and cause (expired, error).", ["kind", "cause"]
)
