"""The Prometheus provider of one CanaryRelease, built under the controller's allow-list.

`provider_for` resolves `spec.analysis.prometheus.url` through the admin's `PrometheusAccess` (refusing,
before any request, a URL outside it), applies `prometheus.timeout`, and turns the keys of the
`prometheus.headersFrom` Secret (in the canary's own namespace) into HTTP headers, e.g. `Authorization`.
Problems raise `ProviderSetupError` whose message names the field and, for a Secret, its keys only:
header values are credentials and never reach a message, a log line or the status.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from types import MappingProxyType

from canary.models import AnalysisSpec, ParseError
from canary.providers import MetricProvider, PrometheusConfig, PrometheusProvider
from canary.providers.access import EndpointRefused, PrometheusAccess
from rudder.kube.client import Kube, KubeError, Ref

HEADERS_FIELD = "spec.analysis.prometheus.headersFrom"
MAX_HEADERS = 32


class ProviderSetupError(ValueError):
    """The provider cannot be built; the message starts with the field at fault."""


def check_endpoint(analysis: AnalysisSpec | None, access: PrometheusAccess) -> ParseError | None:
    """A ParseError naming `spec.analysis.prometheus.url` when the controller would refuse the URL."""
    if analysis is None:
        return None
    try:
        access.resolve(analysis.prometheus_url)
    except EndpointRefused as err:
        path, _, problem = str(err).partition(": ")
        return ParseError(path, problem)
    return None


def _headers(kube: Kube, namespace: str, secret_name: str) -> dict[str, str]:
    where = f"{HEADERS_FIELD}.secretName"
    try:
        secret = kube.get(Ref("v1", "Secret", secret_name, namespace))
    except KubeError as err:
        raise ProviderSetupError(f"{where}: cannot read Secret {secret_name}: HTTP {err.status} {err.reason}") from None
    if secret is None:
        raise ProviderSetupError(f"{where}: Secret {secret_name} not found in namespace {namespace}")
    data = secret.get("data") or {}
    if not isinstance(data, dict) or not data:
        raise ProviderSetupError(f"{where}: Secret {secret_name} has no data (its keys are the header names)")
    if len(data) > MAX_HEADERS:
        raise ProviderSetupError(f"{where}: Secret {secret_name} has more than {MAX_HEADERS} keys")
    headers: dict[str, str] = {}
    for key, encoded in sorted(data.items()):
        try:
            headers[str(key)] = base64.b64decode(str(encoded), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise ProviderSetupError(f"{where}: Secret {secret_name} key {key} is not UTF-8 text") from None
    return headers


def provider_for(kube: Kube, namespace: str, analysis: AnalysisSpec, access: PrometheusAccess) -> MetricProvider:
    """The canary's Prometheus provider; raises ProviderSetupError (nothing is queried then)."""
    try:
        url = access.resolve(analysis.prometheus_url)
    except EndpointRefused as err:
        raise ProviderSetupError(str(err)) from None
    headers = _headers(kube, namespace, analysis.prometheus_headers_secret) \
        if analysis.prometheus_headers_secret else {}
    config = PrometheusConfig(url=url)
    try:
        config = dataclasses.replace(config, headers=MappingProxyType(headers),
                                     timeout=analysis.prometheus_timeout or config.timeout)
    except ValueError as err:
        # The message names a header (never its value) or the timeout.
        raise ProviderSetupError(f"{HEADERS_FIELD}: {str(err).removeprefix('prometheus provider: ')}") from None
    return PrometheusProvider(config)
