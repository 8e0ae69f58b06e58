"""What a provider measured for one side of one metric: values, no data, or an error.

Errors are data.  A provider failure becomes an ``Error`` measurement (after the
provider's retries) and the judge reports the metric as Error, which the
controller retries later; it never counts as the metric failing.  An empty result
is ``NoData``, a verdict of its own, not a failure either (Flagger's mistake).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


class MeasurementStatus(Enum):
    OK = "Ok"
    NO_DATA = "NoData"
    ERROR = "Error"


def _empty() -> FloatArray:
    return np.zeros(0, dtype=np.float64)


@dataclass(frozen=True)
class Measurement:
    """The result of one query: an array of values (one per series or per point)."""

    status: MeasurementStatus
    values: FloatArray = field(default_factory=_empty)
    query: str = ""
    message: str = ""
    attempts: int = 1
    labels: tuple[Mapping[str, str], ...] = ()  # per value, when the provider keeps them

    @classmethod
    def of(cls, values: NDArray[np.floating] | list[float], query: str = "", attempts: int = 1) -> Measurement:
        """Values measured; an empty array is NoData."""
        array = np.asarray(values, dtype=np.float64).ravel()
        if array.size == 0:
            return cls(MeasurementStatus.NO_DATA, array, query, "the query returned no data", attempts)
        return cls(MeasurementStatus.OK, array, query, "", attempts)

    @classmethod
    def no_data(cls, query: str = "", message: str = "the query returned no data") -> Measurement:
        return cls(MeasurementStatus.NO_DATA, _empty(), query, message)

    @classmethod
    def error(cls, message: str, query: str = "", attempts: int = 1) -> Measurement:
        return cls(MeasurementStatus.ERROR, _empty(), query, message, attempts)

    def total(self) -> float:
        """Sum over series: counters split by pod or code add up."""
        return float(np.nansum(self.values))


@dataclass(frozen=True)
class Observation:
    """Everything measured for one side (canary or baseline) of one metric, by query name."""

    measurements: Mapping[str, Measurement]

    @classmethod
    def of(cls, **measurements: Measurement) -> Observation:
        return cls(MappingProxyType(dict(measurements)))

    def __getitem__(self, name: str) -> Measurement:
        return self.measurements[name]

    def worst(self) -> Measurement | None:
        """The first Error, else the first NoData, else None when everything has values."""
        for status in (MeasurementStatus.ERROR, MeasurementStatus.NO_DATA):
            for measurement in self.measurements.values():
                if measurement.status is status:
                    return measurement
        return None
