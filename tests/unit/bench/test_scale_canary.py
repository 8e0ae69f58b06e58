"""The canary scenario's objects are valid for the controllers that will read them: its CanaryRelease parses with
the canary controller's own parser (replicas router, 3 weight steps, one look per interval, the bench's policy),
and its MetricPolicy parses with the analysis' parser, keeping the library's http-error-rate queries with a
tolerance a few requests per look can clear."""

from __future__ import annotations

import yaml

from bench.scale.canary import POLICY, CanaryOptions, bench_policy, canary_release, web_release
from canary.analysis.policy import parse_policy
from canary.models import parse_spec
from tests.unit.deploy.manifests import REPO


def test_the_canary_release_parses_with_the_controllers_parser() -> None:
    copts = CanaryOptions(interval=10.0, step_seconds=60.0)
    body = canary_release("web007-canary", "web007", copts)
    spec = parse_spec(body["spec"])
    assert spec.release == "web007"
    assert [getattr(step, "weight", None) for step in spec.steps] == [10, 30, 60]
    assert spec.router.type == "replicas"
    assert spec.analysis is not None and spec.analysis.interval == 10.0
    assert [m.policy for m in spec.analysis.metrics] == [POLICY]
    assert web_release("web007")["spec"]["chart"]["values"]["replicas"] == 2


def test_the_bench_policy_keeps_the_library_queries_with_a_lenient_tolerance() -> None:
    policy = parse_policy(bench_policy("bench-current-canary"))
    library = next(doc for doc in yaml.safe_load_all((REPO / "policies" / "http.yaml").read_text())
                   if doc and doc["metadata"]["name"] == "http-error-rate")
    assert dict(policy.queries) == library["spec"]["queries"]
    assert policy.kind == "MetricPolicy" and policy.namespace == "bench-current-canary"
    assert (policy.allowed_absolute_increase, policy.confidence, policy.min_samples) == (0.3, 0.9, 20)
