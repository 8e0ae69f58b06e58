"""``kubectl canary judge``: replay recorded data through the controller's judge, offline.

SREs calibrate a policy before trusting it with rollbacks: record canary and
baseline data, run them through exactly the code the controller runs, and read
the verdict with every number behind it.

Input files by policy type:

* distribution (mann-whitney): one number per line (blank lines and ``#`` comments
  ignored, ``NaN`` allowed) or a JSON array;
* ratio: JSON ``{"errors": E, "total": N}``;
* distribution (quantile): JSON ``{"buckets": {"0.1": 12, ..., "+Inf": 40}}``
  (cumulative counts by ``le``);
* threshold: the canary's value(s) as for distributions; no baseline needed.

``--policy`` is a file (``policy.yaml``, or ``file.yaml:name`` to pick one of
several), or a policy name looked up in ``--policy-dir`` directories, then
``$RUDDER_POLICY_PATH``, then the bundled ``policies/`` library.

Exit codes: 0 Pass, 1 High or Low (a regression in the policy's bad direction),
2 invalid input (policy or file), 3 no verdict (NoData, Error, or Inconclusive:
fewer samples than the policy's ``minSamples``, or data that do not yet exclude
the tolerated regression).  The output says what decided: the one-sided p-value,
the interval's level and the one-sided bounds against the tolerated change.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from canary.analysis import (
    Measurement,
    MetricPolicy,
    MetricResult,
    MetricType,
    Observation,
    PolicyError,
    TestKind,
    evaluate_metric,
    judge_metric,
    load_policies,
)
from canary.analysis.verdicts import Classification, Verdict

EXIT_PASS, EXIT_REGRESSION, EXIT_INVALID, EXIT_NO_VERDICT = 0, 1, 2, 3
BUNDLED_POLICIES = Path(__file__).resolve().parents[2] / "policies"


class InputError(ValueError):
    """A policy or data file could not be used; the message says which and why."""


@dataclass(frozen=True)
class JudgeArgs:
    policy: str
    canary: Path
    baseline: Path | None = None
    confidence: float | None = None
    policy_dirs: tuple[Path, ...] = field(default=())


def _search_path(extra: Sequence[Path]) -> list[Path]:
    paths = list(extra)
    paths += [Path(p) for p in os.environ.get("RUDDER_POLICY_PATH", "").split(os.pathsep) if p]
    if BUNDLED_POLICIES.is_dir():
        paths.append(BUNDLED_POLICIES)
    return paths


def resolve_policy(reference: str, policy_dirs: Sequence[Path] = ()) -> MetricPolicy:
    """A policy from ``file``, ``file:name`` or a name on the search path."""
    file_part, _, name = reference.rpartition(":") if ":" in reference else (reference, "", "")
    if not file_part:
        file_part, name = reference, ""
    path = Path(file_part)
    if path.is_file():
        policies = load_policies(path)
        if name:
            chosen = [p for p in policies if p.name == name]
            if not chosen:
                raise InputError(f"{path} has no policy named {name!r} (it has {', '.join(p.name for p in policies)})")
            return chosen[0]
        if len(policies) != 1:
            names = ", ".join(p.name for p in policies)
            raise InputError(f"{path} holds {len(policies)} policies ({names}); pick one with {path}:NAME")
        return policies[0]
    for directory in _search_path(policy_dirs):
        for policy in load_policies(directory) if directory.is_dir() else []:
            if policy.name == reference:
                return policy
    searched = ", ".join(map(str, _search_path(policy_dirs)))
    raise InputError(f"no policy file or policy named {reference!r} (searched {searched})")


def _read_json_or_lines(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file (not UTF-8)") from None
    stripped = text.strip()
    if stripped.startswith(("[", "{")):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as error:
            raise InputError(f"{path}: invalid JSON: {error}") from None
        except (ValueError, RecursionError):  # an integer of thousands of digits, or nesting too deep
            raise InputError(f"{path}: invalid JSON: a number too long or nesting too deep") from None
    values = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        try:
            value = float(content)
        except ValueError:
            raise InputError(f"{path}:{number}: not a number: {content[:40]!r}") from None
        if math.isinf(value):  # NaN is a documented "missing sample"; an infinite sample is nonsense
            raise InputError(f"{path}:{number}: not a finite number: {content[:40]!r}")
        values.append(value)
    return values


def _numbers(path: Path) -> Measurement:
    data = _read_json_or_lines(path)
    if not isinstance(data, list) or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in data):
        raise InputError(f"{path}: expected numbers, one per line or a JSON array")
    try:
        values = np.asarray([float(v) for v in data], dtype=np.float64)
    except OverflowError:
        raise InputError(f"{path}: a number is beyond a float's range") from None
    if np.isinf(values).any():
        raise InputError(f"{path}: expected finite numbers (NaN marks a missing sample)")
    return Measurement.of(values, str(path))


def _count(data: dict[str, Any], key: str, path: Path) -> float:
    """A recorded count: a finite, non-negative whole number (JSON `true` or "12" is not one)."""
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{path}: {key} must be a number, not {json.dumps(value)[:40]}")
    try:
        number = float(value)
    except OverflowError:
        raise InputError(f"{path}: {key} is beyond a float's range") from None
    if not math.isfinite(number) or number < 0 or number != math.floor(number):
        raise InputError(f"{path}: {key} must be a whole number >= 0, not {str(value)[:40]}")
    return number


def _ratio(path: Path) -> Observation:
    data = _read_json_or_lines(path)
    if not isinstance(data, dict) or not {"errors", "total"} <= data.keys():
        raise InputError(f'{path}: expected JSON {{"errors": E, "total": N}}')
    errors, total = _count(data, "errors", path), _count(data, "total", path)
    if errors > total:
        raise InputError(f"{path}: errors ({errors:g}) cannot exceed total ({total:g})")
    return Observation.of(errors=Measurement.of([errors], str(path)), total=Measurement.of([total], str(path)))


def _buckets(path: Path) -> Observation:
    data = _read_json_or_lines(path)
    buckets = data.get("buckets") if isinstance(data, dict) else None
    if not isinstance(buckets, dict) or not buckets:
        raise InputError(f'{path}: expected JSON {{"buckets": {{"le": cumulative count, ...}}}}')
    for le, count in buckets.items():
        try:
            float(le)  # "0.1", "+Inf"
        except ValueError:
            raise InputError(f"{path}: bucket bound {str(le)[:40]!r} is not a number") from None
        if isinstance(count, bool) or not isinstance(count, int | float) or not math.isfinite(float(count)) \
                or count < 0:
            raise InputError(f"{path}: bucket {str(le)[:40]} must have a finite count >= 0")
    labels = tuple({"le": str(le)} for le in buckets)
    values = np.asarray([float(v) for v in buckets.values()], dtype=np.float64)
    measurement = Measurement.of(values, str(path))
    return Observation.of(buckets=replace(measurement, labels=labels))


def _observation(policy: MetricPolicy, path: Path) -> Observation:
    if policy.type is MetricType.RATIO:
        return _ratio(path)
    if policy.test is TestKind.QUANTILE:
        return _buckets(path)
    name = "value" if policy.type is MetricType.THRESHOLD else "samples"
    return Observation.of(**{name: _numbers(path)})


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def report(result: MetricResult) -> dict[str, Any]:
    """The contract's output keys, then the full explanation."""
    e = result.evidence
    details = result.to_dict()
    out: dict[str, Any] = {
        "verdict": result.classification.value,
        "pValue": _finite(e.p_value),
        "estimate": details["estimate"],
        "ciLow": details["ciLow"],
        "ciHigh": details["ciHigh"],
        "baselineMean": _finite(e.baseline),
        "canaryMean": _finite(e.canary),
        "effect": _finite(e.effect),
        "samples": {"baseline": e.baseline_samples, "canary": e.canary_samples},
    }
    out.update(
        policy=e.policy.name,
        type=e.policy.type.value,
        test=e.policy.test.value,
        confidence=e.policy.confidence,
        canaryVerdict=result.verdict.value,
        reason=result.reason,
        cles=details["cles"],
        alpha=details["alpha"],
        # What decided: the one-sided p-value, the interval's level, the one-sided bounds
        # of the relevance measure against the tolerated change (see docs/analysis.md).
        decisionPValue=details["decisionPValue"],
        intervalConfidence=details["intervalConfidence"],
        boundsOf=details["boundsOf"],
        boundLow=details["boundLow"],
        boundHigh=details["boundHigh"],
        toleratedUp=details["toleratedUp"],
        toleratedDown=details["toleratedDown"],
        samplesNeeded=details["samplesNeeded"],
        effectInfinite=details["effectInfinite"],
    )
    return out


