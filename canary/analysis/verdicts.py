"""Enumerations shared by the judge, the controller and the command line.

Two vocabularies, both from the API contract:

* ``Classification`` is the judge's statement about one metric comparison, the
  Kayenta vocabulary the offline ``kubectl canary judge`` prints:
  Pass | High | Low | NoData | Error.
* ``Verdict`` is what a metric (and an analysis) means for the canary:
  Pass | Fail | Inconclusive | NoData | Error.  High is a Fail only when the
  policy's direction says an increase is bad, and so on.
"""

from __future__ import annotations

from enum import Enum


class Classification(Enum):
    PASS = "Pass"
    HIGH = "High"
    LOW = "Low"
    NO_DATA = "NoData"
    ERROR = "Error"


class Verdict(Enum):
    PASS = "Pass"
    FAIL = "Fail"
    INCONCLUSIVE = "Inconclusive"
    NO_DATA = "NoData"
    ERROR = "Error"


class Direction(Enum):
    """Which change of the metric is bad."""

    INCREASE = "increase"
    DECREASE = "decrease"
    EITHER = "either"

    def flags(self, classification: Classification) -> bool:
        """Whether ``classification`` is a bad change for this direction."""
        if classification is Classification.HIGH:
            return self in (Direction.INCREASE, Direction.EITHER)
        if classification is Classification.LOW:
            return self in (Direction.DECREASE, Direction.EITHER)
        return False


class ScoreVerdict(Enum):
    """Kayenta's summary-score classification."""

    PASS = "Pass"
    MARGINAL = "Marginal"
    FAIL = "Fail"
