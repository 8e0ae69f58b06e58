"""Provider kinds by name.  An unknown kind is an error, never a silent default.

(Flagger's router factory falls back to Istio on an unknown kind; a typo in a
provider kind must instead stop the analysis with a message naming the kind.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from canary.providers.base import MetricProvider
from canary.providers.prometheus import PrometheusProvider

ProviderFactory = Callable[[Mapping[str, Any]], MetricProvider]


class UnknownProviderError(ValueError):
    def __init__(self, kind: str, known: list[str]) -> None:
        super().__init__(f"unknown metric provider kind {kind!r}; known kinds: {', '.join(known)}")
        self.kind = kind


_FACTORIES: dict[str, ProviderFactory] = {"prometheus": PrometheusProvider.from_config}


def register_provider(kind: str, factory: ProviderFactory) -> None:
    """Add a provider kind (a plugin or a test double); replacing a kind is refused."""
    if kind in _FACTORIES:
        raise ValueError(f"metric provider kind {kind!r} is already registered")
    _FACTORIES[kind] = factory


def unregister_provider(kind: str) -> None:
    _FACTORIES.pop(kind, None)


def known_kinds() -> list[str]:
    return sorted(_FACTORIES)


def create_provider(kind: str, config: Mapping[str, Any]) -> MetricProvider:
    """Build the provider of ``kind`` from its config (for example the CanaryRelease's
    ``analysis.prometheus`` mapping)."""
    factory = _FACTORIES.get(kind)
    if factory is None:
        raise UnknownProviderError(kind, known_kinds())
    return factory(config)
