"""`spec.healthChecks` and `dependsOn[].readyExpr`: CEL expressions are compiled when the spec is parsed
(a syntax error or an over-long expression is an InvalidSpec naming `spec.healthChecks[i].current`),
evaluated with `self` bound to each live object of the matching kind in the order inProgress, failed,
current, and never raise: a missing field, a non-bool result or an exhausted cost budget is reported naming
the field and the object."""

from __future__ import annotations

from typing import Any

import pytest

from rudder.cel import (
    MAX_EXPRESSION_CHARS,
    Allowance,
    CompileError,
    EvaluationError,
    Program,
    compile_expression,
    evaluate_bool,
)
from rudder.domain.cel_health import assess_with_checks
from rudder.domain.dependencies import evaluate_dependencies
from rudder.domain.objects import ref_of
from rudder.models import ReleasePhase, ResourcePhase, SpecError, parse_release_spec

P = ResourcePhase
CHART = {"templates": {"a.yaml": ""}}


def spec(**fields: Any) -> Any:
    return parse_release_spec({"chart": CHART, **fields})


def program(text: str) -> Program:
    compiled = compile_expression(text)
    assert isinstance(compiled, Program), compiled
    return compiled


class TestCompile:
    def test_syntax_error_names_the_field_and_the_position(self) -> None:
        with pytest.raises(SpecError) as err:
            spec(healthChecks=[{"group": "example.com", "kind": "Widget", "current": "self.status."}])
        assert str(err.value) == ("spec.healthChecks[0].current: syntax error at line 1, column 12 "
                                  "(near 'elf.status.')")

    def test_every_problem_of_every_entry_is_reported(self) -> None:
        with pytest.raises(SpecError) as err:
            spec(healthChecks=[
                {"apiVersion": "example.com/v1", "kind": "Widget", "current": "true", "failed": "(("},
                {"kind": "Gadget", "inProgress": 3},
            ], dependsOn=[{"name": "db", "readyExpr": "dep."}])
        paths = [e.path for e in err.value.errors]
        assert paths == ["spec.dependsOn[0].readyExpr", "spec.healthChecks[0].failed", "spec.healthChecks[1]",
                         "spec.healthChecks[1].inProgress", "spec.healthChecks[1].current"]

    def test_over_long_expression_is_refused(self) -> None:
        text = "true && " * (MAX_EXPRESSION_CHARS // 8) + "true"
        with pytest.raises(SpecError, match=r"spec.healthChecks\[0\].current: longer than 2048 characters"):
            spec(healthChecks=[{"group": "", "kind": "Service", "current": text}])

    def test_deep_nesting_is_a_compile_error_not_a_crash(self) -> None:
        compiled = compile_expression("[" * 1000 + "]" * 1000)
        assert compiled == CompileError("nested too deeply (more than 250 syntax-tree levels)")

    def test_the_deepest_accepted_expression_evaluates(self) -> None:
        depth = 1
        while isinstance(compile_expression("(" * (depth + 1) + "true" + ")" * (depth + 1)), Program):
            depth += 1
        assert evaluate_bool(program("(" * depth + "true" + ")" * depth), {}) is True

    def test_compiled_once_per_text(self) -> None:
        assert compile_expression("self.a == 1") is compile_expression("self.a == 1")

    def test_plain_dependency_names_keep_working(self) -> None:
        parsed = spec(dependsOn=[{"name": "db"}, {"name": "cache", "readyExpr": "dep.status.revision >= 2"}])
        assert [(d.name, d.ready_expr.text if d.ready_expr else None) for d in parsed.depends_on] == [
            ("db", None), ("cache", "dep.status.revision >= 2")]


class TestEvaluate:
    def test_missing_field_is_an_error_not_an_exception(self) -> None:
        result = evaluate_bool(program("self.status.ready"), {"self": {"status": {}}})
        assert result == EvaluationError("no such member in mapping: 'ready'")

    def test_result_must_be_a_bool(self) -> None:
        assert evaluate_bool(program("1 + 1"), {}) == EvaluationError("must evaluate to a bool, not int")

    def test_runaway_expression_exhausts_its_budget(self) -> None:
        nested = program("self.items.all(a, self.items.all(b, a + b >= 0))")
        result = evaluate_bool(nested, {"self": {"items": list(range(300))}})
        assert result == EvaluationError("exceeded the evaluation budget of 20000 cost units")

    def test_growing_lists_are_charged_by_size(self) -> None:
        growing = program("self.items.map(x, self.items + self.items).size() > 0")
        assert isinstance(evaluate_bool(growing, {"self": {"items": list(range(200))}}, budget=5000),
                          EvaluationError)
        assert evaluate_bool(growing, {"self": {"items": [1, 2]}}, budget=5000) is True

    def test_a_pass_allowance_bounds_many_evaluations_together(self) -> None:
        nested = program("self.items.all(a, self.items.all(b, a + b >= 0))")
        live = {"self": {"items": list(range(20))}}  # 11,155 units: within one evaluation's budget
        allowance = Allowance(25_000)
        assert evaluate_bool(nested, live, allowance=allowance) is True
        assert evaluate_bool(nested, live, allowance=allowance) is True
        assert evaluate_bool(nested, live, allowance=allowance) == EvaluationError(
            "stopped: this pass's budget of 25000 cost units is spent")
        assert evaluate_bool(program("true"), {}, allowance=allowance) == EvaluationError(
            "not evaluated: this pass's budget of 25000 cost units is spent")

    def test_managed_fields_are_not_visible(self) -> None:
        live = {"metadata": {"name": "w", "managedFields": [{"manager": "x"}]}}
        assert evaluate_bool(program("has(self.metadata.managedFields)"), {"self": live}) is False


def widget(status: dict[str, Any] | None = None, api_version: str = "example.com/v1", **meta: Any) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": "Widget", "metadata": {"name": "w", "generation": 1, **meta},
            "status": status or {}}


