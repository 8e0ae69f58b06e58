"""Typed models of the Release and ReleaseHistory APIs, parsed once at the boundary.

`parse_release_spec` turns the raw `spec` mapping of a Release into a frozen `ReleaseSpec`; every problem is
reported as a `FieldError` naming the field path (for example `spec.valuesFrom[1].secretKeyRef.key`), and all
problems of one spec are raised together in a `SpecError`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rudder.cel import Program
from rudder.drift_spec import DriftSpec, parse_drift
from rudder.durations import check_duration_seconds, parse_duration
from rudder.health_spec import FailFast, HealthCheck, expression, parse_fail_fast, parse_health_checks
from rudder.postrender.spec import PostRender, parse_post_render
from rudder.remediation_spec import RemediationSpec, parse_remediation

API_GROUP = "rudder.dev"
API_VERSION = "rudder.dev/v1alpha1"
DEFAULT_HISTORY_LIMIT = 10
DEFAULT_TIMEOUT_SECONDS = 300.0

# The raw values tree of a chart or a Release: plain YAML/JSON data, treated as read-only.
Values = Mapping[str, Any]


class ReleasePhase(StrEnum):
    """`status.phase` of a Release."""

    PENDING = "Pending"
    PROGRESSING = "Progressing"
    READY = "Ready"
    FAILED = "Failed"
    SUSPENDED = "Suspended"


class ResourcePhase(StrEnum):
    """`status.resources[].phase`: the health of one managed object."""

    PENDING = "Pending"
    PROGRESSING = "Progressing"
    READY = "Ready"
    FAILED = "Failed"
    SUSPENDED = "Suspended"


class HistoryPhase(StrEnum):
    """`status.phase` of a ReleaseHistory."""

    DEPLOYED = "Deployed"
    SUPERSEDED = "Superseded"
    FAILED = "Failed"


class ConditionType(StrEnum):
    """The condition types a Release reports."""

    READY = "Ready"
    PROGRESSING = "Progressing"
    FAILED = "Failed"


class ValuesSourceKind(StrEnum):
    """Where one `valuesFrom` entry reads its YAML from."""

    SECRET = "Secret"
    CONFIG_MAP = "ConfigMap"


@dataclass(frozen=True)
class FieldError:
    """One problem in a spec, with the dotted path of the offending field."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class SpecError(ValueError):
    """A Release spec that cannot be used; carries every problem found, each naming its field."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(str(e) for e in self.errors))


@dataclass(frozen=True)
class ObjectRef:
    """Identity of a Kubernetes object: what inventories, prune plans and status list."""

    api_version: str
    kind: str
    name: str
    namespace: str | None = None

    @property
    def group(self) -> str:
        """The API group ('' for the core group); the version is not part of an object's identity."""
        return self.api_version.rpartition("/")[0]

    @property
    def identity(self) -> tuple[str, str, str | None, str]:
        """Version-independent key: apps/v1 and apps/v1beta1 of the same name are one object."""
        return (self.group, self.kind, self.namespace, self.name)

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"

    def to_dict(self) -> dict[str, str]:
        """The camelCase form used in ReleaseHistory and status."""
        out = {"apiVersion": self.api_version, "kind": self.kind, "name": self.name}
        if self.namespace:
            out["namespace"] = self.namespace
        return out


@dataclass(frozen=True)
class InlineTemplates:
    """Chart source `spec.chart.templates`: file name -> Jinja2 text."""

    files: Mapping[str, str]


@dataclass(frozen=True)
class ConfigMapChartRef:
    """Chart source `spec.chart.configMapRef`: a ConfigMap in the Release's namespace."""

    name: str


@dataclass(frozen=True)
class ArchiveChart:
    """Chart source `spec.chart.archive`: base64 of a gzip tar of a chart directory."""

    data: str


ChartSource = InlineTemplates | ConfigMapChartRef | ArchiveChart


@dataclass(frozen=True, eq=False)
class ChartSpec:
    """`spec.chart`: exactly one source plus optional default values layered over the source's values.yaml."""

    source: ChartSource
    values: Values = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The raw `spec.chart` form: stored in ReleaseHistory and restored into the spec on rollback."""
        out: dict[str, Any]
        if isinstance(self.source, InlineTemplates):
            out = {"templates": dict(self.source.files)}
        elif isinstance(self.source, ConfigMapChartRef):
            out = {"configMapRef": {"name": self.source.name}}
        else:
            out = {"archive": self.source.data}
        if self.values:
            out["values"] = copy.deepcopy(dict(self.values))
        return out


@dataclass(frozen=True)
class ValuesFromRef:
    """One `spec.valuesFrom` entry: a key of a Secret or ConfigMap holding a YAML mapping."""

    kind: ValuesSourceKind
    name: str
    key: str
    optional: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The raw spec form, used to restore a Release's spec on rollback."""
        ref: dict[str, Any] = {"name": self.name, "key": self.key}
        if self.optional:
            ref["optional"] = True
        field_name = "secretKeyRef" if self.kind is ValuesSourceKind.SECRET else "configMapKeyRef"
        return {field_name: ref}


