"""Alpha spending across the repeated looks of one canary.

The controller judges every interval.  Testing each look at the full alpha would
fail a healthy canary far more often than alpha (ten looks at 2% reject a
healthy canary roughly 8-10% of the time).  Instead each look gets a share of
alpha from a spending function alpha*(t) over the information fraction t = look /
planned looks, and look k is tested at the increment alpha*(t_k) - alpha*(t_k-1).

The increments add up to alpha, so by the union bound the probability that any
look of a healthy canary fails is at most alpha, whatever the correlation between
looks (they share data, so the real rate is lower; ``docs/analysis.md`` has the
measured figures).  This is deliberately simpler than exact group-sequential
boundaries: it needs no assumption about how traffic accrues between looks.

One budget covers the whole canary (``CanaryLooks``): the looks of all weight
steps are numbered in one sequence, so a canary of three steps spends alpha once,
not three times.  Looks beyond a step's plan (``onInconclusive: extend``, or a
late look) draw on a reserve held back from the plan: each step owns a share of
the reserve in proportion to its planned looks and halves it with every extra
look, so the total stays within alpha however many extra looks there are, and an
extended canary can still fail on evidence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from canary.analysis.normal import norm_isf, norm_sf


class SpendingFunction(Enum):
    """Shapes of alpha*(t); Pocock-type spends early, O'Brien-Fleming-type late."""

    POCOCK = "pocock"
    OBRIEN_FLEMING = "obrien-fleming"
    LINEAR = "linear"


def spent_alpha(function: SpendingFunction, alpha: float, fraction: float) -> float:
    """Cumulative alpha spent by information fraction ``fraction`` (Lan-DeMets forms)."""
    t = min(max(fraction, 0.0), 1.0)
    if t == 0.0:
        return 0.0
    if function is SpendingFunction.POCOCK:
        return alpha * math.log(1.0 + (math.e - 1.0) * t)
    if function is SpendingFunction.OBRIEN_FLEMING:
        return min(alpha, 2.0 * norm_sf(norm_isf(alpha / 2.0) / math.sqrt(t)))
    return alpha * t


@dataclass(frozen=True)
class SequentialPlan:
    """How one canary's alpha is shared among its looks (look numbers start at 1)."""

    alpha: float
    planned_looks: int = 1
    function: SpendingFunction = SpendingFunction.POCOCK
    extension_reserve: float = 0.1

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha {self.alpha} outside (0, 1)")
        if self.planned_looks < 1:
            raise ValueError("a plan needs at least one look")
        if not 0.0 <= self.extension_reserve < 1.0:
            raise ValueError("extension reserve outside [0, 1)")

    @classmethod
    def single_look(cls, alpha: float) -> SequentialPlan:
        """One look at the full alpha: the offline judge and one-shot analyses."""
        return cls(alpha=alpha, planned_looks=1, extension_reserve=0.0)

    @property
    def planned_alpha(self) -> float:
        return self.alpha * (1.0 - self.extension_reserve)

    def nominal_alpha(self, look: int) -> float:
        """The significance level at which look ``look`` is tested (looks past the plan: the whole reserve's
        halving sequence, as for a plan of one step)."""
        if look < 1:
            raise ValueError("looks are numbered from 1")
        if look <= self.planned_looks:
            return self.planned_increment(look)
        return self.extension_alpha(look - self.planned_looks, 1.0)

    def planned_increment(self, look: int) -> float:
        """Alpha of planned look ``look`` (1..planned_looks): the spending function's increment."""
        k = self.planned_looks
        look = min(max(look, 1), k)
        return spent_alpha(self.function, self.planned_alpha, look / k) - spent_alpha(
            self.function, self.planned_alpha, (look - 1) / k
        )

    def extension_alpha(self, extra: int, reserve_share: float) -> float:
        """Alpha of the ``extra``-th look past a step's plan, for a step owning ``reserve_share`` of the reserve:
        halving with each extra look, so a step never spends more than its share."""
        if extra < 1:
            raise ValueError("extension looks are numbered from 1")
        return self.alpha * self.extension_reserve * reserve_share * 0.5**extra

    def spent_through(self, look: int) -> float:
        """Alpha used by looks 1..look (what the status can show as spent so far)."""
        return sum(self.nominal_alpha(k) for k in range(1, look + 1))


