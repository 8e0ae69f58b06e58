"""Statistical judge and metric policies: pure functions, numpy only (no scipy at run time).

Entry points for the CanaryRelease controller
==============================================

1. Parse policies once::

       policy = parse_policy(obj)                      # MetricPolicy | ClusterMetricPolicy dict
       policies = load_policies("policies/")           # a YAML file or a directory

2. Render each policy's queries for each side (strict; label values escaped)::

       ctx = QueryContext(namespace="prod", workload="web", track=Track.CANARY,
                          pod_regex="web-canary-.*", interval="1m", args={"route": "/checkout"})
       queries = render_queries(policy.queries, ctx)   # {"errors": "...", "total": "..."}

3. Measure them with a provider (``canary.providers``): each query gives a
   ``Measurement`` (values, NoData or Error; provider errors never raise into the judge)::

       canary = Observation.of(errors=measure(provider, queries["errors"]), total=...)

4. Evaluate and judge one analysis (one look)::

       evidence = [evaluate_metric(policy, canary_obs, baseline_obs) for ...]   # or evaluate_metrics([...])
       result = judge_analysis(evidence, look=Look(number=3, planned=10), critical=[False, True])
       result.verdict              # Verdict.PASS | FAIL | INCONCLUSIVE | NO_DATA | ERROR
       result.critical_failure     # a critical metric failed: abort now
       result.score                # Kayenta-style weighted score, 0..100
       result.to_status()          # {"verdict": ..., "metrics": [{name, verdict, canary, baseline,
                                   #   pValue, ciLow, ciHigh, effect, samples, query, message}]}
       result.metrics[0].to_dict() # the full explanation (classification, estimate, alpha, ...)

   ``Look(number, planned)`` carries the alpha-spending state: look ``number`` of
   ``planned`` is tested at its share of each policy's alpha, so judging every
   interval does not inflate false rollbacks.  The controller numbers looks across
   the whole canary with ``CanaryLooks`` (one budget for all steps and extensions).
   ``judge_metric(evidence)`` judges a single metric at the full alpha (the offline
   ``kubectl canary judge``).  The decision rules (one-sided tests, the effect gate,
   non-inferiority for a Pass, intervals at the look's level) are in
   ``canary.analysis.decision``.

Lower-level statistics (all pure, all tested against scipy or R): ``rank_sum_test``,
``hodges_lehmann``, ``two_proportion_test``, ``compare_quantiles`` /
``histogram_quantile``, ``check_threshold``, ``holm_adjust``, ``SequentialPlan``,
``proportion_samples_needed`` / ``rank_sum_samples_needed``, and Kayenta's
``classify`` / ``weighted_score`` in ``canary.analysis.kayenta``.
"""

from canary.analysis.evidence import MetricEvidence, evaluate_metric, evaluate_metrics
from canary.analysis.histograms import Histogram, compare_quantiles, histogram_quantile
from canary.analysis.hodges_lehmann import ShiftInterval, hodges_lehmann
from canary.analysis.holm import holm_adjust
from canary.analysis.judge import AnalysisResult, MetricResult, judge_analysis, judge_metric
from canary.analysis.measurements import Measurement, MeasurementStatus, Observation
from canary.analysis.policy import (
    MetricPolicy,
    MetricType,
    PolicyError,
    TestKind,
    load_policies,
    parse_policy,
)
from canary.analysis.promql import QueryContext, RenderError, Track, render_queries, render_query
from canary.analysis.proportions import ProportionTest, two_proportion_test
from canary.analysis.ranksum import RankSumTest, rank_sum_test, sort_samples
from canary.analysis.sequential import CanaryLooks, Look, SequentialPlan, SpendingFunction
from canary.analysis.threshold import Threshold, check_threshold
from canary.analysis.verdicts import Classification, Direction, Verdict

__all__ = [
    "AnalysisResult",
    "CanaryLooks",
    "Classification",
    "Direction",
    "Histogram",
    "Look",
    "Measurement",
    "MeasurementStatus",
    "MetricEvidence",
    "MetricPolicy",
    "MetricResult",
    "MetricType",
    "Observation",
    "PolicyError",
    "ProportionTest",
    "QueryContext",
    "RankSumTest",
    "RenderError",
    "SequentialPlan",
    "ShiftInterval",
    "SpendingFunction",
    "TestKind",
    "Threshold",
    "Track",
    "Verdict",
    "check_threshold",
    "compare_quantiles",
    "evaluate_metric",
    "evaluate_metrics",
    "histogram_quantile",
    "hodges_lehmann",
    "holm_adjust",
    "judge_analysis",
    "judge_metric",
    "load_policies",
    "parse_policy",
    "rank_sum_test",
    "render_queries",
    "render_query",
    "sort_samples",
    "two_proportion_test",
]
