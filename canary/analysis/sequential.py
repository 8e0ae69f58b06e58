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

Looks beyond the plan (``onInconclusive: extend``) draw on a reserve held back
from the plan, halving with each extra look, so the total stays within alpha and
an extended canary can still fail on evidence.
"""

from __future__ import annotations

import math
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
        """The significance level at which look ``look`` is tested."""
        if look < 1:
            raise ValueError("looks are numbered from 1")
        if look <= self.planned_looks:
            k = self.planned_looks
            return spent_alpha(self.function, self.planned_alpha, look / k) - spent_alpha(
                self.function, self.planned_alpha, (look - 1) / k
            )
        extra = look - self.planned_looks
        return self.alpha * self.extension_reserve * 0.5**extra

    def spent_through(self, look: int) -> float:
        """Alpha used by looks 1..look (what the status can show as spent so far)."""
        return sum(self.nominal_alpha(k) for k in range(1, look + 1))
