"""Alpha spending across the looks of one canary.

Pins down: the per-look alphas of a plan add up to the plan's alpha (so the union
bound caps the false-fail rate at alpha), each spending function is increasing
and reaches alpha at the last planned look, O'Brien-Fleming spends late and
Pocock early, extension looks draw on the reserve without ever exceeding alpha,
and a single look spends everything.
"""

from __future__ import annotations

import itertools

import pytest

from canary.analysis.sequential import SequentialPlan, SpendingFunction, spent_alpha


@pytest.mark.parametrize("function", list(SpendingFunction))
@pytest.mark.parametrize("looks", [1, 3, 10, 40])
def test_plan_spends_exactly_its_alpha(function: SpendingFunction, looks: int) -> None:
    plan = SequentialPlan(0.02, looks, function, extension_reserve=0.0)
    nominal = [plan.nominal_alpha(k) for k in range(1, looks + 1)]
    assert all(a >= 0 for a in nominal)
    assert sum(nominal) == pytest.approx(0.02, rel=1e-12)


@pytest.mark.parametrize("function", list(SpendingFunction))
def test_spending_is_increasing_from_zero_to_alpha(function: SpendingFunction) -> None:
    spent = [spent_alpha(function, 0.05, t / 20) for t in range(21)]
    assert spent[0] == 0.0
    assert spent[-1] == pytest.approx(0.05)
    assert all(a <= b for a, b in itertools.pairwise(spent))


def test_obrien_fleming_spends_late_and_pocock_early() -> None:
    obf = SequentialPlan(0.02, 10, SpendingFunction.OBRIEN_FLEMING, 0.0)
    pocock = SequentialPlan(0.02, 10, SpendingFunction.POCOCK, 0.0)
    assert obf.nominal_alpha(1) < 1e-8 < pocock.nominal_alpha(1)
    assert obf.nominal_alpha(10) > pocock.nominal_alpha(10)


def test_extension_looks_use_the_reserve_and_never_exceed_alpha() -> None:
    plan = SequentialPlan(0.02, 10, SpendingFunction.POCOCK, extension_reserve=0.1)
    assert plan.spent_through(10) == pytest.approx(0.018)
    assert plan.nominal_alpha(11) == pytest.approx(0.001)
    assert plan.spent_through(60) <= 0.02 * (1 + 1e-12)


def test_single_look_spends_everything() -> None:
    assert SequentialPlan.single_look(0.02).nominal_alpha(1) == pytest.approx(0.02)


@pytest.mark.parametrize(
    "kwargs", [{"alpha": 0.0}, {"alpha": 0.05, "planned_looks": 0}, {"alpha": 0.05, "extension_reserve": 1.0}]
)
def test_invalid_plans_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"alpha|look|reserve"):
        SequentialPlan(**kwargs)  # type: ignore[arg-type]


def test_looks_are_numbered_from_one() -> None:
    with pytest.raises(ValueError, match="numbered from 1"):
        SequentialPlan(0.05, 3).nominal_alpha(0)
