"""Metric providers: query a metrics backend, get numpy arrays back.

``MetricProvider`` is a small Protocol (``query -> ndarray``, ``is_online``), one
module per implementation (``prometheus``), and a registry that raises on an
unknown kind.  The controller calls ``measure(provider, query, window)``, which
retries transient errors with bounded backoff and returns a ``Measurement``:
values, NoData for an empty result, or Error, never an exception.
"""

from canary.providers.base import (
    LabelledMetricProvider,
    MetricProvider,
    ProviderError,
    QueryWindow,
    RetryPolicy,
    measure,
)
from canary.providers.prometheus import PrometheusConfig, PrometheusProvider
from canary.providers.registry import UnknownProviderError, create_provider, known_kinds, register_provider

__all__ = [
    "LabelledMetricProvider",
    "MetricProvider",
    "PrometheusConfig",
    "PrometheusProvider",
    "ProviderError",
    "QueryWindow",
    "RetryPolicy",
    "UnknownProviderError",
    "create_provider",
    "known_kinds",
    "measure",
    "register_provider",
]
