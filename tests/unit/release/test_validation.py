"""Validation before any write: required identity fields, the Release's namespace, cluster-scoped kinds only
from the allow-list, no duplicates, and every problem names the template file and the object."""

from __future__ import annotations

from typing import Any

from rudder.domain import ObjectProblem, builtin_scope, validate_objects
from rudder.render import RenderedObject

from .conftest import obj


def rendered(*bodies: dict[str, Any], template: str = "all.yaml") -> list[RenderedObject]:
    return [RenderedObject(template, i, body) for i, body in enumerate(bodies)]


def test_valid_objects_have_no_problems() -> None:
    objects = rendered(
        obj("ConfigMap", "a"), obj("Deployment", "web", "apps/v1", namespace="prod"), obj("Service", "web")
    )
    assert validate_objects(objects, "prod") == ()


def test_missing_identity_fields_are_named_per_object() -> None:
    problems = validate_objects(
        rendered({"kind": "ConfigMap", "metadata": {"name": "a"}}, {"apiVersion": "v1", "kind": "Secret"}),
        "prod",
    )
    assert problems == (
        ObjectProblem("all.yaml", "ConfigMap/a", "apiVersion is required"),
        ObjectProblem("all.yaml", "document 2", "metadata is required"),
    )
    assert str(problems[1]) == "all.yaml: document 2: metadata is required"


def test_empty_name_and_overlong_name() -> None:
    problems = validate_objects(rendered(obj("ConfigMap", ""), obj("ConfigMap", "x" * 254)), "prod")
    assert [p.message for p in problems] == [
        "metadata.name is required",
        f"metadata.name {'x' * 80!r}... must be at most 253 characters (has 254)",
    ]


def test_other_namespace_is_rejected() -> None:
    problems = validate_objects(rendered(obj("ConfigMap", "a", namespace="kube-system")), "prod")
    assert problems == (
        ObjectProblem(
            "all.yaml", "ConfigMap/a", "namespace 'kube-system' is not the Release's namespace 'prod'"
        ),
    )


def test_cluster_scoped_kinds_need_the_allow_list() -> None:
    objects = rendered(obj("ClusterRole", "reader", "rbac.authorization.k8s.io/v1"), obj("Namespace", "x"))
    problems = validate_objects(objects, "prod")
    assert [p.object for p in problems] == ["ClusterRole/reader", "Namespace/x"]
    assert "not allowed" in problems[0].message
    assert validate_objects(objects, "prod", allowed_cluster_kinds={"ClusterRole", "Namespace"}) == ()
    assert (
        validate_objects(objects[:1], "prod", allowed_cluster_kinds={"ClusterRole.rbac.authorization.k8s.io"})
        == ()
    )


def test_scope_comes_from_the_lookup_and_unknown_kinds_count_as_namespaced() -> None:
    widget = obj("Widget", "w", "example.com/v1")
    assert builtin_scope("example.com/v1", "Widget") is None
    assert validate_objects(rendered(widget), "prod") == ()
    cluster_widget = validate_objects(rendered(widget), "prod", scope_of=lambda api, kind: False)
    assert len(cluster_widget) == 1
    assert "cluster-scoped kind Widget" in cluster_widget[0].message


def test_duplicates_are_rejected_across_templates_and_versions() -> None:
    objects = [
        RenderedObject("a.yaml", 0, obj("Deployment", "web", "apps/v1")),
        RenderedObject("b.yaml", 0, obj("Deployment", "web", "apps/v1beta2")),
        RenderedObject("b.yaml", 1, obj("Service", "web")),
    ]
    assert validate_objects(objects, "prod") == (
        ObjectProblem("b.yaml", "Deployment/web", "duplicate of the object rendered by a.yaml#0"),
    )


def test_list_objects_are_rejected() -> None:
    problems = validate_objects(
        rendered({"apiVersion": "v1", "kind": "List", "metadata": {"name": "l"}}), "p"
    )
    assert problems[0].message.startswith("List objects are not supported")
