"""The CanaryRelease controller's own Prometheus metrics (served with the Release controller's)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

PHASE = Gauge(
    "rudder_canary_phase", "1 for the current phase of each CanaryRelease.", ["namespace", "canary", "phase"]
)
WEIGHT = Gauge("rudder_canary_weight", "Canary traffic weight (percent).", ["namespace", "canary"])
STEP = Gauge("rudder_canary_step", "Current step index of each CanaryRelease.", ["namespace", "canary"])
VERDICTS = Counter(
    "rudder_canary_metric_verdicts_total", "Judge verdicts by metric and verdict.", ["metric", "verdict"]
)
ANALYSIS_SECONDS = Histogram("rudder_canary_analysis_seconds", "Time to measure and judge one analysis.")
STEP_SECONDS = Histogram(
    "rudder_canary_step_seconds", "Time spent in a step, observed when the step ends.",
    buckets=(5, 15, 30, 60, 120, 300, 600, 1800, 3600),
)
