"""Object names and kinds are checked as the API server checks them before any request names them
(F4, F17), every name and namespace travels as one quoted URL path segment (F4), the CLI refuses invalid
release names and namespaces with a usage error (F18), and quantities that overflow never crash drift
details (F22)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from kubernetes.dynamic.resource import Resource

from rudder.cli.main import main
from rudder.domain import ObjectProblem, builtin_scope, validate_objects
from rudder.domain.drift import drift_details
from rudder.domain.names import object_name_problem, release_name_problem
from rudder.domain.validation import identity_problems, kind_problem, object_scope
from rudder.kube.client import Kube, Ref
from rudder.render import RenderedObject

SUBDOMAIN = ("must be a DNS-1123 subdomain: lower-case letters, digits, '-' and '.', "
             "starting and ending with a letter or digit")
LABEL = ("must be a DNS-1123 label: lower-case letters, digits and '-', "
         "starting and ending with a letter or digit")
DNS1035 = ("must be a DNS-1035 label: lower-case letters, digits and '-', "
           "starting with a letter and ending with a letter or digit")
NOT_A_KIND = "is not a kind: kinds start with an upper-case letter"
TRAVERSAL = "x/../../../../../../api/v1/namespaces/kube-system/secrets/foo"


def body(kind: str, name: Any, api_version: str = "v1", **meta: Any) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, **meta}}


def problems_of(obj: dict[str, Any], namespace: str = "team") -> tuple[ObjectProblem, ...]:
    return validate_objects([RenderedObject("cm.yaml", 0, obj)], namespace)


# --- F4: names that could change a URL, per kind ------------------------------------------------

BAD_SUBDOMAIN_NAMES = [
    TRAVERSAL,
    "x?watch=true",
    "x#frag",
    "x%2F..%2Fsecrets",
    "..",
    ".",
    "a/b",
    "Upper",
    "under_score",
    "-leading",
    "trailing-",
    "sp ace",
    "tab\tname",
    "new\nline",
    "dot..dot",
    "ünïcode",
    "x;rm",
    "a:b",
]


@pytest.mark.corpus("names")
@pytest.mark.parametrize("name", BAD_SUBDOMAIN_NAMES)
def test_configmap_names_outside_dns1123_subdomain_are_refused_naming_template_object_and_field(name: str) -> None:
    assert problems_of(body("ConfigMap", name)) == (
        ObjectProblem("cm.yaml", "document 1 (ConfigMap)", f"metadata.name {name!r} {SUBDOMAIN}"),
    )


@pytest.mark.corpus("names")
@pytest.mark.parametrize(("kind", "api_version", "name", "message"), [
    ("Namespace", "v1", "a.b", LABEL),
    ("Namespace", "v1", "x" * 64, "must be at most 63 characters (has 64)"),
    ("Service", "v1", "1abc", DNS1035),
    ("Service", "v1", "a.b", DNS1035),
    ("Secret", "v1", TRAVERSAL, SUBDOMAIN),
    ("Deployment", "apps/v1", "web/../../x", SUBDOMAIN),
    ("CronJob", "batch/v1", "c" * 53, "must be at most 52 characters (has 53)"),
    ("Widget", "example.com/v1", "w?dryRun=All", SUBDOMAIN),
    ("Role", "rbac.authorization.k8s.io/v1", "a/b", "must not contain '/' or '%'"),
    ("Role", "rbac.authorization.k8s.io/v1", "..", "must not be '.' or '..'"),
    ("RoleBinding", "rbac.authorization.k8s.io/v1", "a%2Fb", "must not contain '/' or '%'"),
    ("Role", "rbac.authorization.k8s.io/v1", "bell\x07", "must not contain control characters"),
])
def test_each_kind_gets_the_api_servers_rule(kind: str, api_version: str, name: str, message: str) -> None:
    problems = validate_objects([RenderedObject("t.yaml", 2, body(kind, name, api_version))], "team",
                                allowed_cluster_kinds={"Namespace"})
    shown = repr(name) if len(name) <= 80 else repr(name[:80]) + "..."
    assert problems == (ObjectProblem("t.yaml", f"document 3 ({kind})", f"metadata.name {shown} {message}"),)


@pytest.mark.corpus("names")
@pytest.mark.parametrize(("kind", "api_version", "name"), [
    ("ConfigMap", "v1", "a.b-c.d"),
    ("ConfigMap", "v1", "x" * 253),
    ("Service", "v1", "web-1"),
    ("Namespace", "v1", "x" * 63),
    ("CronJob", "batch/v1", "c" * 52),
    ("Role", "rbac.authorization.k8s.io/v1", "system:aggregate-to-view"),
    ("ClusterRole", "rbac.authorization.k8s.io/v1", "Mixed:Case@name"),
    ("Widget", "example.com/v1", "w.1"),
])
def test_names_the_api_server_accepts_pass(kind: str, api_version: str, name: str) -> None:
    assert object_name_problem(api_version.rpartition("/")[0], kind, name) is None
    assert identity_problems(api_version, kind, name) == []


@pytest.mark.corpus("names")
@pytest.mark.parametrize("namespace", ["kube-system/secrets", "Team", "../x", "a.b", ""])
def test_bad_metadata_namespace_is_refused(namespace: str) -> None:
    problems = problems_of(body("ConfigMap", "ok", namespace=namespace))
    if namespace == "":
        assert problems == (), "an empty namespace means the Release's"
        return
    assert len(problems) == 1
    assert problems[0].object == "ConfigMap/ok"
    assert problems[0].message.startswith(f"metadata.namespace {namespace!r} ")


@pytest.mark.corpus("names")
@pytest.mark.parametrize(("name", "message"), [
    (5, "metadata.name must be a string, not int"),
    (["a"], "metadata.name must be a string, not list"),
    (None, "metadata.name is required"),
])
def test_a_name_that_is_not_a_string_is_refused(name: Any, message: str) -> None:
    assert problems_of(body("ConfigMap", name)) == (ObjectProblem("cm.yaml", "document 1", message),)


@pytest.mark.corpus("names")
def test_very_long_bad_names_are_cut_in_the_message() -> None:
    name = "A" * 10_000
    (problem,) = problems_of(body("ConfigMap", name))
    assert problem.message == f"metadata.name {'A' * 80!r}... must be at most 253 characters (has 10000)"


# --- F17: kinds; offline and controller agree ---------------------------------------------------


@pytest.mark.corpus("names")
@pytest.mark.parametrize(("api_version", "kind", "message"), [
    ("v1", "configmap", f"kind 'configmap' {NOT_A_KIND} (did you mean ConfigMap?)"),
    ("v1", "namespace", f"kind 'namespace' {NOT_A_KIND} (did you mean Namespace?)"),
    ("rbac.authorization.k8s.io/v1", "clusterRole", f"kind 'clusterRole' {NOT_A_KIND} (did you mean ClusterRole?)"),
    ("example.com/v1", "widget", f"kind 'widget' {NOT_A_KIND}"),
    ("v1", "Config/Map", f"kind 'Config/Map' {NOT_A_KIND}"),
    ("v1", "Configmap", "kind Configmap does not exist in API group core (v1)"),
    ("apps/v1", "Deploy", "kind Deploy does not exist in API group apps (apps/v1)"),
    ("networking.k8s.io/v1", "Ingres",
     "kind Ingres does not exist in API group networking.k8s.io (networking.k8s.io/v1)"),
])
def test_kinds_are_checked_the_same_everywhere(api_version: str, kind: str, message: str) -> None:
    assert kind_problem(api_version, kind) == message
    (problem,) = validate_objects([RenderedObject("k.yaml", 0, body(kind, "x", api_version))], "team")
    assert problem.message == message


@pytest.mark.corpus("names")
@pytest.mark.parametrize(("api_version", "kind", "namespaced"), [
    ("gateway.networking.k8s.io/v1", "GatewayClass", False),
    ("snapshot.storage.k8s.io/v1", "VolumeSnapshotClass", False),
    ("networking.k8s.io/v1", "IngressClass", False),
    ("networking.k8s.io/v1", "IPAddress", False),
    ("storage.k8s.io/v1", "VolumeAttributesClass", False),
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", False),
    ("policy.networking.k8s.io/v1alpha1", "AdminNetworkPolicy", False),
    ("gateway.networking.k8s.io/v1", "HTTPRoute", True),
    ("v1", "ConfigMap", True),
])
def test_offline_and_controller_agree_on_scope(api_version: str, kind: str, namespaced: bool) -> None:
    # The controller's discovery lookup cannot contradict the shared table; offline uses the table alone.
    controller = object_scope(api_version, kind, lambda _a, _k: not namespaced)
    offline = object_scope(api_version, kind, builtin_scope)
    assert controller is offline is namespaced
    if not namespaced:
        (problem,) = validate_objects([RenderedObject("c.yaml", 0, body(kind, "x", api_version))], "team")
        assert problem.message.startswith(f"cluster-scoped kind {kind} is not allowed")


@pytest.mark.corpus("names")
def test_unknown_custom_kinds_ask_discovery() -> None:
    assert object_scope("example.com/v1", "Widget", lambda _a, _k: False) is False
    assert object_scope("example.com/v1", "Widget", builtin_scope) is None


# --- F4: every URL path segment is quoted -------------------------------------------------------


class RecordingDynamic:
    """Stands in for the dynamic client: records the URL path each call would request."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def _record(self, resource: Resource, name: str | None = None, namespace: str | None = None,
                **_: Any) -> dict[str, Any]:
        self.paths.append(resource.path(name=name, namespace=namespace))
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "items": []}

    get = patch = delete = server_side_apply = _record

    def create(self, resource: Resource, body: Any = None, namespace: str | None = None, **_: Any) -> dict[str, Any]:
        return self._record(resource, namespace=namespace)


