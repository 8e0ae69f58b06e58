"""Prometheus metric provider built on prometheus-api-client.

* Instant queries return one value per series; range queries return every point
  of every series (the samples of a distribution test).
* Timeouts apply to every request; auth is a bearer token (inline or read from a
  file, as in-cluster service-account tokens are), extra headers, or basic auth.
* The client library's own urllib3 retries are switched off: retrying belongs to
  ``canary.providers.base.measure`` so that attempts and backoff are bounded and
  reported in one place.
* HTTP 400/422 (a malformed or unprocessable query) is a permanent error;
  timeouts, refused connections and 5xx are transient.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import requests
from prometheus_api_client.exceptions import PrometheusApiClientException
from prometheus_api_client.prometheus_connect import PrometheusConnect
from urllib3.util.retry import Retry

from canary.providers.base import FloatArray, Labels, ProviderError, QueryWindow

_PERMANENT_STATUS = ("HTTP Status Code 400", "HTTP Status Code 422")


@dataclass(frozen=True)
class PrometheusConfig:
    url: str
    timeout: float = 10.0
    bearer_token: str | None = None
    bearer_token_file: str | None = None
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    basic_auth: tuple[str, str] | None = None
    insecure_skip_verify: bool = False

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> PrometheusConfig:
        """Parse ``{url, timeout, bearerToken, bearerTokenFile, headers, basicAuth, insecureSkipVerify}``."""
        url = config.get("url")
        if not isinstance(url, str) or not url:
            raise ValueError("prometheus provider: url is required")
        basic = config.get("basicAuth")
        timeout = config.get("timeout", 10.0)
        return cls(
            url=url.rstrip("/"),
            timeout=_seconds(timeout),
            bearer_token=config.get("bearerToken"),
            bearer_token_file=config.get("bearerTokenFile"),
            headers=MappingProxyType(dict(config.get("headers") or {})),
            basic_auth=(str(basic["username"]), str(basic["password"])) if basic else None,
            insecure_skip_verify=bool(config.get("insecureSkipVerify", False)),
        )


def _seconds(value: object) -> float:
    """10, 10.5, "10s", "2m" -> seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
        for suffix in ("ms", "s", "m", "h"):
            if value.endswith(suffix) and value[: -len(suffix)].replace(".", "", 1).isdigit():
                return float(value[: -len(suffix)]) * units[suffix]
        if value.replace(".", "", 1).isdigit():
            return float(value)
    raise ValueError(f"prometheus provider: cannot read {value!r} as a timeout")


def _value(text: object) -> float:
    # Prometheus encodes sample values as strings, including "NaN" and "+Inf".
    try:
        return float(str(text))
    except ValueError:
        return math.nan


class PrometheusProvider:
    """``MetricProvider`` (and ``LabelledMetricProvider``) for a Prometheus HTTP API."""

    def __init__(self, config: PrometheusConfig, client: PrometheusConnect | None = None) -> None:
        self.config = config
        if client is None:
            options: dict[str, Any] = {"timeout": config.timeout}  # the client accepts float seconds
            if config.basic_auth is not None:
                options["auth"] = config.basic_auth
            client = PrometheusConnect(
                url=config.url,
                headers=self._headers(),
                disable_ssl=config.insecure_skip_verify,
                retry=Retry(total=0, raise_on_status=False),
                **options,
            )
        self._client = client

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PrometheusProvider:
        return cls(PrometheusConfig.from_mapping(config))

    def _headers(self) -> dict[str, str]:
        headers = dict(self.config.headers)
        token = self.config.bearer_token
        if token is None and self.config.bearer_token_file:
            token = Path(self.config.bearer_token_file).read_text().strip()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _call(self, query: str, window: QueryWindow | None) -> list[Any]:
        try:
            if window is None:
                result: Any = self._client.custom_query(query)
            else:
                step = f"{window.step.total_seconds():g}s"
                result = self._client.custom_query_range(query, window.start, window.end, step)
        except PrometheusApiClientException as error:
            message = str(error)
            raise ProviderError(
                f"prometheus: {message[:500]}", transient=not message.startswith(_PERMANENT_STATUS)
            ) from None
        except requests.RequestException as error:
            # urllib3 wraps read timeouts in a MaxRetryError even with retries off.
            if isinstance(error, requests.Timeout) or "timed out" in str(error):
                raise ProviderError(f"prometheus: no answer within {self.config.timeout:g}s") from None
            raise ProviderError(f"prometheus: {type(error).__name__}: {error}") from None
        except ValueError as error:  # a body that is not the JSON the API promises
            raise ProviderError(f"prometheus: unreadable response: {error}") from None
        if not isinstance(result, list):
            raise ProviderError("prometheus: unexpected response shape")
        return result

    def query_labelled(self, query: str, window: QueryWindow | None = None) -> tuple[FloatArray, tuple[Labels, ...]]:
        result = self._call(query, window)
        values: list[float] = []
        labels: list[Labels] = []
        if len(result) == 2 and not isinstance(result[0], dict):
            # A scalar or string result is [timestamp, value], not a list of series.
            return np.array([_value(result[1])], dtype=np.float64), (MappingProxyType({}),)
        for series in result:
            metric = MappingProxyType(dict(series.get("metric", {})))
            if "value" in series:
                values.append(_value(series["value"][1]))
                labels.append(metric)
            for _, text in series.get("values", []):
                values.append(_value(text))
                labels.append(metric)
        return np.asarray(values, dtype=np.float64), tuple(labels)

    def query(self, query: str, window: QueryWindow | None = None) -> FloatArray:
        return self.query_labelled(query, window)[0]

    def is_online(self) -> bool:
        try:
            return bool(self._client.check_prometheus_connection())
        except requests.RequestException:
            return False
