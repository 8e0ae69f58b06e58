"""Verdicts from evidence: the judge's semantics and its explanations.

Pins down: a significant increase beyond allowedIncrease fails, one whose bound
stays within it passes, no evidence either way is Inconclusive; direction decides
which change is bad; NoData and Error are their own verdicts, never failures; too
few samples is Inconclusive with the samples needed;
Holm's correction across metrics can stop a lone significant result failing;
a later look of a sequential plan tests at a smaller alpha; a critical metric's
failure is flagged; thresholds fail in any direction; status entries carry only
the CRD's fields and finite numbers.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from canary.analysis import (
    Look,
    Measurement,
    MetricPolicy,
    Observation,
    Verdict,
    evaluate_metric,
    evaluate_metrics,
    judge_analysis,
    judge_metric,
    parse_policy,
)
from canary.analysis.verdicts import Classification

RNG = np.random.default_rng(9)
STATUS_KEYS = {
    "name",
    "verdict",
    "canary",
    "baseline",
    "pValue",
    "ciLow",
    "ciHigh",
    "effect",
    "samples",
    "query",
    "message",
}


def _policy(kind: str = "distribution", **spec: Any) -> MetricPolicy:
    base: dict[str, Any] = {
        "distribution": {"type": "distribution", "test": "mann-whitney", "queries": {"samples": "s"}},
        "ratio": {"type": "ratio", "test": "proportion", "queries": {"errors": "e", "total": "t"}},
        "threshold": {
            "type": "threshold",
            "test": "threshold",
            "queries": {"value": "v"},
            "threshold": {"max": 1},
        },
    }[kind]
    name = spec.pop("name", kind)
    return parse_policy(
        {"apiVersion": "rudder.dev/v1alpha1", "kind": "ClusterMetricPolicy", "metadata": {"name": name},
         "spec": {**base, **spec}}
    )  # fmt: skip


def _samples(values: np.ndarray, query: str = "q") -> Observation:
    return Observation.of(samples=Measurement.of(values, query))


def _ratio(errors: float, total: float) -> Observation:
    return Observation.of(errors=Measurement.of([errors], "errors-q"), total=Measurement.of([total], "total-q"))


BASE = RNG.lognormal(0, 0.3, 400)
SLOWER = RNG.lognormal(0.3, 0.3, 400)  # about 1.35x


def test_significant_increase_beyond_tolerance_fails_with_an_explanation() -> None:
    result = judge_metric(evaluate_metric(_policy(allowedIncrease=1.2), _samples(SLOWER, "canary-q"), _samples(BASE)))
    assert result.verdict is Verdict.FAIL
    assert result.classification is Classification.HIGH
    status = result.to_status()
    assert set(status) == STATUS_KEYS
    assert status["samples"] == {"canary": 400, "baseline": 400}
    assert status["query"] == "canary-q"
    assert status["pValue"] < 1e-10
    assert status["ciLow"] > 0
    assert status["effect"] == pytest.approx(np.mean(SLOWER) / np.mean(BASE))
    assert "significant increase" in status["message"]


def test_increase_within_tolerance_passes() -> None:
    result = judge_metric(evaluate_metric(_policy(allowedIncrease=1.6), _samples(SLOWER), _samples(BASE)))
    assert result.verdict is Verdict.PASS
    assert "Pass: the one-sided 98% bound excludes the tolerated regression" in result.reason


@pytest.mark.parametrize(
    ("direction", "canary", "verdict"),
    [
        ("increase", BASE / 1.4, Verdict.PASS),
        ("decrease", BASE / 1.4, Verdict.FAIL),
        ("either", BASE / 1.4, Verdict.FAIL),
     ("decrease", SLOWER, Verdict.PASS)],
)  # fmt: skip
def test_direction_decides_which_change_is_bad(direction: str, canary: np.ndarray, verdict: Verdict) -> None:
    policy = _policy(direction=direction, allowedIncrease=1.2)
    assert judge_metric(evaluate_metric(policy, _samples(canary), _samples(BASE))).verdict is verdict


def test_no_data_and_errors_are_verdicts_of_their_own() -> None:
    policy = _policy()
    empty = judge_metric(evaluate_metric(policy, _samples(np.array([])), _samples(BASE)))
    assert (empty.verdict, empty.classification) == (Verdict.NO_DATA, Classification.NO_DATA)
    failed = Observation.of(samples=Measurement.error("prometheus: timeout", "q", attempts=3))
    error = judge_metric(evaluate_metric(policy, failed, _samples(BASE)))
    assert (error.verdict, error.classification) == (Verdict.ERROR, Classification.ERROR)
    assert "timeout" in error.reason
    all_nan = judge_metric(evaluate_metric(policy, _samples(np.full(30, np.nan)), _samples(BASE)))
    assert all_nan.verdict is Verdict.NO_DATA


def test_too_few_samples_is_inconclusive_and_says_how_many_are_needed() -> None:
    policy = _policy(minSamples=50, allowedIncrease=1.1)
    result = judge_metric(evaluate_metric(policy, _samples(BASE[:20] * 1.05), _samples(BASE[:30])))
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.samples_needed is not None
    assert result.samples_needed > 50
    assert f"{result.samples_needed} needed" in result.reason


def test_ratio_policies_use_the_proportion_test() -> None:
    policy = _policy("ratio", allowedIncrease=1.5, minSamples=100)
    failing = judge_metric(evaluate_metric(policy, _ratio(50, 2000), _ratio(10, 2000)))
    assert failing.verdict is Verdict.FAIL
    assert failing.evidence.effect == pytest.approx(5.0)
    # No errors on either side is no evidence yet (issue 10, defect 6): the bound does not exclude
    # the tolerated rise, so the verdict waits for more traffic and says how much.
    clean = judge_metric(evaluate_metric(policy, _ratio(0, 2000), _ratio(0, 2000)))
    assert clean.verdict is Verdict.INCONCLUSIVE
    assert clean.samples_needed is not None and clean.samples_needed > 2000
    enough = judge_metric(evaluate_metric(policy, _ratio(0, 20_000), _ratio(0, 20_000)))
    assert enough.verdict is Verdict.PASS
    no_traffic = judge_metric(evaluate_metric(policy, _ratio(0, 0), _ratio(3, 2000)))
    assert no_traffic.verdict is Verdict.NO_DATA
    bogus = judge_metric(evaluate_metric(policy, _ratio(30, 20), _ratio(3, 2000)))
    assert bogus.verdict is Verdict.ERROR


def test_ratio_threshold_max_is_an_absolute_guard() -> None:
    policy = _policy("ratio", allowedIncrease=10.0, threshold={"max": 0.01})
    result = judge_metric(evaluate_metric(policy, _ratio(30, 2000), _ratio(20, 2000)))
    assert result.verdict is Verdict.FAIL
    assert "above the maximum" in result.reason


def test_holm_correction_across_metrics() -> None:
    # Significant alone (Fisher's one-sided p = 0.028 < 0.05), not once four more metrics share the error.
    canary, baseline = _ratio(35, 2000), _ratio(20, 2000)
    policy = _policy("ratio", allowedIncrease=1.2, confidence=0.95)
    alone = judge_metric(evaluate_metric(policy, canary, baseline))
    assert alone.verdict is Verdict.FAIL
    assert alone.adjusted_p_value == pytest.approx(alone.evidence.p_greater)
    others = [evaluate_metric(_policy(name=f"m{i}"), _samples(BASE), _samples(BASE[::-1] + 1e-9)) for i in range(4)]
    together = judge_analysis([evaluate_metric(policy, canary, baseline), *others])
    assert together.metrics[0].verdict is not Verdict.FAIL
    assert together.metrics[0].adjusted_p_value == pytest.approx(5 * alone.evidence.p_greater)


def test_directional_policies_decide_one_sided() -> None:
    canary, baseline = _ratio(35, 2000), _ratio(20, 2000)  # Fisher's one-sided p = 0.028
    either = _policy("ratio", allowedIncrease=1.2, confidence=0.96, direction="either")
    # Two one-sided tests at alpha / 2 = 0.02: no Fail (and no evidence for a Pass either).
    assert judge_metric(evaluate_metric(either, canary, baseline)).verdict is Verdict.INCONCLUSIVE
    increase = _policy("ratio", allowedIncrease=1.2, confidence=0.96, direction="increase")
    assert judge_metric(evaluate_metric(increase, canary, baseline)).verdict is Verdict.FAIL
    decrease = _policy("ratio", allowedIncrease=1.2, confidence=0.96, direction="decrease")
    result = judge_metric(evaluate_metric(decrease, canary, baseline))
    assert result.verdict is Verdict.PASS
    assert result.adjusted_p_value == pytest.approx(result.evidence.p_less)
    assert result.adjusted_p_value > 0.9


def test_sequential_looks_test_at_their_share_of_alpha() -> None:
    evidence = evaluate_metric(
        _policy("ratio", allowedIncrease=1.2, confidence=0.95), _ratio(38, 2000), _ratio(20, 2000)
    )
    assert judge_analysis([evidence], Look(number=1, planned=1)).verdict is Verdict.FAIL
    early = judge_analysis([evidence], Look(number=2, planned=10))
    assert early.verdict is Verdict.INCONCLUSIVE  # not significant at the smaller alpha; no evidence of none
    assert early.metrics[0].alpha is not None
    assert early.metrics[0].alpha < 0.05 / 5


def test_critical_failures_are_flagged_and_analysis_verdicts_aggregate() -> None:
    bad = evaluate_metric(_policy(allowedIncrease=1.1), _samples(SLOWER), _samples(BASE))
    fine = evaluate_metric(_policy(name="fine"), _samples(BASE), _samples(BASE * 1.0001))
    missing = evaluate_metric(_policy(name="missing"), _samples(np.array([])), _samples(BASE))
    result = judge_analysis([bad, fine, missing], critical=[True, False, False])
    assert result.verdict is Verdict.FAIL
    assert result.critical_failure
    assert result.score == 0.0
    assert judge_analysis([fine, missing]).verdict is Verdict.NO_DATA
    assert judge_analysis([fine]).verdict is Verdict.PASS
    assert not judge_analysis([bad, fine]).critical_failure


def test_thresholds_fail_in_any_direction() -> None:
    policy = _policy("threshold", threshold={"min": 1, "max": 5})
    for value, verdict in (
        (0.5, Verdict.FAIL),
        (3.0, Verdict.PASS),
        (5.0, Verdict.PASS),
        (7.0, Verdict.FAIL),
    ):
        observation = Observation.of(value=Measurement.of([value], "v"))
        result = judge_metric(evaluate_metric(policy, observation, Observation.of()))
        assert result.verdict is verdict
        assert result.to_status()["samples"] == {"canary": 1}


def test_status_numbers_are_finite_and_json_serialisable() -> None:
    policy = _policy("ratio", allowedIncrease=1.5)
    result = judge_analysis([evaluate_metric(policy, _ratio(40, 2000), _ratio(0, 2000))])
    status = result.to_status()
    assert status["metrics"][0]["effect"] is None  # infinite ratio against a clean baseline
    json.dumps(status, allow_nan=False)
    json.dumps(result.metrics[0].to_dict(), allow_nan=False)
    assert result.metrics[0].to_dict()["effectInfinite"]


def test_batch_evaluation_equals_one_by_one() -> None:
    items = [
        (_policy(name=f"m{i}"), _samples(RNG.normal(i, 1, 300)), _samples(RNG.normal(0, 1, 300))) for i in range(3)
    ]
    items.append((_policy("ratio"), _ratio(5, 1000), _ratio(4, 1000)))
    batch = evaluate_metrics(items)
    single = [evaluate_metric(*item) for item in items]
    for a, b in zip(batch, single, strict=True):
        assert (a.p_value, a.ci_low, a.ci_high, a.estimate) == (b.p_value, b.ci_low, b.ci_high, b.estimate)