class Items:
    """A list response: what `list_objects` reads."""

    items: list[Any] = []

    def __init__(self, _: Any) -> None:
        pass


@pytest.fixture
def recorded() -> tuple[Kube, RecordingDynamic]:
    kube = object.__new__(Kube)
    dyn = RecordingDynamic()
    resource = Resource(prefix="api", api_version="v1", kind="ConfigMap", name="configmaps", namespaced=True)
    kube._dyn = dyn
    kube._lock = threading.Lock()
    kube.cache = kube._writes_to = None  # no watch-fed cache: every read is a request
    kube.resource = lambda api_version, kind: resource  # type: ignore[method-assign]
    original = dyn.get

    def get(resource: Resource, name: str | None = None, namespace: str | None = None, **kw: Any) -> Any:
        result = original(resource, name=name, namespace=namespace, **kw)
        return result if name else Items(result)

    dyn.get = get  # type: ignore[method-assign]
    return kube, dyn


@pytest.mark.corpus("names")
@pytest.mark.parametrize(("name", "namespace", "expected"), [
    (TRAVERSAL, "team",
     "/api/v1/namespaces/team/configmaps/x%2F..%2F..%2F..%2F..%2F..%2F..%2Fapi%2Fv1%2Fnamespaces%2Fkube-system"
     "%2Fsecrets%2Ffoo"),
    ("x?watch=true&dryRun=All", "team", "/api/v1/namespaces/team/configmaps/x%3Fwatch%3Dtrue%26dryRun%3DAll"),
    ("..", "team", "/api/v1/namespaces/team/configmaps/.."),
    ("ok", "../kube-system", "/api/v1/namespaces/..%2Fkube-system/configmaps/ok"),
    ("100%", "team", "/api/v1/namespaces/team/configmaps/100%25"),
    ("a#b", "team", "/api/v1/namespaces/team/configmaps/a%23b"),
])
def test_get_patch_apply_delete_quote_every_segment(
    recorded: tuple[Kube, RecordingDynamic], name: str, namespace: str, expected: str
) -> None:
    kube, dyn = recorded
    ref = Ref("v1", "ConfigMap", name, namespace)
    kube.get(ref)
    kube.patch(ref, {"data": {}})
    kube.json_patch(ref, [])
    kube.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}})
    kube.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}},
               dry_run=True)
    kube.delete(ref)
    assert dyn.paths == [expected] * 6


