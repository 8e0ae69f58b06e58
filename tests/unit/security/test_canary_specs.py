"""Nonsensical CanaryRelease specs and metric policies are refused (issue 11: F21, F20, F5 at parse time).

Pins down: weight steps that are all 0 or that decrease, a policy listed twice, a `progressDeadline` of
zero, a Prometheus `timeout` of zero or beyond 300 s, a `headersFrom` without a Secret name are
ParseErrors naming the field; policy files with `critical: "false"` (a string, which `bool()` reads as
true), `minSamples: 0`, non-boolean `removeOutliers` or non-finite numbers are PolicyErrors naming the
field; a Prometheus URL outside the controller's allow-list makes the spec invalid, naming
`spec.analysis.prometheus.url`; a `headersFrom` Secret that is missing, empty, binary or holds a bad
header is a ProviderSetupError naming the field and never quoting a value. Valid specs still parse.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from canary.analysis.policy import PolicyError, parse_policy
from canary.domain.readers import ParseError
from canary.kube.prometheus import ProviderSetupError, check_endpoint, provider_for
from canary.models import AnalysisSpec, parse_spec
from canary.providers import PrometheusProvider
from canary.providers.access import PrometheusAccess
from rudder.kube.client import Ref

SECRET = "s3cr3t-sentinel-7f1d"


def spec(**extra: Any) -> dict[str, Any]:
    return {"release": "shop", "steps": [{"weight": 10, "duration": "2m"}], **extra}


def analysis(**prometheus: Any) -> dict[str, Any]:
    return {"prometheus": prometheus, "metrics": [{"policy": "http-error-rate"}]}


BAD_SPECS = [
    (spec(steps=[{"weight": 0}]), "spec.steps", "every weight step has weight 0"),
    (spec(steps=[{"weight": 0}, {"pause": {}}, {"weight": 0, "duration": "1m"}]), "spec.steps",
     "every weight step has weight 0"),
    (spec(steps=[{"weight": 50}, {"weight": 10}]), "spec.steps[1].weight", "10 is lower than the previous"),
    (spec(steps=[{"weight": 10}, {"weight": 50}, {"pause": {}}, {"weight": 20}]), "spec.steps[3].weight",
     "20 is lower than the previous weight step's 50"),
    (spec(steps=[{"weight": 100}, {"weight": 0}]), "spec.steps[1].weight", "weights must not decrease"),
    (spec(progressDeadline="0s"), "spec.progressDeadline", "must be longer than 0s"),
    (spec(progressDeadline="0m0s"), "spec.progressDeadline", "must be longer than 0s"),
    (spec(progressDeadline="0.0h"), "spec.progressDeadline", "must be longer than 0s"),
    (spec(progressDeadline="0ms"), "spec.progressDeadline", "must be longer than 0s"),
    (spec(analysis={"metrics": [{"policy": "a"}, {"policy": "b"}, {"policy": "a"}]}),
     "spec.analysis.metrics[2].policy", "policy a is already listed at spec.analysis.metrics[0]"),
    (spec(analysis={"metrics": [{"policy": "a"}, {"policy": "a", "args": {"route": "/x"}}]}),
     "spec.analysis.metrics[1].policy", "already listed"),
    (spec(analysis=analysis(url="http://p:9090", timeout="0s")), "spec.analysis.prometheus.timeout",
     "must be longer than 0s and at most 300s"),
    (spec(analysis=analysis(url="http://p:9090", timeout="301s")), "spec.analysis.prometheus.timeout",
     "at most 300s"),
    (spec(analysis=analysis(url="http://p:9090", timeout="10")), "spec.analysis.prometheus.timeout",
     "invalid duration"),
    (spec(analysis=analysis(url="http://p:9090", timeout=10)), "spec.analysis.prometheus.timeout",
     "must be a duration string"),
    (spec(analysis=analysis(url="http://p:9090", headersFrom={})), "spec.analysis.prometheus.headersFrom.secretName",
     "is required"),
    (spec(analysis=analysis(url="http://p:9090", headersFrom="token")), "spec.analysis.prometheus.headersFrom",
     "must be a mapping"),
    (spec(analysis=analysis(url="http://p:9090", headersFrom={"secretName": 5})),
     "spec.analysis.prometheus.headersFrom.secretName", "must be a string"),
    (spec(analysis=analysis(url=["http://p"])), "spec.analysis.prometheus.url", "must be a string"),
]


@pytest.mark.corpus("models")
@pytest.mark.parametrize(("raw", "field", "problem"), BAD_SPECS)
def test_nonsensical_specs_are_refused_naming_the_field(raw: dict[str, Any], field: str, problem: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_spec(raw)
    assert caught.value.field == field
    assert problem in caught.value.problem
    assert str(caught.value).startswith(f"{field}: ")


@pytest.mark.parametrize("raw", [
    spec(steps=[{"pause": {}}]),
    spec(steps=[{"weight": 0}, {"weight": 10}, {"weight": 10}, {"pause": {}}, {"weight": 100}]),
    spec(progressDeadline="1s"),
    spec(analysis={"prometheus": {"url": "http://p:9090", "timeout": "300s", "headersFrom": {"secretName": "auth"}},
                   "metrics": [{"policy": "a"}, {"policy": "b"}]}),
])
def test_sensible_specs_still_parse(raw: dict[str, Any]) -> None:
    parsed = parse_spec(raw)
    if parsed.analysis is not None:
        assert (parsed.analysis.prometheus_timeout, parsed.analysis.prometheus_headers_secret) == (300.0, "auth")


def policy(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "rudder.dev/v1alpha1", "kind": "ClusterMetricPolicy", "metadata": {"name": "p"},
            "spec": {"type": "ratio", "test": "proportion", "queries": {"errors": "e", "total": "t"}, **fields}}


BAD_POLICIES = [
    ({"critical": "false"}, "spec.critical: expected true or false, got 'false'"),
    ({"critical": "true"}, "spec.critical: expected true or false, got 'true'"),
    ({"critical": "no"}, "spec.critical: expected true or false, got 'no'"),
    ({"critical": 0}, "spec.critical: expected true or false, got 0"),
    ({"critical": 1}, "spec.critical: expected true or false, got 1"),
    ({"critical": None}, "spec.critical: expected true or false, got None"),
    ({"critical": []}, "spec.critical: expected true or false, got []"),
    ({"removeOutliers": "false"}, "spec.removeOutliers: expected true or false, got 'false'"),
    ({"minSamples": 0}, "spec.minSamples: expected an integer >= 1, got 0"),
    ({"minSamples": -5}, "spec.minSamples: expected an integer >= 1, got -5"),
    ({"minSamples": True}, "spec.minSamples: expected an integer >= 1, got True"),
    ({"minSamples": 2.5}, "spec.minSamples: expected an integer >= 1, got 2.5"),
    ({"minSamples": "50"}, "spec.minSamples: expected an integer >= 1, got '50'"),
    ({"allowedIncrease": float("nan")}, "spec.allowedIncrease: expected a finite number, got nan"),
    ({"allowedIncrease": float("inf")}, "spec.allowedIncrease: expected a finite number, got inf"),
    ({"confidence": 10**400}, "spec.confidence: 10000000000000000000... is out of range"),
    ({"criticalIncrease": float("-inf")}, "spec.criticalIncrease: expected a finite number, got -inf"),
]


@pytest.mark.corpus("models")
@pytest.mark.parametrize(("fields", "message"), BAD_POLICIES)
def test_policy_fields_of_the_wrong_kind_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(policy(**fields))
    assert str(caught.value) == f"ClusterMetricPolicy p: {message}"


def test_real_booleans_and_counts_are_read_as_written() -> None:
    parsed = parse_policy(policy(critical=False, minSamples=1, removeOutliers=True))
    assert (parsed.critical, parsed.min_samples, parsed.remove_outliers) == (False, 1, True)


# -- the allow-list as a spec error, and headersFrom --------------------------------------------------

ACCESS = PrometheusAccess.from_flags("http://prometheus.monitoring.svc:9090", ["http://127.0.0.1:*"])


@pytest.mark.corpus("models")
@pytest.mark.parametrize(("url", "problem"), [
    ("http://169.254.169.254/", "http://169.254.169.254 is not on the controller's Prometheus allow-list"),
    ("http://kubernetes.default.svc", "http://kubernetes.default.svc is not on the controller's"),
    ("http://127.0.0.1:9@evil.example.com", "must not contain user info"),
])
def test_a_url_outside_the_allow_list_is_a_spec_error(url: str, problem: str) -> None:
    parsed = parse_spec(spec(analysis=analysis(url=url)))
    refused = check_endpoint(parsed.analysis, ACCESS)
    assert isinstance(refused, ParseError)
    assert refused.field == "spec.analysis.prometheus.url"
    assert problem in refused.problem


def test_allowed_and_default_urls_are_no_spec_error() -> None:
    for url in (None, "http://127.0.0.1:9090", "http://prometheus.monitoring.svc:9090"):
        assert check_endpoint(parse_spec(spec(analysis=analysis(url=url))).analysis, ACCESS) is None
    assert check_endpoint(None, PrometheusAccess()) is None


class _Secrets:
    """A Kube stand-in that holds Secrets only."""

    def __init__(self, **data: dict[str, str] | None) -> None:
        self.data = data
        self.reads: list[Ref] = []

    def get(self, ref: Ref) -> dict[str, Any] | None:
        self.reads.append(ref)
        found = self.data.get(ref.name, "absent")
        if found == "absent":
            return None
        return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": ref.name}, "data": found}


def _b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


HEADERS = "spec.analysis.prometheus.headersFrom"


@pytest.mark.corpus("models")
@pytest.mark.parametrize(("secrets", "message"), [
    ({}, f"{HEADERS}.secretName: Secret auth not found in namespace team-a"),
    ({"auth": None}, f"{HEADERS}.secretName: Secret auth has no data (its keys are the header names)"),
    ({"auth": {"Authorization": _b64(b"\xff\xfe" + SECRET.encode())}},
     f"{HEADERS}.secretName: Secret auth key Authorization is not UTF-8 text"),
    ({"auth": {"Authorization": "not base64!"}},
     f"{HEADERS}.secretName: Secret auth key Authorization is not UTF-8 text"),
    ({"auth": {"Authorization": _b64(f"Bearer {SECRET}\r\nX-Evil: 1")}},
     f"{HEADERS}: the value of header Authorization contains a line break"),
    ({"auth": {"bad header": _b64(SECRET)}}, f"{HEADERS}: 'bad header' is not a valid HTTP header name"),
    ({"auth": {f"h{i}": _b64(SECRET) for i in range(33)}}, f"{HEADERS}.secretName: Secret auth has more than 32 keys"),
])
def test_bad_header_secrets_are_named_without_their_values(secrets: dict[str, Any], message: str) -> None:
    parsed = AnalysisSpec(prometheus_url="http://127.0.0.1:9090", prometheus_headers_secret="auth")
    with pytest.raises(ProviderSetupError) as caught:
        provider_for(_Secrets(**secrets), "team-a", parsed, ACCESS)  # type: ignore[arg-type]
    assert str(caught.value) == message
    assert SECRET not in str(caught.value)


def test_header_secrets_are_read_in_the_canarys_namespace_and_become_headers() -> None:
    kube = _Secrets(auth={"Authorization": _b64(f"Bearer {SECRET}")})
    parsed = AnalysisSpec(prometheus_url="http://127.0.0.1:9090", prometheus_headers_secret="auth",
                          prometheus_timeout=2.5)
    provider = provider_for(kube, "team-a", parsed, ACCESS)  # type: ignore[arg-type]
    assert isinstance(provider, PrometheusProvider)
    assert dict(provider.config.headers) == {"Authorization": f"Bearer {SECRET}"}
    assert provider.config.timeout == 2.5
    assert kube.reads == [Ref("v1", "Secret", "auth", "team-a")]


@pytest.mark.corpus("models")
def test_a_refused_url_reads_no_secret_and_builds_no_provider() -> None:
    kube = _Secrets(auth={"Authorization": _b64(SECRET)})
    parsed = AnalysisSpec(prometheus_url="http://10.0.0.1:9090", prometheus_headers_secret="auth")
    with pytest.raises(ProviderSetupError, match=r"^spec.analysis.prometheus.url: http://10.0.0.1:9090 is not on"):
        provider_for(kube, "team-a", parsed, ACCESS)  # type: ignore[arg-type]
    assert kube.reads == []
