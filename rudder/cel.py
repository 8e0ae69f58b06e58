"""CEL expressions of a Release spec (`spec.healthChecks`, `spec.dependsOn[].readyExpr`), compiled and
evaluated with bounded cost.

Pure (no cluster access, no imports from the rest of Rudder) so that `rudder.models` can check
expressions while parsing a spec.

Bounds, so no expression can hang or exhaust the controller:
- an expression is at most MAX_EXPRESSION_CHARS characters and MAX_TREE_DEPTH syntax-tree levels deep; it
  is parsed once per process (an LRU cache keyed by its text), so a spec read on every pass costs no re-parse;
- each evaluation has a budget of EVALUATION_BUDGET cost units: one per syntax-tree node visited (macros
  such as `all`/`exists`/`map` visit their body once per element) plus the length of every list, map or
  string a node produces, so nested loops and growing lists run out of budget instead of running on;
- all evaluations of one reconcile pass share an Allowance of PASS_BUDGET units, so a Release with many
  objects cannot multiply the bound: once spent, the remaining evaluations of that pass are skipped (and
  reported as such);
- the object is the API server's (at most etcd's object size), with `metadata.managedFields` left out.
Any failure comes back as a message, never an exception: compile errors name the field, evaluation
errors name the field and the object.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import celpy
import lark
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import Evaluator

MAX_EXPRESSION_CHARS = 2048
# Syntax-tree levels (about ten per nested bracket or call): evaluation recurses once per level.
MAX_TREE_DEPTH = 250
EVALUATION_BUDGET = 20_000  # cost units; a condition check over a typical object costs a few hundred
PASS_BUDGET = 200_000  # cost units for all the evaluations of one Release's reconcile pass


class _BudgetExceeded(Exception):
    pass


class _Meter:
    def __init__(self, budget: int) -> None:
        self.left = budget

    def charge(self, value: Any) -> None:
        cost = 1
        if isinstance(value, list | dict | str | bytes):
            cost += len(value)
        self.left -= cost
        if self.left < 0:
            raise _BudgetExceeded


class _MeteredEvaluator(Evaluator):
    """celpy's tree-walking evaluator, charging every node it visits to a shared meter (macro bodies are
    evaluated by sub-evaluators, which share the meter)."""

    def __init__(self, ast: lark.Tree[Any], activation: Any, meter: _Meter) -> None:
        super().__init__(ast, activation)
        self.meter = meter

    def sub_evaluator(self, ast: lark.Tree[Any]) -> Evaluator:
        return _MeteredEvaluator(ast, self.activation, self.meter)

    def visit(self, tree: lark.Tree[Any]) -> Any:
        value = super().visit(tree)
        self.meter.charge(value)
        return value

    def visit_children(self, tree: lark.Tree[Any]) -> list[Any]:
        values = super().visit_children(tree)
        for value in values:
            self.meter.charge(value)
        return values


@functools.cache
def _environment() -> celpy.Environment:
    # Built on first use (it builds the CEL grammar's parser): a spec without expressions never pays for it.
    return celpy.Environment()


@dataclass(frozen=True, eq=False)
class Program:
    """A compiled expression, ready to evaluate any number of times."""

    text: str
    runner: celpy.Runner = field(repr=False)


@dataclass(frozen=True)
class CompileError:
    """Why an expression cannot be used (first line of the parser's message)."""

    message: str


def compile_expression(text: str) -> Program | CompileError:
    """Parse `text` once (cached by text); problems come back as a CompileError."""
    if len(text) > MAX_EXPRESSION_CHARS:
        return CompileError(f"longer than {MAX_EXPRESSION_CHARS} characters ({len(text)})")
    if not text.strip():
        return CompileError("is empty")
    return _compile(text)


@functools.lru_cache(maxsize=512)
def _compile(text: str) -> Program | CompileError:
    try:
        ast = _environment().compile(text)
        runner = _environment().program(ast)
    except CELParseError as err:
        return CompileError(_syntax_error(text, err))
    except RecursionError:
        return CompileError("nested too deeply")
    except Exception as err:  # any parser failure is the expression's problem
        return CompileError(str(err).splitlines()[0][:300] if str(err) else type(err).__name__)
    if _depth(ast) > MAX_TREE_DEPTH:
        return CompileError(f"nested too deeply (more than {MAX_TREE_DEPTH} syntax-tree levels)")
    return Program(text, runner)


def _depth(tree: lark.Tree[Any]) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in node.children if isinstance(child, lark.Tree))
    return deepest