CHECKS = spec(healthChecks=[{
    "apiVersion": "example.com/v1", "kind": "Widget",
    "inProgress": "has(self.status.phase) && self.status.phase == 'Provisioning'",
    "failed": "has(self.status.phase) && self.status.phase == 'Error'",
    "current": "self.status.phase == 'Running'",
}]).health_checks


def judge(live: dict[str, Any], checks: Any = CHECKS) -> tuple[ResourcePhase, str]:
    health = assess_with_checks(ref_of(live), live, checks)
    return health.phase, health.message


class TestHealthChecks:
    @pytest.mark.parametrize(("phase", "expected"), [
        ("Running", (P.READY, "spec.healthChecks[0].current is true")),
        ("Error", (P.FAILED, "spec.healthChecks[0].failed is true")),
        ("Provisioning", (P.PROGRESSING, "spec.healthChecks[0].inProgress is true")),
        ("Starting", (P.PROGRESSING, "waiting for spec.healthChecks[0].current")),
    ])
    def test_first_true_expression_decides(self, phase: str, expected: tuple[ResourcePhase, str]) -> None:
        assert judge(widget({"phase": phase})) == expected

    def test_evaluation_error_names_the_field_and_the_object(self) -> None:
        assert judge(widget({})) == (
            P.PROGRESSING,
            "spec.healthChecks[0].current: cannot evaluate on Widget/w: no such member in mapping: 'phase'")

    def test_unobserved_generation_and_deletion_come_first(self) -> None:
        running = {"phase": "Running", "observedGeneration": 1}
        assert judge(widget(running, generation=2))[0] is P.PROGRESSING
        assert judge(widget(running, deletionTimestamp="now")) == (P.PROGRESSING, "being deleted")

    def test_the_check_replaces_the_built_in_rule_only_for_its_kind_and_version(self) -> None:
        ready_condition = {"conditions": [{"type": "Ready", "status": "False", "message": "not yet"}]}
        assert judge(widget(ready_condition, api_version="example.com/v2")) == (P.PROGRESSING, "not yet")
        gadget = {**widget({"phase": "Error"}), "kind": "Gadget"}
        assert judge(gadget)[0] is P.READY

    def test_group_matches_any_version_and_the_first_match_wins(self) -> None:
        checks = spec(healthChecks=[
            {"group": "example.com", "kind": "Widget", "current": "false"},
            {"apiVersion": "example.com/v2", "kind": "Widget", "current": "true"},
        ]).health_checks
        assert judge(widget(api_version="example.com/v2"), checks) == (
            P.PROGRESSING, "waiting for spec.healthChecks[0].current")

    def test_missing_object_is_pending(self) -> None:
        ref = ref_of(widget())
        assert assess_with_checks(ref, None, CHECKS).phase is P.PENDING


def release(name: str, **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "status": status}


class TestReadyExpr:
    def test_ready_expr_replaces_the_ready_phase_check(self) -> None:
        depends = spec(dependsOn=[{"name": "db", "readyExpr": "dep.status.revision >= 2"}]).depends_on
        bodies = {"db": release("db", phase="Progressing", revision=2)}
        phases = {"db": ReleasePhase.PROGRESSING}
        assert evaluate_dependencies("app", depends, phases, bodies=bodies).ready
        bodies = {"db": release("db", phase="Ready", revision=1)}
        verdict = evaluate_dependencies("app", depends, {"db": ReleasePhase.READY}, bodies=bodies)
        assert verdict.message == "waiting for Release db (spec.dependsOn[0].readyExpr is false)"

    def test_self_is_the_dependent_release(self) -> None:
        depends = spec(dependsOn=[{"name": "db", "readyExpr": "dep.status.revision >= self.status.revision"}])
        bodies = {"db": release("db", revision=3)}
        verdict = evaluate_dependencies("app", depends.depends_on, {}, bodies=bodies, own=release("app", revision=3))
        assert verdict.ready

    def test_evaluation_error_and_missing_dependency_are_waited_for(self) -> None:
        depends = spec(dependsOn=[{"name": "db", "readyExpr": "dep.status.revision >= 2"},
                                  {"name": "cache", "readyExpr": "true"}]).depends_on
        verdict = evaluate_dependencies("app", depends, {}, bodies={"db": release("db")})
        assert verdict.message == ("waiting for Release db (spec.dependsOn[0].readyExpr: no such member in "
                                   "mapping: 'revision'), cache (not found)")