# The share of a canary's alpha held back for looks past the plan (extensions, late looks).
CANARY_EXTENSION_RESERVE = 0.1


@dataclass(frozen=True)
class Look:
    """Where one analysis sits in its canary's alpha budget.

    ``number`` of ``planned`` is the look's place among all planned looks of the canary (all weight steps in
    one sequence); ``extension`` > 0 marks the extension-th look past its step's plan, which spends the step's
    ``reserve_share`` of the reserve instead.  ``Look()`` is one look at the full alpha (the offline judge).
    """

    number: int = 1
    planned: int = 1
    spending: SpendingFunction = SpendingFunction.POCOCK
    extension_reserve: float = 0.0
    extension: int = 0
    reserve_share: float = 1.0

    def alpha(self, alpha: float) -> float:
        """The level at which this look tests a policy of significance ``alpha``."""
        plan = SequentialPlan(alpha, self.planned, self.spending, self.extension_reserve)
        if self.extension > 0:
            return plan.extension_alpha(self.extension, self.reserve_share)
        return plan.nominal_alpha(self.number)  # past the plan: the whole reserve's halving sequence


@dataclass(frozen=True)
class CanaryLooks:
    """Look numbering across a whole canary: one alpha budget for all steps, looks and extensions.

    ``planned_per_step`` holds, for each weight step in order (pause steps excluded), its planned looks
    ceil(duration / interval).  Planned looks are numbered 1..N, N = sum of them, step after step; the look
    taken ``elapsed`` seconds into weight step ``s`` is look k = floor(elapsed / interval) of that step
    (strictly increasing, since looks are at least one interval apart), global number offset(s) + k while
    k <= planned(s), else the (k - planned(s))-th extension look of step s.  Everything is derived from the
    spec and the status (step index, step start, look time), so a controller restart numbers a look the same.

    Spending is linear (equal shares) by default: across a canary the early looks of the first, lowest-weight
    step see the least data, and Pocock-type spending, which favours them, had 4-9 points less power in the
    query-path calibration (docs/analysis.md); any function keeps the total within alpha.
    """

    planned_per_step: tuple[int, ...]
    spending: SpendingFunction = SpendingFunction.LINEAR
    extension_reserve: float = CANARY_EXTENSION_RESERVE

    @classmethod
    def of(cls, durations: Sequence[float], interval: float,
           spending: SpendingFunction = SpendingFunction.LINEAR) -> CanaryLooks:
        """The plan for weight steps of ``durations`` seconds analysed every ``interval`` seconds."""
        if interval <= 0:
            raise ValueError("the analysis interval must be positive")
        per_step = tuple(max(1, math.ceil(d / interval - 1e-9)) for d in durations) or (1,)
        return cls(per_step, spending)

    @property
    def planned(self) -> int:
        return sum(self.planned_per_step)

    def look(self, step: int, look_in_step: int) -> Look:
        """The Look of the ``look_in_step``-th look (from 1) of weight step ``step`` (from 0)."""
        step = min(max(step, 0), len(self.planned_per_step) - 1)
        k = max(1, look_in_step)
        own = self.planned_per_step[step]
        offset = sum(self.planned_per_step[:step])
        if k <= own:
            return Look(offset + k, self.planned, self.spending, self.extension_reserve)
        return Look(offset + own, self.planned, self.spending, self.extension_reserve,
                    extension=k - own, reserve_share=own / self.planned)

    def look_at(self, step: int, elapsed: float, interval: float) -> Look:
        """The Look of an analysis ``elapsed`` seconds into weight step ``step``."""
        return self.look(step, math.floor(elapsed / interval + 1e-9))
