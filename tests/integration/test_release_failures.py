"""Bad input never half-applies: a render error, an object outside the Release's namespace, an
object owned by someone else, or a ServiceAccount without rights puts the Release in Failed with a
message naming the template, line, object or reason, and nothing of the revision is written."""

from __future__ import annotations

import pytest
from kubernetes import client

from tests.support.cluster import Cluster
from tests.support.controller import ControllerProcess
from tests.support.releases import (
    CONFIGMAP,
    create_release,
    events_for,
    histories,
    release_body,
    wait_release,
)

pytestmark = pytest.mark.integration

SECOND_CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: second}\ndata: {a: '1'}\n"


def configmap_names(cluster: Cluster, namespace: str) -> set[str]:
    return {c.metadata.name for c in cluster.core.list_namespaced_config_map(namespace).items} - {"kube-root-ca.crt"}


def test_missing_value_fails_naming_template_and_line(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    templates = {"a.yaml": SECOND_CM, "b.yaml": "# comment\nkind: ConfigMap\nx: {{ values.nope.deeper }}\n"}
    create_release(cluster, namespace, release_body("bad", templates=templates, chart_values={}))

    rel = wait_release(cluster, namespace, "bad", phase="Failed")

    message = rel["status"]["message"]
    assert "b.yaml:3" in message and "values.nope is undefined" in message
    assert configmap_names(cluster, namespace) == set(), "nothing of the revision is applied"
    assert histories(cluster, namespace, "bad") == []
    assert any(e.reason == "RenderFailed" and e.type == "Warning" for e in events_for(cluster, namespace, "bad"))


def test_invalid_yaml_fails_naming_the_template(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    templates = {"a.yaml": SECOND_CM, "broken.yaml": "kind: ConfigMap\nmetadata: {name: x\n"}
    create_release(cluster, namespace, release_body("yaml", templates=templates, chart_values={}))

    rel = wait_release(cluster, namespace, "yaml", phase="Failed")

    assert "broken.yaml" in rel["status"]["message"]
    assert configmap_names(cluster, namespace) == set()


def test_object_in_another_namespace_or_cluster_scoped_is_rejected(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    other = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: escape, namespace: kube-system}\n"
    role = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: sneaky}\nrules: []\n"
    templates = {"a.yaml": SECOND_CM, "other.yaml": other, "role.yaml": role}
    create_release(cluster, namespace, release_body("escape", templates=templates, chart_values={}))

    rel = wait_release(cluster, namespace, "escape", phase="Failed")

    message = rel["status"]["message"]
    assert "other.yaml" in message and "kube-system" in message
    assert "ClusterRole" in message
    assert configmap_names(cluster, namespace) == set()
    names = {c.metadata.name for c in cluster.core.list_namespaced_config_map("kube-system").items}
    assert "escape" not in names
    rbac = client.RbacAuthorizationV1Api(cluster.api)
    assert "sneaky" not in {r.metadata.name for r in rbac.list_cluster_role().items}


def test_server_side_dry_run_failure_applies_nothing(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    invalid_port = ("apiVersion: v1\nkind: Service\nmetadata: {name: svc}\n"
                    "spec: {ports: [{port: 99999}], selector: {a: b}}\n")
    templates = {"a.yaml": SECOND_CM, "svc.yaml": invalid_port}
    create_release(cluster, namespace, release_body("dry", templates=templates, chart_values={}))

    rel = wait_release(cluster, namespace, "dry", phase="Failed")

    assert "Service/svc" in rel["status"]["message"]
    assert "99999" in rel["status"]["message"] or "port" in rel["status"]["message"]
    assert configmap_names(cluster, namespace) == set(), "the valid ConfigMap was not applied either"


def test_object_owned_by_someone_else_is_never_taken_over(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    cluster.core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "mine-config"}, "data": {"owner": "a human"}})
    create_release(cluster, namespace, release_body("mine", templates={"cm.yaml": CONFIGMAP},
                                                    chart_values={"greeting": "x"}))

    rel = wait_release(cluster, namespace, "mine", phase="Failed")

    assert "ConfigMap/mine-config" in rel["status"]["message"]
    assert "not managed by this Release" in rel["status"]["message"]
    cm = cluster.core.read_namespaced_config_map("mine-config", namespace)
    assert cm.data == {"owner": "a human"}
    assert not (cm.metadata.labels or {})


def test_service_account_without_rights_fails_forbidden_and_applies_nothing(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    cluster.core.create_namespaced_service_account(namespace, {"metadata": {"name": "deployer"}})
    templates = {"a.yaml": SECOND_CM}
    create_release(cluster, namespace, release_body("imp", templates=templates, chart_values={},
                                                    serviceAccountName="deployer"))

    rel = wait_release(cluster, namespace, "imp", phase="Failed")

    message = rel["status"]["message"]
    assert "forbidden" in message.lower()
    assert f"system:serviceaccount:{namespace}:deployer" in message
    assert configmap_names(cluster, namespace) == set()

    # Granting the ServiceAccount rights in its namespace lets the same Release through.
    rbac = client.RbacAuthorizationV1Api(cluster.api)
    rbac.create_namespaced_role(namespace, {
        "metadata": {"name": "deployer"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                   "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}],
    })
    rbac.create_namespaced_role_binding(namespace, {
        "metadata": {"name": "deployer"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"},
        "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": namespace}],
    })
    wait_release(cluster, namespace, "imp", phase="Ready", revision=1)
    cm = cluster.core.read_namespaced_config_map("second", namespace)
    assert any(f.manager == "rudder" for f in cm.metadata.managed_fields)
