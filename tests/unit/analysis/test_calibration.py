"""Judging at every look does not inflate false rollbacks: a fast, seeded calibration run.

Pins down that over 1000 simulated A/A canaries with 10 looks each, judged by the
real judge with the default sequential plan, the share failed at any look stays
within the configured alpha plus three standard errors, while naive testing of
every look at the full alpha (the thing the plan prevents) does inflate it.  A
clear 3x regression with ample traffic is still caught.  The full figures, with
more canaries and the power table, come from ``python -m bench.analysis.calibration``.
"""

from __future__ import annotations

import math

from bench.analysis.simulate import Scenario, error_rate_policy, simulate

ALPHA = 0.02
CANARIES = 1000


def test_sequential_plan_keeps_false_fails_within_alpha() -> None:
    outcome = simulate(Scenario(canaries=CANARIES, looks=10, requests_per_look=1000, error_policy=error_rate_policy()))
    bound = ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / CANARIES)
    assert outcome.rate <= bound, f"{outcome.failed} of {CANARIES} A/A canaries failed"


def test_naive_repeated_looks_would_inflate_false_fails() -> None:
    outcome = simulate(Scenario(canaries=CANARIES, looks=10, requests_per_look=1000, spending=None))
    assert outcome.rate > 2 * ALPHA


def test_a_clear_regression_is_still_caught_early() -> None:
    scenario = Scenario(canaries=200, looks=10, requests_per_look=2500, error_ratio=3.0)
    outcome = simulate(scenario)
    assert outcome.rate > 0.95
    assert outcome.mean_first_fail_look is not None
    assert outcome.mean_first_fail_look < 3