@dataclass(frozen=True)
class RollbackTo:
    """`spec.rollbackTo`: revision 0 means the previously deployed revision."""

    revision: int


@dataclass(frozen=True)
class DependsOn:
    """One `spec.dependsOn` entry: a Release of the same namespace that must be Ready first, or, with
    `ready_expr`, for which that CEL expression (`dep`: the dependency, `self`: this Release) is true."""

    name: str
    ready_expr: Program | None = None


@dataclass(frozen=True, eq=False)
class ReleaseSpec:
    """The parsed `spec` of a Release."""

    chart: ChartSpec
    values: Values = field(default_factory=dict)
    values_from: tuple[ValuesFromRef, ...] = ()
    suspend: bool = False
    rollback_to: RollbackTo | None = None
    history_limit: int = DEFAULT_HISTORY_LIMIT
    service_account_name: str = ""
    depends_on: tuple[DependsOn, ...] = ()
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    atomic: bool = False
    post_render: PostRender = field(default_factory=PostRender)
    remediation: RemediationSpec = field(default_factory=RemediationSpec)
    drift: DriftSpec = field(default_factory=DriftSpec)
    health_checks: tuple[HealthCheck, ...] = ()
    fail_fast: FailFast = field(default_factory=FailFast)


class _Reader:
    """Collects FieldErrors while reading a raw mapping, so one pass reports every problem."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def fail(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, message))

    def mapping(self, raw: Any, path: str, *, required: bool = False) -> Mapping[str, Any] | None:
        if raw is None:
            if required:
                self.fail(path, "is required")
            return None
        if not isinstance(raw, Mapping):
            self.fail(path, f"must be a mapping, not {type(raw).__name__}")
            return None
        return raw

    def string(self, raw: Any, path: str, *, required: bool = False) -> str | None:
        if raw is None or raw == "":
            if required:
                self.fail(path, "is required")
            return None
        if not isinstance(raw, str):
            self.fail(path, f"must be a string, not {type(raw).__name__}")
            return None
        return raw

    def boolean(self, raw: Any, path: str) -> bool:
        if raw is None:
            return False
        if not isinstance(raw, bool):
            self.fail(path, f"must be true or false, not {raw!r}")
            return False
        return raw

    def integer(self, raw: Any, path: str, default: int, minimum: int) -> int:
        if raw is None:
            return default
        if isinstance(raw, bool) or not isinstance(raw, int):
            self.fail(path, f"must be an integer, not {raw!r}")
            return default
        if raw < minimum:
            self.fail(path, f"must be >= {minimum}, not {raw}")
            return default
        return raw

    def sequence(self, raw: Any, path: str) -> Sequence[Any]:
        if raw is None:
            return ()
        if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
            self.fail(path, f"must be a list, not {type(raw).__name__}")
            return ()
        return raw


def _parse_chart(r: _Reader, raw: Any) -> ChartSpec | None:
    chart = r.mapping(raw, "spec.chart", required=True)
    if chart is None:
        return None
    sources: list[ChartSource] = []
    templates = r.mapping(chart.get("templates"), "spec.chart.templates")
    if templates is not None:
        for file_name, text in templates.items():
            if not isinstance(text, str):
                r.fail(f"spec.chart.templates[{file_name!r}]", "must be a string of template text")
        sources.append(InlineTemplates(files={str(k): v for k, v in templates.items() if isinstance(v, str)}))
    ref = r.mapping(chart.get("configMapRef"), "spec.chart.configMapRef")
    if ref is not None:
        name = r.string(ref.get("name"), "spec.chart.configMapRef.name", required=True)
        sources.append(ConfigMapChartRef(name=name or ""))
    archive = r.string(chart.get("archive"), "spec.chart.archive")
    if archive is not None:
        sources.append(ArchiveChart(data=archive))
    values = r.mapping(chart.get("values"), "spec.chart.values") or {}
    if not _shallow_enough(values):
        r.fail("spec.chart.values", f"nested deeper than {MAX_VALUES_DEPTH} levels")
        values = {}
    if len(sources) != 1:
        found = ", ".join(k for k in ("templates", "configMapRef", "archive") if chart.get(k) is not None)
        found = found or "none"
        r.fail("spec.chart", f"needs exactly one of templates, configMapRef, archive (found: {found})")
        return None
    return ChartSpec(source=sources[0], values=copy.deepcopy(dict(values)))


def _parse_values_from(r: _Reader, raw: Any) -> tuple[ValuesFromRef, ...]:
    refs: list[ValuesFromRef] = []
    for i, item in enumerate(r.sequence(raw, "spec.valuesFrom")):
        path = f"spec.valuesFrom[{i}]"
        entry = r.mapping(item, path, required=True)
        if entry is None:
            continue
        present = [k for k in ("secretKeyRef", "configMapKeyRef") if entry.get(k) is not None]
        if len(present) != 1:
            r.fail(path, "needs exactly one of secretKeyRef, configMapKeyRef")
            continue
        field_name = present[0]
        ref = r.mapping(entry[field_name], f"{path}.{field_name}", required=True)
        if ref is None:
            continue
        name = r.string(ref.get("name"), f"{path}.{field_name}.name", required=True)
        key = r.string(ref.get("key"), f"{path}.{field_name}.key", required=True)
        optional = r.boolean(ref.get("optional"), f"{path}.{field_name}.optional")
        kind = ValuesSourceKind.SECRET if field_name == "secretKeyRef" else ValuesSourceKind.CONFIG_MAP
        if name and key:
            refs.append(ValuesFromRef(kind=kind, name=name, key=key, optional=optional))
    return tuple(refs)


def _parse_depends_on(r: _Reader, raw: Any) -> tuple[DependsOn, ...]:
    out: list[DependsOn] = []
    for i, item in enumerate(r.sequence(raw, "spec.dependsOn")):
        entry = r.mapping(item, f"spec.dependsOn[{i}]", required=True)
        if entry is not None:
            name = r.string(entry.get("name"), f"spec.dependsOn[{i}].name", required=True)
            problems: list[tuple[str, str]] = []
            ready_expr = expression(entry.get("readyExpr"), f"spec.dependsOn[{i}].readyExpr", problems)
            r.errors.extend(FieldError(path, message) for path, message in problems)
            if name:
                out.append(DependsOn(name=name, ready_expr=ready_expr))
    return tuple(out)


MAX_VALUES_DEPTH = 100


def _shallow_enough(value: Any, limit: int = MAX_VALUES_DEPTH) -> bool:
    # Iterative, so an absurdly deep tree is refused here instead of overflowing the stack of every
    # recursive walk after it (copying, digesting, rendering).
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, Mapping):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((v, depth + 1) for v in item)
    return True


def _parse_timeout(r: _Reader, raw: Any) -> float:
    if raw is None:
        return DEFAULT_TIMEOUT_SECONDS
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        r.fail("spec.timeout", f"must be a duration such as 5m, not {raw!r}")
        return DEFAULT_TIMEOUT_SECONDS
    try:
        # A bare number is read as seconds, as kubectl's --timeout does.
        seconds = check_duration_seconds(float(raw)) if not isinstance(raw, str) else parse_duration(raw)
    except (ValueError, OverflowError) as exc:
        r.fail("spec.timeout", str(exc) if isinstance(exc, ValueError) else "duration too long")
        return DEFAULT_TIMEOUT_SECONDS
    if seconds <= 0:
        r.fail("spec.timeout", "must be positive")
        return DEFAULT_TIMEOUT_SECONDS
    return seconds


def parse_release_spec(raw: Mapping[str, Any]) -> ReleaseSpec:
    """Parse the raw `spec` of a Release; raise SpecError listing every invalid field."""
    r = _Reader()
    spec = r.mapping(raw, "spec", required=True) or {}
    chart = _parse_chart(r, spec.get("chart"))
    values = r.mapping(spec.get("values"), "spec.values") or {}
    if not _shallow_enough(values):
        r.fail("spec.values", f"nested deeper than {MAX_VALUES_DEPTH} levels")
    values_from = _parse_values_from(r, spec.get("valuesFrom"))
    suspend = r.boolean(spec.get("suspend"), "spec.suspend")
    rollback_to = None
    rollback_raw = r.mapping(spec.get("rollbackTo"), "spec.rollbackTo")
    if rollback_raw is not None:
        revision = r.integer(rollback_raw.get("revision"), "spec.rollbackTo.revision", 0, 0)
        rollback_to = RollbackTo(revision=revision)
    history_limit = r.integer(spec.get("historyLimit"), "spec.historyLimit", DEFAULT_HISTORY_LIMIT, 1)
    service_account = r.string(spec.get("serviceAccountName"), "spec.serviceAccountName") or ""
    depends_on = _parse_depends_on(r, spec.get("dependsOn"))
    timeout = _parse_timeout(r, spec.get("timeout"))
    atomic = r.boolean(spec.get("atomic"), "spec.atomic")
    post_render, problems = parse_post_render(spec.get("postRender"))
    r.errors.extend(FieldError(path, message) for path, message in problems)
    remediation, problems = parse_remediation(spec, atomic=atomic)
    for path, problem in problems:
        r.fail(path, problem)
    drift = parse_drift(spec.get("drift"), r.fail)
    health_checks, problems = parse_health_checks(spec.get("healthChecks"))
    r.errors.extend(FieldError(path, message) for path, message in problems)
    fail_fast, problems = parse_fail_fast(spec.get("failFast"))
    r.errors.extend(FieldError(path, message) for path, message in problems)
    if r.errors or chart is None:
        raise SpecError(r.errors)
    return ReleaseSpec(
        chart=chart,
        values=copy.deepcopy(dict(values)),
        values_from=values_from,
        suspend=suspend,
        rollback_to=rollback_to,
        history_limit=history_limit,
        service_account_name=service_account,
        depends_on=depends_on,
        timeout_seconds=timeout,
        atomic=atomic,
        post_render=post_render,
        remediation=remediation,
        drift=drift,
        health_checks=health_checks,
        fail_fast=fail_fast,
    )
