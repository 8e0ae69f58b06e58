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
API_THROTTLED_SECONDS = Counter(
    "rudder_api_throttled_seconds_total",
    "Seconds requests waited for the client-side rate limiter (--kube-qps/--kube-burst).",
)
API_RETRIES = Counter(
    "rudder_api_retries_total",
    "Requests sent again because the API server asked to slow down (429, or 503 with Retry-After).",
    ["status"],
)
