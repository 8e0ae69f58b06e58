"""Against the real API server: a rendered object whose name would climb out of its URL (F4) fails the
Release naming the template, object and field, and nothing outside the namespace is read, patched or
deleted; the client keeps any name inside one path segment even if validation were bypassed; the kind table
the offline validation shares with the controller agrees with the server's discovery (F17). Also records
what the server itself does: a dry-run apply whose body name differs from the URL, and server-side apply
creating a Release with only the `patch` verb."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from rudder.domain.validation import _BUILTIN_GROUPS, builtin_scope
from rudder.kube.client import Kube, KubeError, Ref
from tests.support.cluster import Cluster, install_crds, temp_namespace
from tests.support.controller import ControllerProcess
from tests.support.releases import create_release, events_for, histories, release_body, wait_release

pytestmark = pytest.mark.integration


@pytest.fixture
def victim(cluster: Cluster) -> Iterator[str]:
    """Another team's namespace with a Secret `foo` and a ConfigMap `foo` that nothing may touch."""
    for name in temp_namespace(cluster, "victim"):
        cluster.core.create_namespaced_secret(name, client.V1Secret(
            metadata=client.V1ObjectMeta(name="foo"), string_data={"token": "victim-token"}))
        cluster.core.create_namespaced_config_map(name, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="foo"), data={"a": "1"}))
        yield name


def untouched(cluster: Cluster, victim: str) -> tuple[Any, ...]:
    """What must not change: each object's resourceVersion and field managers."""
    secret = cluster.core.read_namespaced_secret("foo", victim)
    config = cluster.core.read_namespaced_config_map("foo", victim)
    return tuple((o.metadata.resource_version, sorted(m.manager for m in o.metadata.managed_fields or []))
                 for o in (secret, config))


def managed_configmaps(cluster: Cluster, namespace: str) -> list[str]:
    items = cluster.core.list_namespaced_config_map(namespace, label_selector="app.kubernetes.io/managed-by").items
    return [c.metadata.name for c in items]


@pytest.mark.corpus("names")
@pytest.mark.parametrize("name_template", [
    "x/../../../../../../api/v1/namespaces/{victim}/secrets/foo",
    "x/../../../../../../api/v1/namespaces/{victim}/configmaps/foo",
    "foo?dryRun=All&fieldManager=x",
    "..%2F..%2F{victim}%2Fsecrets%2Ffoo",
    "Foo",
])
def test_a_rendered_name_that_leaves_its_url_fails_the_release_and_touches_nothing(
    cluster: Cluster, namespace: str, controller: ControllerProcess, victim: str, name_template: str
) -> None:
    name = name_template.format(victim=victim)
    before = untouched(cluster, victim)
    bad = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: '{name}'\ndata: {{a: '2'}}\n"
    good = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\ndata: {a: '1'}\n"
    create_release(cluster, namespace, release_body("esc", templates={"a.yaml": good, "bad.yaml": bad},
                                                    chart_values={}))

    rel = wait_release(cluster, namespace, "esc", phase="Failed")

    message = rel["status"]["message"]
    assert message.startswith(f"bad.yaml: document 1 (ConfigMap): metadata.name {name!r} must be a DNS-1123 "
                              "subdomain"), message
    assert untouched(cluster, victim) == before, "nothing in the other namespace was patched"
    assert managed_configmaps(cluster, namespace) == [], "nothing of the revision was applied"
    assert histories(cluster, namespace, "esc") == []
    assert any(e.reason == "InvalidObjects" and e.type == "Warning" for e in events_for(cluster, namespace, "esc"))


@pytest.mark.corpus("names")
@pytest.mark.parametrize("name_template", [
    "x/../../../../../../api/v1/namespaces/{victim}/secrets/foo",
    "../../{victim}/secrets/foo",
    "foo?watch=true",
    "foo#fragment",
])
def test_the_client_keeps_any_name_inside_one_path_segment(
    cluster: Cluster, namespace: str, victim: str, name_template: str
) -> None:
    """Even with validation bypassed, a name reaches the server as one segment: the server answers about a
    (non-existent) object of this namespace, never about the victim's."""
    kube = Kube(cluster.api)
    name = name_template.format(victim=victim)
    before = untouched(cluster, victim)
    for kind in ("Secret", "ConfigMap"):
        ref = Ref("v1", kind, name, namespace)
        assert kube.get(ref) is None
        assert kube.delete(ref) is False, "404: no such object in this namespace"
        with pytest.raises(KubeError) as refused:
            kube.patch(ref, {"data": {"a": "3"}})
        assert refused.value.status in (400, 404, 405, 422)
    assert untouched(cluster, victim) == before


