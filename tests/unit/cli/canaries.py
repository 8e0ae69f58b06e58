"""CanaryRelease bodies for the CLI tests: what the controller would have written at various points."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def stamp(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


SPEC: dict[str, Any] = {
    "release": "shop",
    "values": {"image": {"tag": "2.0"}},
    "router": {"type": "replicas"},
    "steps": [{"weight": 10, "duration": "1m"}, {"weight": 50, "duration": "2m"}, {"pause": {}}],
    "analysis": {
        "interval": "30s",
        "metrics": [{"policy": "http-error-rate"}, {"policy": "http-latency-p99"}],
        "failureLimit": 0,
    },
}


def metric(name: str, verdict: str, canary: float, baseline: float, *, p: float, low: float, high: float,
           message: str = "") -> dict[str, Any]:
    return {
        "name": name, "verdict": verdict, "canary": canary, "baseline": baseline, "pValue": p,
        "ciLow": low, "ciHigh": high, "effect": canary / baseline if baseline else None,
        "samples": {"canary": 1200, "baseline": 1180},
        "query": f'sum(rate(http_requests_total{{track="canary",metric="{name}"}}[30s]))', "message": message,
    }


def analysis(seconds: float, step: int, weight: int, verdict: str, *, errors: tuple[float, float, str],
             latency: tuple[float, float, str]) -> dict[str, Any]:
    err_c, err_b, err_v = errors
    lat_c, lat_b, lat_v = latency
    err_p = 1.2e-6 if err_v == "High" else 0.41
    return {
        "time": stamp(seconds), "step": step, "weight": weight, "verdict": verdict,
        "metrics": [
            metric("http-error-rate", err_v, err_c, err_b, p=err_p, low=err_c - err_b - 0.002,
                   high=err_c - err_b + 0.002,
                   message="error ratio rose beyond the allowed increase" if err_v == "High" else ""),
            metric("http-latency-p99", lat_v, lat_c, lat_b, p=0.33, low=-0.01, high=0.012),
        ],
    }


def condition(type_: str, status: str, reason: str, seconds: float, message: str = "") -> dict[str, Any]:
    return {"type": type_, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": stamp(seconds)}


def body(status: dict[str, Any], *, name: str = "shop-v2", generation: int = 1, spec: dict[str, Any] | None = None,
         action: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "prod", "uid": "uid-1", "generation": generation,
                            "creationTimestamp": stamp(-10)}
    if action is not None:
        meta["annotations"] = {"rudder.dev/action": action}
    return {"apiVersion": "rudder.dev/v1alpha1", "kind": "CanaryRelease", "metadata": meta,
            "spec": copy.deepcopy(spec or SPEC), "status": copy.deepcopy(status)}


ANALYSES = [
    analysis(30, 0, 10, "Pass", errors=(0.002, 0.0021, "Pass"), latency=(0.21, 0.2, "Pass")),
    analysis(60, 0, 10, "Pass", errors=(0.0019, 0.002, "Pass"), latency=(0.2, 0.21, "Pass")),
    analysis(90, 1, 50, "Pass", errors=(0.0022, 0.002, "Pass"), latency=(0.22, 0.21, "Pass")),
    analysis(120, 1, 50, "Fail", errors=(0.052, 0.0021, "High"), latency=(0.23, 0.21, "Pass")),
]

ROLLED_BACK: dict[str, Any] = {
    "phase": "RolledBack", "observedGeneration": 1, "stableRevision": 4, "step": 1, "weight": 0,
    "verdict": "Fail", "failures": 1,
    "message": "analysis failed at step 2/3 at 50% on metric http-error-rate: http-error-rate: High",
    "stepStartedAt": stamp(125), "lastAnalysisAt": stamp(120), "copiesCreatedAt": stamp(0),
    "conditions": [
        condition("Progressing", "False", "RolledBack", 130),
        condition("Paused", "False", "", 0),
        condition("Promoted", "False", "AnalysisFailed", 125, "analysis failed at step 2/3 on http-error-rate"),
        condition("CopiesReady", "True", "Ready", 20),
    ],
    "analysis": ANALYSES,
}

PROGRESSING: dict[str, Any] = {
    "phase": "Progressing", "observedGeneration": 1, "stableRevision": 4, "step": 1, "weight": 50,
    "verdict": "Pass", "message": "analysis passed at step 2/3 at 50%", "stepStartedAt": stamp(75),
    "lastAnalysisAt": stamp(90), "copiesCreatedAt": stamp(0),
    "conditions": [condition("Promoted", "Unknown", "Progressing", 0), condition("CopiesReady", "True", "Ready", 20)],
    "analysis": ANALYSES[:3],
}


def with_status(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(base)
    out.update(changes)
    return out
