"""What an analysis outcome means for the canary, and when a step is due for analysis or complete.

- Pass: the step may complete once its duration has passed; the step's latest analysis must be a Pass.
- Fail: counted; more than `failureLimit` failures, or a failed critical metric, rolls back.
- Inconclusive / NoData: while the step has not held for its duration, keep holding (data accumulates over
  the step); after that, `onInconclusive` pause | rollback | extend (at most `maxExtensions` times per step,
  then pause).
- Error (the judge could not measure): never counted as a failure; more than CONSECUTIVE_ERROR_LIMIT errors
  in a row in this step pause, or roll back when `onInconclusive` is rollback.
None of them but Pass lets a step complete, so NoData, Inconclusive and Error can never lead to promotion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from canary.analysis.sequential import CanaryLooks
from canary.domain.actions import Action, RunAnalysis
from canary.domain.observed import AnalysisOutcome
from canary.domain.transitions import Ctx, pause, rollback
from canary.models import (
    ANALYSIS_HISTORY_LIMIT,
    CONSECUTIVE_ERROR_LIMIT,
    AnalysisSpec,
    CanaryStatus,
    OnInconclusive,
    Step,
    Verdict,
    WeightStep,
)


def fresh_outcome(ctx: Ctx, status: CanaryStatus) -> AnalysisOutcome | None:
    """The observed outcome if it belongs to this step and is not recorded yet (status is the only memory,
    so an outcome seen twice after a crash must not count twice)."""
    outcome = ctx.observed.analysis
    if outcome is None or outcome.record.step != status.step:
        return None
    record = replace(outcome.record, time=outcome.record.time.replace(microsecond=0))
    if status.last_analysis_at is not None and record.time <= status.last_analysis_at:
        return None
    return replace(outcome, record=record)


def judge(ctx: Ctx, status: CanaryStatus, outcome: AnalysisOutcome) -> CanaryStatus | list[Action]:
    """Record the outcome (bounded history, newest last) and act on it: a new status to keep holding, or
    the actions of a pause or rollback."""
    record = outcome.record
    status = replace(
        status,
        analysis=(*status.analysis, record)[-ANALYSIS_HISTORY_LIMIT:],
        verdict=record.verdict,
        last_analysis_at=record.time,
    )
    analysis = ctx.spec.analysis or AnalysisSpec()
    where = f"step {status.step + 1}/{len(ctx.spec.steps)} at {status.weight}%"
    detail = f": {outcome.message}" if outcome.message else ""
    if record.verdict is Verdict.FAIL:
        failures = status.failures + 1
        status = replace(status, failures=failures)
        message = f"analysis failed at {where} on metric {outcome.failed_metric or 'unknown'}{detail}"
        if outcome.critical or failures > analysis.failure_limit:
            return rollback(ctx, status, "AnalysisFailed", message, restore=False)
        return replace(status, message=f"{message} ({failures} of {analysis.failure_limit} tolerated)")
    if record.verdict in (Verdict.INCONCLUSIVE, Verdict.NO_DATA):
        message = f"analysis {record.verdict.value} at {where}{detail}"
        if _holding(ctx, status):
            # Data accumulates over the step: an early look without enough of it just waits for the next.
            return replace(status, message=f"{message}; gathering more data")
        return _inconclusive(ctx, status, analysis, message)
    if record.verdict is Verdict.ERROR:
        errors = errors_in_a_row(status)
        message = f"analysis could not measure at {where} ({errors} errors in a row){detail}"
        if errors <= CONSECUTIVE_ERROR_LIMIT:
            return replace(status, message=message)
        if analysis.on_inconclusive is OnInconclusive.ROLLBACK:
            return rollback(ctx, status, "AnalysisError", message, restore=False)
        return pause(ctx, status, "AnalysisError", message)
    return replace(status, message=f"analysis passed at {where}")


def _holding(ctx: Ctx, status: CanaryStatus) -> bool:
    """True while the current weight step has not yet held for its duration."""
    steps = ctx.spec.steps
    step = steps[status.step] if 0 <= status.step < len(steps) else None
    return isinstance(step, WeightStep) and ctx.since(status.step_started_at) < step.duration


def _inconclusive(ctx: Ctx, status: CanaryStatus, analysis: AnalysisSpec, message: str) -> CanaryStatus | list[Action]:
    if analysis.on_inconclusive is OnInconclusive.ROLLBACK:
        return rollback(ctx, status, "Inconclusive", message, restore=False)
    if analysis.on_inconclusive is OnInconclusive.PAUSE:
        return pause(ctx, status, "Inconclusive", message)
    extensions = status.extensions + 1
    status = replace(status, extensions=extensions)
    if extensions > analysis.max_extensions:
        return pause(ctx, status, "ExtensionsExhausted", f"{message}; already extended {analysis.max_extensions} times")
    return replace(status, message=f"{message}; step extended ({extensions}/{analysis.max_extensions})")


def errors_in_a_row(status: CanaryStatus) -> int:
    """Trailing Error verdicts of the current step (a resume restarts the step, and so the count)."""
    count = 0
    for record in reversed(status.analysis):
        if record.verdict is not Verdict.ERROR or not _in_step(status, record.step, record.time):
            break
        count += 1
    return count


def _in_step(status: CanaryStatus, step: int, time: datetime) -> bool:
    started = status.step_started_at
    return step == status.step and started is not None and time >= started


def run_analysis(ctx: Ctx, status: CanaryStatus, step: WeightStep, analysis: AnalysisSpec) -> RunAnalysis:
    """The analysis of the step so far, numbered as a look of the canary's one sequential test."""
    since = status.step_started_at or ctx.now
    look = canary_looks(ctx.spec.steps, analysis).look_at(_weight_ordinal(ctx.spec.steps, status.step),
                                                          ctx.since(since), analysis.interval)
    return RunAnalysis(status.step, status.weight, since, ctx.now, look=look, previous=status.last_analysis_at)


def canary_looks(steps: Sequence[Step], analysis: AnalysisSpec) -> CanaryLooks:
    """The canary's alpha budget: every weight step's planned looks, in order (pause steps have none)."""
    return CanaryLooks.of([s.duration for s in steps if isinstance(s, WeightStep)], analysis.interval)


def _weight_ordinal(steps: Sequence[Step], index: int) -> int:
    """Position of step `index` among the weight steps."""
    return sum(1 for s in steps[:index] if isinstance(s, WeightStep))


def analysis_due(ctx: Ctx, status: CanaryStatus, analysis: AnalysisSpec) -> bool:
    return ctx.since(_last_analysis(ctx, status)) >= analysis.interval


def _last_analysis(ctx: Ctx, status: CanaryStatus) -> datetime:
    start = status.step_started_at or ctx.now
    last = status.last_analysis_at
    return max(start, last) if last is not None else start


def step_done(ctx: Ctx, status: CanaryStatus, step: WeightStep) -> bool:
    """The step held for its duration and, with analysis, the step's latest analysis is a Pass."""
    if ctx.since(status.step_started_at) < step.duration:
        return False
    if ctx.spec.analysis is None:
        return True
    last = status.analysis[-1] if status.analysis else None
    return last is not None and last.verdict is Verdict.PASS and _in_step(status, last.step, last.time)