def test_server_rejects_an_apply_whose_body_name_differs_from_the_url(
    cluster: Cluster, namespace: str, victim: str
) -> None:
    """Recorded in docs/security.md: the server refuses (400) an apply patch — dry-run or not —
    whose body names another object than the URL, so the F4 dry-run PATCH of `kube-system/secrets/foo` with a
    ConfigMap body named `x/../..` could not have changed the Secret."""
    dyn = cluster.dynamic
    secrets = dyn.resources.get(api_version="v1", kind="Secret")
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "other"}, "stringData": {"x": "y"}}
    for dry_run in ("All", None):
        with pytest.raises(ApiException) as refused:
            dyn.server_side_apply(secrets, body=body, name="foo", namespace=victim, field_manager="t",
                                  dry_run=dry_run)
        assert refused.value.status == 400
        assert "does not match the name on the URL" in (refused.value.body or "")
    # A body of another kind than the URL's resource is refused too (the original F4 request).
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "foo"}, "data": {"a": "9"}}
    with pytest.raises(ApiException) as wrong_kind:
        dyn.server_side_apply(secrets, body=config, name="foo", namespace=victim, field_manager="t", dry_run="All")
    assert wrong_kind.value.status == 400
    assert cluster.core.read_namespaced_secret("foo", victim).metadata.resource_version


def test_server_side_apply_cannot_create_a_release_with_only_patch(cluster: Cluster, namespace: str) -> None:
    """Recorded in docs/security.md: apply of an object that does not exist needs `create`."""
    rbac = client.RbacAuthorizationV1Api(cluster.api)
    rbac.create_namespaced_role(namespace, client.V1Role(
        metadata=client.V1ObjectMeta(name="patch-only"),
        rules=[client.V1PolicyRule(api_groups=["rudder.dev"], resources=["releases"], verbs=["get", "patch"])]))
    cluster.core.create_namespaced_service_account(namespace, client.V1ServiceAccount(
        metadata=client.V1ObjectMeta(name="patcher")))
    rbac.create_namespaced_role_binding(namespace, client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name="patch-only"),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name="patch-only"),
        subjects=[client.RbacV1Subject(kind="ServiceAccount", name="patcher", namespace=namespace)]))
    patcher = Kube(cluster.api).impersonate(namespace, "patcher")
    body = {**release_body("sneaky", templates={}, chart_values={}), "metadata": {"name": "sneaky",
                                                                                  "namespace": namespace}}
    with pytest.raises(KubeError) as refused:
        patcher.apply(body, field_manager="patcher")
    assert refused.value.forbidden, refused.value.message
    assert "create" in refused.value.message
    assert Kube(cluster.api).get(Ref("rudder.dev/v1alpha1", "Release", "sneaky", namespace)) is None


def test_the_shared_kind_table_agrees_with_the_servers_discovery(cluster: Cluster) -> None:
    """Every kind the server serves in a built-in group is in the table with the server's scope, so offline
    validation (`rudder template`) and the controller (discovery) agree on them."""
    disagreements = []
    served = 0
    for resource in cluster.dynamic.resources.search():
        group = getattr(resource, "group", "") or ""
        name = getattr(resource, "name", None) or ""
        if group not in _BUILTIN_GROUPS or not name or "/" in name or resource.kind.endswith("List"):
            continue
        if not {"create", "get"} & set(getattr(resource, "verbs", None) or ()):
            continue
        served += 1
        api_version = f"{group}/{resource.api_version}" if group else resource.api_version
        if builtin_scope(api_version, resource.kind) is not bool(resource.namespaced):
            disagreements.append((api_version, resource.kind, resource.namespaced))
    assert served > 40
    assert disagreements == []


@pytest.mark.corpus("names")
@pytest.mark.parametrize(("field", "spec"), [
    ("spec.chart.configMapRef.name", {"chart": {"configMapRef": {"name": "../../kube-system/configmaps/x"}}}),
    ("spec.valuesFrom[0].secretKeyRef.name",
     {"valuesFrom": [{"secretKeyRef": {"name": "x/../../kube-system/secrets/y", "key": "k"}}]}),
    ("spec.valuesFrom[0].configMapKeyRef.name", {"valuesFrom": [{"configMapKeyRef": {"name": "a?b", "key": "k"}}]}),
    ("spec.serviceAccountName", {"serviceAccountName": "default\nImpersonate-Group: system:masters"}),
    ("spec.serviceAccountName", {"serviceAccountName": "a:b"}),
    ("spec.dependsOn[0].name", {"dependsOn": [{"name": "Other/../x"}]}),
])
def test_the_crd_refuses_reference_names_that_are_not_object_names(
    cluster: Cluster, namespace: str, field: str, spec: dict[str, Any]
) -> None:
    # The cluster is shared with sessions of other branches, which install their own crds/ when they start.
    install_crds(cluster)
    body = release_body("refs", templates={}, chart_values={})
    body["spec"] = {**body["spec"], **spec}
    with pytest.raises(ApiException) as refused:
        create_release(cluster, namespace, body)
    assert refused.value.status == 422
    assert field in (refused.value.body or ""), refused.value.body
