"""Prometheus metric provider: the HTTP API (`/api/v1/query`, `/api/v1/query_range`) over `requests`.

* Instant queries return one value per series; range queries return every point
  of every series (the samples of a distribution test).
* The timeout bounds each whole request (connect, headers and the body read in chunks), and the body is
  read up to `max_response_bytes`: a slow-dripping or endless server cannot hold or exhaust the controller.
* Auth is a bearer token (inline or read from a file, as in-cluster service-account tokens are), extra
  headers (the controller fills them from `prometheus.headersFrom`), or basic auth. Redirects are not
  followed (a redirect could lead anywhere, headers included).
* Errors never carry the response body: a non-200 answer is "Prometheus answered HTTP 503" (with
  Prometheus' own `errorType` token when the body has one), and a 200 whose JSON is not the API's
  documented shape is an "unexpected response" error. Header values never appear in messages.
* Retrying belongs to `canary.providers.base.measure` so that attempts and backoff are bounded and
  reported in one place; HTTP 4xx (a malformed query, refused auth) is permanent, 5xx, 429, timeouts and
  refused connections are transient.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import requests

from canary.providers.base import FloatArray, Labels, ProviderError, QueryWindow

MAX_RESPONSE_BYTES = 64 * 1024 * 1024
_ERROR_TYPE = re.compile(r"^[a-z_]{1,32}$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$")
_RESULT_TYPES = ("vector", "matrix", "scalar", "string")


@dataclass(frozen=True)
class PrometheusConfig:
    url: str
    timeout: float = 10.0
    bearer_token: str | None = None
    bearer_token_file: str | None = None
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    basic_auth: tuple[str, str] | None = None
    insecure_skip_verify: bool = False
    max_response_bytes: int = MAX_RESPONSE_BYTES

    def __post_init__(self) -> None:
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ValueError("prometheus provider: timeout must be a positive number of seconds")
        for name, value in self.headers.items():
            if not _HEADER_NAME.match(name):
                raise ValueError(f"prometheus provider: {name!r} is not a valid HTTP header name")
            if any(c in str(value) for c in "\r\n\x00"):
                # The value itself is never quoted: it is usually a credential.
                raise ValueError(f"prometheus provider: the value of header {name} contains a line break")

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> PrometheusConfig:
        """Parse `{url, timeout, bearerToken, bearerTokenFile, headers, basicAuth, insecureSkipVerify}`."""
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
    if not isinstance(text, str | int | float) or isinstance(text, bool):
        raise _shape("a sample value is not a string")
    try:
        return float(text)
    except ValueError:
        return math.nan


def _shape(problem: str) -> ProviderError:
    return ProviderError(f"prometheus: unexpected response: {problem}", transient=False)


def _pair(point: object) -> object:
    if not isinstance(point, list) or len(point) != 2:
        raise _shape("a sample is not a [time, value] pair")
    return point[1]


def _series_labels(series: Mapping[str, Any]) -> Labels:
    metric = series.get("metric", {})
    if not isinstance(metric, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in metric.items()):
        raise _shape("a series' metric is not a map of label names to strings")
    return MappingProxyType(dict(metric))


def parse_result(body: object) -> tuple[FloatArray, tuple[Labels, ...]]:
    """Values and their series' labels from a decoded `/api/v1/query[_range]` answer, checked against
    the documented shape; anything else raises a permanent ProviderError that quotes nothing."""
    if not isinstance(body, dict) or body.get("status") != "success":
        raise _shape("status is not success")
    data = body.get("data")
    if not isinstance(data, dict) or "result" not in data:
        raise _shape("no data.result")
    kind, result = data.get("resultType"), data["result"]
    if kind not in _RESULT_TYPES:
        raise _shape("unknown data.resultType")
    if kind in ("scalar", "string"):
        return np.array([_value(_pair(result))], dtype=np.float64), (MappingProxyType({}),)
    if not isinstance(result, list):
        raise _shape("data.result is not a list")
    values: list[float] = []
    labels: list[Labels] = []
    for series in result:
        if not isinstance(series, dict):
            raise _shape("a series is not an object")
        metric = _series_labels(series)
        if "value" in series:  # an instant vector's sample
            values.append(_value(_pair(series["value"])))
            labels.append(metric)
            continue
        points = series.get("values")
        if not isinstance(points, list):
            raise _shape("a series has neither value nor values")
        for point in points:
            values.append(_value(_pair(point)))
            labels.append(metric)
    return np.asarray(values, dtype=np.float64), tuple(labels)


class PrometheusProvider:
    """`MetricProvider` (and `LabelledMetricProvider`) for a Prometheus HTTP API."""

    def __init__(self, config: PrometheusConfig, session: requests.Session | None = None) -> None:
        self.config = config
        self._session = session or requests.Session()
        self._session.trust_env = False  # no proxies or .netrc credentials from the controller's environment

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PrometheusProvider:
        return cls(PrometheusConfig.from_mapping(config))

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", **dict(self.config.headers)}
        token = self.config.bearer_token
        if token is None and self.config.bearer_token_file:
            try:
                token = Path(self.config.bearer_token_file).read_text().strip()
            except OSError as err:
                raise ProviderError(f"prometheus: cannot read the bearer token file: {err.strerror}",
                                    transient=False) from None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _get(self, path: str, params: Mapping[str, str]) -> object:
        """One GET; the decoded JSON body of a 200 answer, else a ProviderError without the body."""
        deadline = time.monotonic() + self.config.timeout
        try:
            response = self._session.get(
                f"{self.config.url}{path}", params=dict(params), headers=self._headers(),
                auth=self.config.basic_auth, timeout=self.config.timeout, stream=True,
                allow_redirects=False, verify=not self.config.insecure_skip_verify)
            with response:
                if response.status_code != 200:
                    raise self._status_error(response, deadline)
                body = self._read(response, deadline)
        except requests.Timeout:
            raise ProviderError(f"prometheus: no answer within {self.config.timeout:g}s") from None
        except requests.RequestException as error:
            if "timed out" in str(error):
                raise ProviderError(f"prometheus: no answer within {self.config.timeout:g}s") from None
            raise ProviderError(f"prometheus: {type(error).__name__} (cannot reach {self.config.url})") from None
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise _shape("the body is not JSON") from None

    def _read(self, response: requests.Response, deadline: float) -> bytes:
        chunks, size = [], 0
        for chunk in response.iter_content(chunk_size=65536):
            size += len(chunk)
            if size > self.config.max_response_bytes:
                raise ProviderError(f"prometheus: the answer is larger than {self.config.max_response_bytes} "
                                    "bytes", transient=False)
            if time.monotonic() > deadline:
                raise requests.Timeout()
            chunks.append(chunk)
        return b"".join(chunks)

    def _status_error(self, response: requests.Response, deadline: float) -> ProviderError:
        code = response.status_code
        detail = ""
        if code in (400, 422):
            # Prometheus names the kind of a query error (bad_data, execution...); only that token is kept.
            try:
                error_type = json.loads(self._read(response, deadline)).get("errorType")
            except (ValueError, AttributeError, RecursionError, ProviderError, requests.RequestException):
                error_type = None
            if isinstance(error_type, str) and _ERROR_TYPE.match(error_type):
                detail = f" ({error_type})"
        transient = code >= 500 or code in (408, 429)
        return ProviderError(f"prometheus: Prometheus answered HTTP {code}{detail}", transient=transient)

    def _call(self, query: str, window: QueryWindow | None) -> object:
        if window is None:
            return self._get("/api/v1/query", {"query": query})
        return self._get("/api/v1/query_range", {
            "query": query, "start": f"{window.start.timestamp():.3f}", "end": f"{window.end.timestamp():.3f}",
            "step": f"{window.step.total_seconds():g}s"})

    def query_labelled(self, query: str, window: QueryWindow | None = None) -> tuple[FloatArray, tuple[Labels, ...]]:
        return parse_result(self._call(query, window))

    def query(self, query: str, window: QueryWindow | None = None) -> FloatArray:
        return self.query_labelled(query, window)[0]

    def is_online(self) -> bool:
        try:
            self._get("/api/v1/query", {"query": "1"})
        except ProviderError:
            return False
        return True