@pytest.mark.corpus("names")
def test_list_and_create_quote_the_namespace(recorded: tuple[Kube, RecordingDynamic]) -> None:
    kube, dyn = recorded
    kube.list_objects("v1", "ConfigMap", "a/b?c")
    kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "a/b?c"}})
    assert dyn.paths == ["/api/v1/namespaces/a%2Fb%3Fc/configmaps"] * 2


# --- F18: the CLI's release names and namespaces -------------------------------------------------


@pytest.fixture
def chart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    (tmp_path / "chart" / "templates").mkdir(parents=True)
    (tmp_path / "chart" / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n")
    return tmp_path / "chart"


@pytest.mark.corpus("cli")
@pytest.mark.parametrize(("name", "problem"), [
    ("Shop", SUBDOMAIN),
    ("shop/../x", SUBDOMAIN),
    ("shop?dryRun=All", SUBDOMAIN),
    ("s" * 64, "must be at most 63 characters (has 64)"),
    ("shop-", SUBDOMAIN),
    ("", "must not be empty"),
])
def test_cli_refuses_bad_release_names_with_usage_status(
    chart: Path, capsys: pytest.CaptureFixture[str], name: str, problem: str
) -> None:
    for command in ("template", "diff"):
        assert main([command, name, str(chart)]) == 2
        assert capsys.readouterr().err == f"error: release name {name!r}: {problem}\n"
    assert release_name_problem(name) == problem


@pytest.mark.corpus("cli")
@pytest.mark.parametrize(("namespace", "problem"), [
    ("Prod", LABEL),
    ("kube-system/secrets", LABEL),
    ("a.b", LABEL),
    ("n" * 64, "must be at most 63 characters (has 64)"),
])
def test_cli_refuses_bad_namespaces_with_usage_status(
    chart: Path, capsys: pytest.CaptureFixture[str], namespace: str, problem: str
) -> None:
    for command in ("template", "status"):
        args = [command, "shop", str(chart)] if command == "template" else [command, "shop"]
        assert main([*args, "-n", namespace]) == 2
        assert capsys.readouterr().err == f"error: -n/--namespace {namespace!r}: {problem}\n"


@pytest.mark.corpus("cli")
def test_cli_refuses_a_bad_namespace_from_the_kubeconfig_context(
    chart: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "contexts: [{name: c, context: {cluster: k, user: u, namespace: 'Team/x'}}]\n"
        "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {}}]\n")
    monkeypatch.setenv("KUBECONFIG", str(config))
    assert main(["template", "shop", str(chart)]) == 2
    assert capsys.readouterr().err == f"error: the kubeconfig context's namespace 'Team/x': {LABEL}\n"


@pytest.mark.corpus("cli")
def test_package_refuses_a_chart_name_that_cannot_name_a_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    directory = tmp_path / "My_Chart"
    (directory / "templates").mkdir(parents=True)
    (directory / "templates" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    assert main(["package", str(directory)]) == 2
    assert capsys.readouterr().err == (
        f"error: the chart's name 'My_Chart' cannot name a Release ({SUBDOMAIN}); pass --name\n")
    assert main(["package", str(directory), "--name", "my-chart"]) == 0


# --- F22: quantities that overflow -------------------------------------------------------------


@pytest.mark.corpus("values")
@pytest.mark.parametrize(("desired", "live", "drifts"), [
    ("1e9999999999", "1", True),
    ("1e99999999999999999999", "1e99999999999999999999", False),
    ("1E" + "9" * 5000, "1", True),
    ("1e-9999999999", "0", False),  # underflows to 0, as the server would round it
    ("9" * 5000 + "Ei", "1", True),
    ("1e999999", "1e999999", False),
])
def test_overflowing_quantities_compare_without_crashing(desired: str, live: str, drifts: bool) -> None:
    want = {"spec": {"resources": {"limits": {"cpu": desired}}}}
    have = {"spec": {"resources": {"limits": {"cpu": live}}}}
    details = drift_details(want, have)
    assert details == ((("spec.resources.limits.cpu", desired, live),) if drifts else ())