def exit_code(result: MetricResult) -> int:
    if result.classification in (Classification.HIGH, Classification.LOW):
        return EXIT_REGRESSION
    if result.classification is Classification.PASS and result.verdict is not Verdict.INCONCLUSIVE:
        return EXIT_PASS
    return EXIT_NO_VERDICT


def judge(args: JudgeArgs) -> tuple[int, dict[str, Any]]:
    """Judge recorded data; returns the exit code and a JSON-able result (or an error)."""
    try:
        policy = resolve_policy(args.policy, args.policy_dirs)
        if args.confidence is not None:
            if not 0.0 < args.confidence < 1.0:
                raise InputError(f"--confidence {args.confidence} outside (0, 1)")
            policy = replace(policy, confidence=args.confidence)
        canary = _observation(policy, args.canary)
        if args.baseline is None:
            if policy.type is not MetricType.THRESHOLD:
                raise InputError(f"policy {policy.name} ({policy.type.value}) needs --baseline")
            baseline = Observation.of()
        else:
            baseline = _observation(policy, args.baseline)
    except (InputError, PolicyError) as error:
        return EXIT_INVALID, {"error": str(error)}
    except UnicodeDecodeError:
        return EXIT_INVALID, {"error": f"policy {args.policy}: not a text file (not UTF-8)"}
    except OSError as error:
        return EXIT_INVALID, {"error": f"policy {args.policy}: {error.strerror or error}"}
    result = judge_metric(evaluate_metric(policy, canary, baseline))
    return exit_code(result), report(result)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "judge",
        help="judge recorded canary and baseline data offline with a metric policy",
        description=(__doc__ or "").split("\n\n")[0],
    )
    parser.add_argument("--policy", required=True, help="policy file, FILE:NAME, or policy name")
    parser.add_argument("--canary", required=True, type=Path, help="the canary's recorded data")
    parser.add_argument("--baseline", type=Path, help="the baseline's recorded data")
    parser.add_argument("--confidence", type=float, help="override the policy's confidence (e.g. 0.98)")
    parser.add_argument("--policy-dir", action="append", default=[], type=Path, help="where to look up policy names")
    parser.add_argument("-o", "--output", choices=("json", "yaml"), default="json")
    parser.set_defaults(handler=run)


def run(namespace: argparse.Namespace) -> int:
    args = JudgeArgs(
        policy=namespace.policy,
        canary=namespace.canary,
        baseline=namespace.baseline,
        confidence=namespace.confidence,
        policy_dirs=tuple(namespace.policy_dir),
    )
    code, result = judge(args)
    stream = sys.stderr if code == EXIT_INVALID else sys.stdout
    if namespace.output == "yaml":
        stream.write(yaml.safe_dump(result, sort_keys=False))
    else:
        stream.write(json.dumps(result, indent=2, allow_nan=False) + "\n")
    return code
