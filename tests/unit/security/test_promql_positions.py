"""Bad input to metric queries and the Prometheus provider (issue 11: F5, F15, F20, F24).

Pins down: a value rendered outside a quoted string holds only what its spot may (a duration in a range
or after `offset`, a label name in a matcher or a `by (...)` list, a metric name where glued to a
name, a number elsewhere) and `bool`, `or`, another metric after `>` are refused with a RenderError
naming the expression and the spot; values in `=~`/`!~` strings are regex-escaped (the controller's own
`pod_regex` excepted); a 200 answer that is not the API's shape, and any exception a provider raises,
is an Error measurement, never an exception; a non-200 answer's body never reaches the message, and
redirects are not followed; `headersFrom` headers reach the server, and their values appear in no
message; the Prometheus allow-list compares parsed URLs and refuses user info, queries, dot segments,
percent-escapes and anything outside it, naming `spec.analysis.prometheus.url`.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pytest

from canary.analysis import MeasurementStatus
from canary.analysis.promql import QueryContext, RenderError, Track, regex_escape, render_query
from canary.providers import PrometheusConfig, PrometheusProvider, ProviderError, RetryPolicy, measure
from canary.providers.access import AllowEntry, EndpointRefused, PrometheusAccess
from canary.providers.prometheus import parse_result
from tests.support.loopback import serve

SECRET = "s3cr3t-sentinel-7f1d"


def _context(**args: object) -> QueryContext:
    return QueryContext(namespace="prod", workload="web", track=Track.CANARY, pod_regex="web-canary-.*",
                        interval="5m", args=args)


# -- bare positions (F24) ---------------------------------------------------------------------------

REFUSED = [
    ("x[{{ args.v }}]", "bool", "a duration"),
    ("x[{{ args.v }}]", "1", "a duration"),
    ("x[{{ args.v }}]", "0.5", "a duration"),
    ("x[{{ args.v }}]", "http_requests_total", "a duration"),
    ("x[{{ args.v }}]", "5m] or up[5m", "a duration"),
    ("x[{{ args.v }}:1m]", "5m:1m] or up[5m", "a duration"),
    ("x offset {{ args.v }}", "kube_secret_info", "a duration"),
    ("x > {{ args.v }}", "kube_secret_info", "a number"),
    ("x > {{ args.v }} x", "bool", "a number"),
    ("x > {{ args.v }}", "Inf", "a number"),
    ("x > {{ args.v }}", "NaN", "a number"),
    ("x > {{ args.v }}", "1 or vector(1)", "a number"),
    ("x > {{ args.v }}", "0x10", "a number"),
    ("x > {{ args.v }}", "1" * 65, "a number"),
    ("x > {{ args.v }}", "\u0663", "a number"),
    ("topk({{ args.v }}, x)", "up", "a number"),
    ("x @ {{ args.v }}", "start()", "a number"),
    ("x @ {{ args.v }}", "5m", "a number"),
    ("histogram_quantile({{ args.v }}, x)", "0.9) or (up", "a number"),
    ("sum by ({{ args.v }}) (x)", "le) or (up", "a label name"),
    ("sum by ({{ args.v }}) (x)", "on", "a label name"),
    ("sum without ({{ args.v }}) (x)", "__name__, 1", "a label name"),
    ("x * on({{ args.v }}) y", "pod) or on(x", "a label name"),
    ('up{ {{ args.v }}="a"}', "bool", "a label name"),
    ('up{ {{ args.v }}="a"}', 'a="b",c', "a label name"),
    ('up{ {{ args.v }}="a"}', "job:x", "a label name"),
    ('{{ args.v }}{job="a"}', "bool", "a metric name"),
    ('{{ args.v }}{job="a"}', "or", "a metric name"),
    ('{{ args.v }}{job="a"}', "up{} or x", "a metric name"),
    ("prefix_{{ args.v }}", "x or up", "a metric name"),
    ("up # {{ args.v }}", "x\nor vector(1)", "text without line breaks"),
]


@pytest.mark.corpus("promql")
@pytest.mark.parametrize(("template", "value", "needed"), REFUSED)
def test_bare_values_outside_their_position_are_refused(template: str, value: str, needed: str) -> None:
    with pytest.raises(RenderError) as caught:
        render_query(template, _context(v=value), "errors")
    message = str(caught.value)
    assert message.startswith("query 'errors': {{ args.v }} is rendered outside a quoted string, where it must be")
    assert needed in message


ALLOWED = [
    ("x[{{ args.v }}]", "90s"),
    ("x[{{ args.v }}:30s]", "1h30m"),
    ("x offset {{ args.v }}", "-5m"),
    ("x > {{ args.v }}", "0.25"),
    ("x @ {{ args.v }}", "1700000000"),
    ("sum by ({{ args.v }}) (x)", "le, pod"),
    ('up{ {{ args.v }}="a"}', "route"),
    ('{{ args.v }}{job="a"}', "http_requests_total"),
]


@pytest.mark.corpus("promql")
@pytest.mark.parametrize(("template", "value"), ALLOWED)
def test_bare_values_in_their_position_render_as_written(template: str, value: str) -> None:
    assert render_query(template, _context(v=value)) == template.replace("{{ args.v }}", value)


# -- regex matchers (F24) ---------------------------------------------------------------------------


def _literal(query: str) -> str:
    body = re.search(r'"((?:[^"\\]|\\.)*)"', query)
    assert body is not None
    return str(ast.literal_eval(f'"{body.group(1)}"'))


@pytest.mark.corpus("promql")
@pytest.mark.parametrize("value", [".*", "a|b", "prod.*|kube-system", "(x)+", "[a-z]", "^a$", "a{1,3}", "\\d", "x?"])
@pytest.mark.parametrize("operator", ["=~", "!~"])
def test_regex_matcher_values_match_only_themselves(value: str, operator: str) -> None:
    query = render_query(f'up{{route{operator}"{{{{ args.v }}}}"}}', _context(v=value))
    pattern = _literal(query)
    assert pattern == regex_escape(value)
    assert re.fullmatch(pattern, value)
    assert not re.fullmatch(pattern, value + "x") and not re.fullmatch(pattern, "kube-system")


def test_the_controllers_pod_regex_stays_a_regex_and_plain_matchers_are_not_regex_escaped() -> None:
    assert render_query('up{pod=~"{{ pod_regex }}", ns="{{ args.v }}"}', _context(v="a.b")) == \
        'up{pod=~"web-canary-.*", ns="a.b"}'


# -- answers that are not the API's shape (F15) -----------------------------------------------------

BAD_BODIES: list[Any] = [
    {"status": "success"},
    {"status": "success", "data": {}},
    {"status": "success", "data": {"resultType": "vector"}},
    {"status": "success", "data": {"resultType": "vector", "result": None}},
    {"status": "success", "data": {"resultType": "vector", "result": "x"}},
    {"status": "success", "data": {"resultType": "vector", "result": [1, 2, 3]}},
    {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1]}]}},
    {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1, {"a": 1}]}]}},
    {"status": "success", "data": {"resultType": "vector", "result": [{"metric": "x", "value": [1, "1"]}]}},
    {"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}}]}},
    {"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": [[1]]}]}},
    {"status": "success", "data": {"resultType": "scalar", "result": "1"}},
    {"status": "success", "data": {"resultType": "histogram", "result": []}},
    {"status": "error", "error": SECRET},
    [],
    "success",
    None,
]


@pytest.mark.corpus("promql")
@pytest.mark.parametrize("body", BAD_BODIES)
def test_answers_of_the_wrong_shape_are_provider_errors(body: Any) -> None:
    with pytest.raises(ProviderError) as caught:
        parse_result(body)
    assert str(caught.value).startswith("prometheus: unexpected response: ")
    assert SECRET not in str(caught.value)
    assert caught.value.transient is False


class _Broken:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def query(self, query: str, window: object = None) -> np.ndarray:
        raise self.error

    def is_online(self) -> bool:
        return True


@pytest.mark.corpus("promql")
@pytest.mark.parametrize("error", [KeyError(SECRET), TypeError(SECRET), ValueError(SECRET), IndexError(SECRET),
                                   AttributeError(SECRET), OverflowError(SECRET), RecursionError(SECRET)])
def test_any_exception_from_a_provider_is_an_error_measurement(error: Exception) -> None:
    measurement = measure(_Broken(error), "up", retry=RetryPolicy(attempts=1))
    assert measurement.status is MeasurementStatus.ERROR
    assert measurement.message == f"provider failed: {type(error).__name__} (after 1 attempt(s))"


# -- the HTTP side: bodies, redirects and headers (F5, F20) ------------------------------------------


class _Server(BaseHTTPRequestHandler):
    answers: ClassVar[list[tuple[int, bytes, dict[str, str]]]] = []
    seen: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        self.seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
        status, body, headers = self.answers.pop(0) if self.answers else (200, b"{}", {})
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[str]:
    _Server.answers, _Server.seen = [], []
    with serve(_Server) as url:
        yield url


@pytest.mark.corpus("promql")
@pytest.mark.parametrize(("status", "body", "message"), [
    (503, SECRET.encode() * 40, "prometheus: Prometheus answered HTTP 503 (after 1 attempt(s))"),
    (500, json.dumps({"status": "error", "error": SECRET}).encode(),
     "prometheus: Prometheus answered HTTP 500 (after 1 attempt(s))"),
    (404, f"<html>{SECRET}</html>".encode(), "prometheus: Prometheus answered HTTP 404 (after 1 attempt(s))"),
    (401, SECRET.encode(), "prometheus: Prometheus answered HTTP 401 (after 1 attempt(s))"),
    (400, json.dumps({"status": "error", "errorType": "bad_data", "error": SECRET}).encode(),
     "prometheus: Prometheus answered HTTP 400 (bad_data) (after 1 attempt(s))"),
    (422, json.dumps({"status": "error", "errorType": f"x {SECRET}", "error": SECRET}).encode(),
     "prometheus: Prometheus answered HTTP 422 (after 1 attempt(s))"),
    (200, f"not json {SECRET}".encode(), "prometheus: unexpected response: the body is not JSON (after 1 attempt(s))"),
    (200, json.dumps({"status": "success", "data": {"resultType": "vector"}, "x": SECRET}).encode(),
     "prometheus: unexpected response: no data.result (after 1 attempt(s))"),
])
def test_no_response_body_reaches_a_message(server: str, status: int, body: bytes, message: str) -> None:
    _Server.answers = [(status, body, {"Content-Type": "application/json"})]
    measurement = measure(PrometheusProvider(PrometheusConfig(url=server)), "up", retry=RetryPolicy(attempts=1))
    assert measurement.status is MeasurementStatus.ERROR
    assert measurement.message == message


@pytest.mark.corpus("promql")
def test_redirects_are_not_followed(server: str) -> None:
    _Server.answers = [(302, b"", {"Location": f"{server}/elsewhere"})]
    measurement = measure(PrometheusProvider(PrometheusConfig(url=server)), "up", retry=RetryPolicy(attempts=1))
    assert measurement.message == "prometheus: Prometheus answered HTTP 302 (after 1 attempt(s))"
    assert [s["path"].split("?")[0] for s in _Server.seen] == ["/api/v1/query"]


@pytest.mark.corpus("promql")
def test_an_answer_larger_than_the_bound_is_an_error(server: str) -> None:
    big = json.dumps({"status": "success", "data": {"resultType": "vector", "result": [], "pad": "x" * 5000}})
    _Server.answers = [(200, big.encode(), {})]
    provider = PrometheusProvider(PrometheusConfig(url=server, max_response_bytes=1000))
    measurement = measure(provider, "up", retry=RetryPolicy(attempts=1))
    assert measurement.message == "prometheus: the answer is larger than 1000 bytes (after 1 attempt(s))"


def test_headers_reach_the_server_and_never_a_message(server: str) -> None:
    headers = MappingProxyType({"Authorization": f"Bearer {SECRET}", "X-Scope-OrgID": "team-a"})
    _Server.answers = [(200, json.dumps({"status": "success", "data": {"resultType": "vector", "result": []}})
                        .encode(), {}), (503, b"", {})]
    provider = PrometheusProvider(PrometheusConfig(url=server, headers=headers))
    assert measure(provider, "up").status is MeasurementStatus.NO_DATA
    assert _Server.seen[0]["authorization"] == f"Bearer {SECRET}"
    assert _Server.seen[0]["x-scope-orgid"] == "team-a"
    failed = measure(provider, "up", retry=RetryPolicy(attempts=1))
    assert SECRET not in failed.message


@pytest.mark.corpus("promql")
@pytest.mark.parametrize(("name", "value", "message"), [
    ("Authorization", f"Bearer {SECRET}\r\nX-Evil: 1", "the value of header Authorization contains a line break"),
    ("Bad Header", SECRET, "'Bad Header' is not a valid HTTP header name"),
    ("X:Y", SECRET, "'X:Y' is not a valid HTTP header name"),
    ("", SECRET, "'' is not a valid HTTP header name"),
])
def test_bad_headers_are_refused_without_their_value(name: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"^prometheus provider: ") as caught:
        PrometheusConfig(url="http://p:9090", headers=MappingProxyType({name: value}))
    assert str(caught.value) == f"prometheus provider: {message}"
    assert SECRET not in str(caught.value)


# -- the allow-list (F5) ----------------------------------------------------------------------------

ACCESS = PrometheusAccess.from_flags("http://prometheus.monitoring.svc:9090", [
    "https://thanos.example.com/prometheus", "http://127.0.0.1:*", "metrics.internal:8080"])

REFUSED_URLS = [
    ("http://169.254.169.254/latest/meta-data", "is not on the controller's Prometheus allow-list"),
    ("http://kubernetes.default.svc:443", "is not on the controller's Prometheus allow-list"),
    ("http://prometheus.monitoring.svc:9091", "is not on the controller's Prometheus allow-list"),
    ("https://prometheus.monitoring.svc:9090", "is not on the controller's Prometheus allow-list"),
    ("http://prometheus.monitoring.svc.evil.com:9090", "is not on the controller's Prometheus allow-list"),
    ("http://thanos.example.com/prometheus", "is not on the controller's Prometheus allow-list"),
    ("https://thanos.example.com/prometheus-admin", "is not on the controller's Prometheus allow-list"),
    ("https://thanos.example.com/", "is not on the controller's Prometheus allow-list"),
    ("http://127.0.0.2:9090", "is not on the controller's Prometheus allow-list"),
    ("http://localhost:9090", "is not on the controller's Prometheus allow-list"),
    ("http://2130706433:9090", "is not on the controller's Prometheus allow-list"),
    ("http://prometheus.monitoring.svc:9090@169.254.169.254/", "must not contain user info"),
    ("http://u:p@prometheus.monitoring.svc:9090", "must not contain user info"),
    ("https://thanos.example.com/prometheus/../admin", "is not a plain name"),
    ("https://thanos.example.com/prometheus/%2e%2e/admin", "percent-escape"),
    ("http://prometheus.monitoring.svc:9090/?x=1", "must not contain a query string"),
    ("http://prometheus.monitoring.svc:9090#frag", "must not contain a query string or a fragment"),
    ("http://prometheus.monitoring.svc:9090\r\nHost: x", "control or non-ASCII"),
    ("http://prometheus.monitoring.svc:99999", "is not a valid URL"),
    ("file:///etc/passwd", "must start with http:// or https://"),
    ("gopher://prometheus.monitoring.svc:9090", "must start with http:// or https://"),
    ("http://", "has no valid host"),
    ("http://pr\u043emetheus.monitoring.svc:9090", "non-ASCII"),
    ("http:\\\\prometheus.monitoring.svc:9090", "backslash"),
]


@pytest.mark.corpus("promql")
@pytest.mark.parametrize(("url", "problem"), REFUSED_URLS)
def test_urls_outside_the_allow_list_are_refused_naming_the_field(url: str, problem: str) -> None:
    with pytest.raises(EndpointRefused) as caught:
        ACCESS.resolve(url)
    assert str(caught.value).startswith("spec.analysis.prometheus.url: ")
    assert problem in str(caught.value)


@pytest.mark.parametrize(("url", "resolved"), [
    (None, "http://prometheus.monitoring.svc:9090"),
    ("http://Prometheus.Monitoring.svc:9090/", "http://prometheus.monitoring.svc:9090"),
    ("https://thanos.example.com/prometheus/tenant-a", "https://thanos.example.com/prometheus/tenant-a"),
    ("http://127.0.0.1:41234", "http://127.0.0.1:41234"),
    ("https://metrics.internal:8080/x", "https://metrics.internal:8080/x"),
])
def test_urls_on_the_allow_list_resolve(url: str | None, resolved: str) -> None:
    assert ACCESS.resolve(url) == resolved


@pytest.mark.corpus("promql")
def test_without_flags_nothing_is_allowed() -> None:
    with pytest.raises(EndpointRefused, match=r"^spec.analysis.prometheus.url: required, because the controller "
                                              r"has no default \(--prometheus-url\)$"):
        PrometheusAccess().resolve(None)
    with pytest.raises(EndpointRefused, match="not on the controller's Prometheus allow-list"):
        PrometheusAccess().resolve("http://prometheus:9090")


@pytest.mark.corpus("promql")
@pytest.mark.parametrize(("entry", "problem"), [
    ("ftp://x", "must start with http:// or https://"),
    ("http://user@x", "must not contain user info"),
    ("x:70000", "port out of range"),
    ("http://x/a/../b", "not a plain name"),
    ("http://x?y", "query string"),
])
def test_bad_allow_entries_are_refused_at_startup(entry: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        AllowEntry.parse(entry)
