"""Issue 10, defects 2, 4, 5, 6 and 7: the judge's per-look decision holds what it promises.

Pins down, each on data where the judge before the fix (commit f29c43c) was wrong:

* (2) a regression of tied or discrete data (counts, integer milliseconds, Kayenta's
  zero-heavy "High Metric (Large Input)") fails: the one-sided rank test decides, and
  relevance is the ratio of means, not the sign of a Hodges-Lehmann estimate of 0;
* (4) a look on small error counts keeps its size (exact, Fisher) and a Fail needs
  ``minSamples`` as much as a Pass does (``kubectl canary judge`` included);
* (5) ``samplesNeeded`` delivers its stated 80% power under the judge's own rules;
* (6) Pass needs evidence: no errors in 200 requests, or a noisy tie, is Inconclusive;
* (7) the default tolerance does not fail a 1% slowdown, and the reported interval is
  at the level of the decision (a Fail's interval excludes 0);
* ``kubectl canary judge`` and the controller's judge decide and explain identically.

Simulations are small and seeded, with bounds well inside what the full bench
(``python -m bench.analysis.judge_checks``) measures.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from bench.analysis.judge_checks import policy as _policy
from bench.analysis.judge_checks import ratio as _ratio
from bench.analysis.judge_checks import samples as _samples
from canary.analysis import (
    Look,
    MetricPolicy,
    PolicyError,
    Verdict,
    evaluate_metric,
    judge_analysis,
    judge_metric,
)
from canary.analysis.policy import DEFAULT_ALLOWED_INCREASE
from canary.analysis.verdicts import Classification
from canary.cli.judge import EXIT_NO_VERDICT, JudgeArgs, judge

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[3]


def _verdict(policy: MetricPolicy, canary: np.ndarray, baseline: np.ndarray) -> Verdict:
    return judge_metric(evaluate_metric(policy, _samples(canary), _samples(baseline))).verdict


# --- (2) directional decisions from the rank statistic itself ---


def test_doubled_poisson_counts_are_detected() -> None:
    rng = np.random.default_rng(21)
    policy = _policy()
    fails = sum(
        _verdict(policy, rng.poisson(0.4, 300).astype(float), rng.poisson(0.2, 300).astype(float)) is Verdict.FAIL
        for _ in range(60)
    )
    assert fails >= 54  # simulated 98% (bench: >= 95%); the old judge: 0 of 60


def test_integer_millisecond_slowdown_is_detected() -> None:
    rng = np.random.default_rng(22)
    policy = _policy()
    fails = 0
    for _ in range(20):
        baseline = np.round(rng.lognormal(math.log(3.0), 0.2, 2000))
        canary = np.round(rng.lognormal(math.log(3.0), 0.2, 2000) * 1.15)
        fails += _verdict(policy, canary, baseline) is Verdict.FAIL
    assert fails >= 19  # the Hodges-Lehmann estimate is 0 here; the old judge failed none


def test_kayenta_high_metric_large_input_is_high() -> None:
    case = json.loads((DATA / "kayenta_high_metric_large_input.json").read_text())
    policy = _policy(direction="either", confidence=0.95)
    result = judge_metric(
        evaluate_metric(policy, _samples(np.array(case["canary"])), _samples(np.array(case["baseline"])))
    )
    assert (result.classification, result.verdict) == (Classification.HIGH, Verdict.FAIL)
    assert result.interval is not None and result.interval.estimate == 0.0  # more than half the pairs tie
    assert result.evidence.effect == pytest.approx(4.447, abs=1e-3)
    # The explanation says what was decided and by which test.
    assert result.reason.startswith("Fail: significant increase")
    assert "Mann-Whitney" in result.reason and "harmless" not in result.reason


def test_one_sided_p_values_are_the_decision_p_values() -> None:
    rng = np.random.default_rng(23)
    canary, baseline = rng.poisson(0.3, 200).astype(float), rng.poisson(0.2, 200).astype(float)
    increase = judge_metric(evaluate_metric(_policy(), _samples(canary), _samples(baseline)))
    assert increase.decision_p_value == increase.evidence.p_greater
    decrease = judge_metric(evaluate_metric(_policy(direction="decrease"), _samples(canary), _samples(baseline)))
    assert decrease.decision_p_value == decrease.evidence.p_less
    assert increase.evidence.p_greater is not None and decrease.evidence.p_less is not None
    assert increase.evidence.p_greater + decrease.evidence.p_less > 1.0  # the two tails overlap at U


# --- (4) small counts: exact size, and minSamples before a Fail ---


def _binomial(n: int, p: float) -> np.ndarray:
    k = np.arange(n + 1)
    log = np.array([math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) for i in k])
    return np.exp(log + k * math.log(p) + (n - k) * math.log1p(-p))


def exact_size(canary_total: int, baseline_total: int, rate: float, policy: MetricPolicy) -> float:
    """P(Fail) of one look for canary == baseline, summed over every outcome with P > 1e-12."""
    pc, pb = _binomial(canary_total, rate), _binomial(baseline_total, rate)
    size = 0.0
    for ec in np.flatnonzero(pc > 1e-12):
        for eb in np.flatnonzero(pb > 1e-12):
            evidence = evaluate_metric(policy, _ratio(ec, canary_total), _ratio(eb, baseline_total))
            if judge_metric(evidence).verdict is Verdict.FAIL:
                size += pc[ec] * pb[eb]
    return size


@pytest.mark.parametrize(("canary", "baseline", "rate"), [(100, 900, 0.01), (50, 950, 0.005)])
def test_one_look_on_small_counts_keeps_its_size(canary: int, baseline: int, rate: float) -> None:
    policy = _policy("ratio", confidence=0.98, minSamples=50)
    assert exact_size(canary, baseline, rate, policy) <= 0.02  # the z-test's: 0.039 and 0.054


def test_too_few_samples_never_fail() -> None:
    policy = _policy("ratio", minSamples=50)
    result = judge_metric(evaluate_metric(policy, _ratio(5, 40), _ratio(0, 960)))
    assert (result.verdict, result.classification) == (Verdict.INCONCLUSIVE, Classification.PASS)
    assert result.evidence.p_greater is not None and result.evidence.p_greater < 1e-6  # though significant
    assert "would fail, but 40 samples on the smaller side" in result.reason


def test_cli_one_canary_error_in_fifty_is_no_regression(tmp_path: Path) -> None:
    canary, baseline = tmp_path / "canary.json", tmp_path / "baseline.json"
    canary.write_text('{"errors": 1, "total": 50}')
    baseline.write_text('{"errors": 0, "total": 950}')
    policy = tmp_path / "errors.yaml"
    policy.write_text(
        "apiVersion: rudder.dev/v1alpha1\nkind: ClusterMetricPolicy\nmetadata: {name: errors}\n"
        "spec: {type: ratio, test: proportion, queries: {errors: e, total: t}, minSamples: 50, allowedIncrease: 1.5}\n"
    )
    code, out = judge(JudgeArgs(policy=str(policy), canary=canary, baseline=baseline))
    assert out["verdict"] == "Pass" and out["canaryVerdict"] == "Inconclusive"  # Fisher's one-sided p = 0.05
    assert code == EXIT_NO_VERDICT
    assert out["decisionPValue"] == pytest.approx(0.05)


# --- (5) samplesNeeded delivers its power ---


def test_samples_needed_delivers_eighty_percent_power() -> None:
    rng = np.random.default_rng(25)
    allowed, sigma = 1.5, 1.0
    policy = _policy(allowedIncrease=allowed, minSamples=20)
    pilot = rng.lognormal(0, sigma, 40)
    first = judge_metric(evaluate_metric(policy, _samples(pilot.copy()), _samples(pilot)))
    assert first.verdict is Verdict.INCONCLUSIVE
    n = first.samples_needed
    assert n is not None and n > 40
    runs = 100
    passes = sum(
        _verdict(policy, rng.lognormal(0, sigma, n), rng.lognormal(0, sigma, n)) is Verdict.PASS for _ in range(runs)
    )
    fails = sum(
        _verdict(policy, rng.lognormal(0, sigma, n) * allowed**2, rng.lognormal(0, sigma, n)) is Verdict.FAIL
        for _ in range(runs)
    )
    # 80% stated; bench: 0.83 and 1.00.  Bounds leave room for 100 seeded runs.
    assert passes >= 70
    assert fails >= 70


def test_rate_samples_needed_delivers_eighty_percent_power() -> None:
    rng = np.random.default_rng(26)
    policy = _policy("ratio", allowedIncrease=1.5)
    first = judge_metric(evaluate_metric(policy, _ratio(10, 1000), _ratio(10, 1000)))
    assert first.verdict is Verdict.INCONCLUSIVE
    n = first.samples_needed
    assert n is not None and n > 1000
    passes = sum(
        judge_metric(evaluate_metric(policy, _ratio(rng.binomial(n, 0.01), n), _ratio(rng.binomial(n, 0.01), n)))
        .verdict is Verdict.PASS
        for _ in range(100)
    )
    assert passes >= 70  # 80% stated; bench: 0.81


# --- (6) Pass needs evidence ---


def test_no_errors_in_two_hundred_requests_is_not_evidence() -> None:
    policy = _policy("ratio")
    clean = judge_metric(evaluate_metric(policy, _ratio(0, 200), _ratio(0, 200)))
    assert clean.verdict is Verdict.INCONCLUSIVE
    assert clean.samples_needed is not None and clean.samples_needed > 200
    assert f"about {clean.samples_needed} samples per side needed" in clean.reason
    worse = judge_metric(evaluate_metric(policy, _ratio(3, 200), _ratio(0, 200)))
    assert worse.verdict is not Verdict.PASS


def test_the_absolute_tolerance_of_a_rate_is_a_policy_setting() -> None:
    # Low traffic can show non-inferiority against a coarser absolute tolerance, set explicitly.
    coarse = _policy("ratio", allowedAbsoluteIncrease=0.05)
    assert coarse.allowed_absolute_increase == 0.05
    result = judge_metric(evaluate_metric(coarse, _ratio(0, 200), _ratio(0, 200)))
    assert result.verdict is Verdict.PASS
    assert result.bounds is not None and result.bounds.tolerated_up == 0.05
    with pytest.raises(PolicyError, match=r"spec\.allowedAbsoluteIncrease: 1.5 outside \[0, 1\)"):
        _policy("ratio", allowedAbsoluteIncrease=1.5)


def test_a_noisy_tie_is_inconclusive_and_a_tight_one_passes() -> None:
    rng = np.random.default_rng(27)
    policy = _policy()
    noisy = judge_metric(
        evaluate_metric(policy, _samples(rng.lognormal(0, 1.0, 60)), _samples(rng.lognormal(0, 1.0, 60)))
    )
    assert noisy.verdict is Verdict.INCONCLUSIVE
    assert noisy.bounds is not None and noisy.bounds.high >= DEFAULT_ALLOWED_INCREASE
    tight = judge_metric(
        evaluate_metric(policy, _samples(rng.lognormal(0, 0.2, 2000)), _samples(rng.lognormal(0, 0.2, 2000)))
    )
    assert tight.verdict is Verdict.PASS
    assert tight.bounds is not None and tight.bounds.high < DEFAULT_ALLOWED_INCREASE


# --- (7) defaults that mean something, intervals that match the decision ---


def test_crd_default_tolerance_is_the_models() -> None:
    for crd in ("metricpolicy.yaml", "clustermetricpolicy.yaml"):
        document = yaml.safe_load((ROOT / "crds" / crd).read_text())
        spec = document["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        assert spec["allowedIncrease"]["default"] == DEFAULT_ALLOWED_INCREASE > 1.0
    assert _policy().allowed_increase == DEFAULT_ALLOWED_INCREASE


def test_one_percent_slowdown_at_two_hundred_thousand_does_not_fail() -> None:
    rng = np.random.default_rng(28)
    baseline, canary = rng.lognormal(0, 0.5, 200_000), rng.lognormal(0, 0.5, 200_000) * 1.01
    result = judge_metric(evaluate_metric(_policy(), _samples(canary), _samples(baseline)))
    assert result.verdict is Verdict.PASS
    assert result.evidence.p_greater is not None and result.evidence.p_greater < 1e-6  # significant, harmless


def test_the_reported_interval_is_the_decisions() -> None:
    rng = np.random.default_rng(29)
    policy = _policy(allowedIncrease=1.01)
    look = Look(number=3, planned=10)
    fails = 0
    levels: set[float] = set()
    for _ in range(150):
        baseline, canary = rng.normal(10.0, 1.0, 300), rng.normal(10.25, 1.0, 300)  # p near alpha
        result = judge_analysis([evaluate_metric(policy, _samples(canary), _samples(baseline))], look).metrics[0]
        alpha = result.alpha
        assert alpha is not None
        status = result.to_status()
        if result.verdict is Verdict.FAIL:
            fails += 1
            assert status["ciLow"] > 0.0  # a significant increase never shows an interval reaching below 0
        if status["ciLow"] > 0.0:  # and an interval excluding 0 is a significant increase
            assert result.adjusted_p_value is not None and result.adjusted_p_value <= alpha * 1.0001
        levels.add(result.to_dict().get("intervalConfidence", math.nan) - (1.0 - 2.0 * alpha))
    assert 20 <= fails <= 130  # the cases straddle the decision boundary
    assert max(map(abs, levels)) < 1e-12  # every interval at 1 - 2 alpha: ends are one-sided bounds at alpha


# --- the offline judge and the controller decide identically ---


@pytest.mark.parametrize(
    ("canary", "baseline"),
    [('{"errors": 1, "total": 50}', '{"errors": 0, "total": 950}'),
     ('{"errors": 40, "total": 2000}', '{"errors": 10, "total": 2000}'),
     ('{"errors": 0, "total": 30000}', '{"errors": 0, "total": 30000}'),
     ("[" + ", ".join(["0"] * 80 + ["1"] * 40) + "]", "[" + ", ".join(["0"] * 100 + ["1"] * 20) + "]")],
)  # fmt: skip
def test_cli_and_controller_decide_identically(tmp_path: Path, canary: str, baseline: str) -> None:
    kind = "ratio" if canary.startswith("{") else "distribution"
    spec = "{type: ratio, test: proportion, queries: {errors: e, total: t}}"
    if kind == "distribution":
        spec = "{type: distribution, test: mann-whitney, queries: {samples: s}}"
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(
        f"apiVersion: rudder.dev/v1alpha1\nkind: ClusterMetricPolicy\nmetadata: {{name: m}}\nspec: {spec}\n"
    )
    (tmp_path / "c.json").write_text(canary)
    (tmp_path / "b.json").write_text(baseline)
    _, out = judge(JudgeArgs(policy=str(policy_file), canary=tmp_path / "c.json", baseline=tmp_path / "b.json"))
    values = [json.loads(canary), json.loads(baseline)]
    if kind == "ratio":
        sides = [_ratio(v["errors"], v["total"]) for v in values]
    else:
        sides = [_samples(np.array(v, dtype=float)) for v in values]
    controller = judge_analysis([evaluate_metric(_policy(kind), *sides)], Look(1, 1)).metrics[0].to_dict()
    same = {"verdict": "classification", "canaryVerdict": "verdict", "reason": "message", "ciLow": "ciLow",
            "ciHigh": "ciHigh", "decisionPValue": "decisionPValue", "samplesNeeded": "samplesNeeded",
            "boundLow": "boundLow", "boundHigh": "boundHigh"}  # fmt: skip
    assert {cli: out[cli] for cli in same} == {cli: controller[key] for cli, key in same.items()}
