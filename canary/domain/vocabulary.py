"""The CanaryRelease API's vocabulary: phases, verdicts, router types and the other closed sets of words.

Re-exported by `canary.models`; kept apart so that the status model can use it without an import cycle.
"""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    PENDING = "Pending"
    INITIALIZING = "Initializing"
    PROGRESSING = "Progressing"
    PAUSED = "Paused"
    PROMOTING = "Promoting"
    PROMOTED = "Promoted"
    ROLLING_BACK = "RollingBack"
    ROLLED_BACK = "RolledBack"
    FAILED = "Failed"

    @property
    def active(self) -> bool:
        """True while the canary holds copies or traffic (one active canary per Release)."""
        return self in _ACTIVE

    @property
    def terminal(self) -> bool:
        return self in (Phase.PROMOTED, Phase.ROLLED_BACK, Phase.FAILED)


_ACTIVE = frozenset({Phase.INITIALIZING, Phase.PROGRESSING, Phase.PAUSED, Phase.PROMOTING, Phase.ROLLING_BACK})


class Verdict(StrEnum):
    """Canary-level verdict of one analysis (the judge's per-metric verdicts are summarised into this)."""

    PASS = "Pass"
    FAIL = "Fail"
    INCONCLUSIVE = "Inconclusive"
    NO_DATA = "NoData"
    ERROR = "Error"


class RouterType(StrEnum):
    REPLICAS = "replicas"
    SERVICE = "service"
    NGINX = "nginx"
    GATEWAY_API = "gateway-api"
    ISTIO = "istio"
    SMI = "smi"


class OnInconclusive(StrEnum):
    PAUSE = "pause"
    ROLLBACK = "rollback"
    EXTEND = "extend"


class Action(StrEnum):
    """Values of the `rudder.dev/action` annotation."""

    PROMOTE = "promote"
    ABORT = "abort"
    PAUSE = "pause"
    RESUME = "resume"
    RETRY = "retry"


class Track(StrEnum):
    PRIMARY = "primary"
    CANARY = "canary"
    BASELINE = "baseline"