def _syntax_error(text: str, err: CELParseError) -> str:
    line, column = getattr(err, "line", None), getattr(err, "column", None)
    if not isinstance(line, int) or not isinstance(column, int):
        return "syntax error"
    source = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
    near = source[max(column - 11, 0):column + 10]
    return f"syntax error at line {line}, column {column} (near {near!r})"


class Allowance:
    """The cost units left to one reconcile pass (shared by its evaluations; not thread-safe, one per pass)."""

    def __init__(self, total: int = PASS_BUDGET) -> None:
        self.total = total
        self.left = total


@dataclass(frozen=True)
class EvaluationError:
    """Why an evaluation gave no value (missing field, wrong type, budget exhausted, ...)."""

    message: str


def _without_managed_fields(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    if isinstance(meta, Mapping) and "managedFields" in meta:
        return {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    return obj


def evaluate(program: Program, variables: Mapping[str, Mapping[str, Any]],
             *, budget: int = EVALUATION_BUDGET, allowance: Allowance | None = None) -> Any | EvaluationError:
    """The value of `program` with each variable bound to a plain JSON object (as Python data); its cost is
    taken from `allowance` when given."""
    if allowance is None:
        return _evaluate(program, variables, budget)
    if allowance.left <= 0:
        return EvaluationError(f"not evaluated: this pass's budget of {allowance.total} cost units is spent")
    spend = min(budget, allowance.left)
    meter = _Meter(spend)
    value = _evaluate(program, variables, spend, meter)
    allowance.left -= spend - max(meter.left, 0)
    if isinstance(value, EvaluationError) and meter.left < 0 and spend < budget:
        return EvaluationError(f"stopped: this pass's budget of {allowance.total} cost units is spent")
    return value


def _evaluate(program: Program, variables: Mapping[str, Mapping[str, Any]], budget: int,
              meter: _Meter | None = None) -> Any | EvaluationError:
    meter = meter or _Meter(budget)
    try:
        context = {name: json_to_cel(dict(_without_managed_fields(obj))) for name, obj in variables.items()}
        evaluator = _MeteredEvaluator(program.runner.ast, program.runner.new_activation(), meter)
        value = evaluator.evaluate(context)
    except _BudgetExceeded:
        return EvaluationError(f"exceeded the evaluation budget of {budget} cost units")
    except RecursionError:
        return EvaluationError("nested too deeply")
    except Exception as err:  # CELEvalError, and plain errors on odd input
        return EvaluationError(_eval_message(err))
    return _plain(value)


def _eval_message(err: BaseException) -> str:
    args = getattr(err, "args", ())
    first = args[0] if args else None
    text = first if isinstance(first, str) else str(err)
    return text.splitlines()[0][:300] if text else type(err).__name__


def _plain(value: Any) -> Any:
    # celpy's BoolType subclasses int: report booleans as bool so a caller can insist on one.
    if isinstance(value, celpy.celtypes.BoolType):
        return bool(value)
    return value


def evaluate_bool(program: Program, variables: Mapping[str, Mapping[str, Any]],
                  *, budget: int = EVALUATION_BUDGET, allowance: Allowance | None = None) -> bool | EvaluationError:
    """Like `evaluate`, for an expression that must give true or false."""
    value = evaluate(program, variables, budget=budget, allowance=allowance)
    if isinstance(value, EvaluationError | bool):
        return value
    return EvaluationError(f"must evaluate to a bool, not {type(value).__name__.removesuffix('Type').lower()}")
