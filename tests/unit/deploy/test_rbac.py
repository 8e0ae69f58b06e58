"""The rendered RBAC (the base's ClusterRole, the namespaced overlay's Role) grants no wildcard and
no verb beyond an allow-list derived from the code: every API call goes through the `Kube` class of
rudder/kube/client.py (the canary controller uses it too), each of its methods maps to known verbs,
and kopf adds list/watch/patch/create. Secrets are never listed or watched, impersonation is limited
to ServiceAccounts and their group, and the third-party kinds granted are exactly the ones the canary
routers declare."""

from __future__ import annotations

import ast
import inspect

import pytest

from canary.routers import ROUTERS
from rudder.kube.client import Kube
from tests.unit.deploy.manifests import KUSTOMIZATIONS, REPO, Grant, grants, rbac_rules, render

# What each public method of `Kube` sends to the API server, as RBAC verbs. Server-side apply is a
# PATCH, and the API server also authorizes `create` when the applied object does not exist yet.
VERBS_OF_KUBE_METHOD: dict[str, frozenset[str]] = {
    "get": frozenset({"get"}),
    "list_objects": frozenset({"list"}),
    "iter_namespaced": frozenset({"list"}),
    "list_page": frozenset({"list"}),
    "watch_events": frozenset({"watch"}),
    "apply": frozenset({"patch", "create"}),
    "create": frozenset({"create"}),
    "patch": frozenset({"patch"}),
    "json_patch": frozenset({"patch"}),
    "delete": frozenset({"delete"}),
    "impersonate": frozenset({"impersonate"}),
    # Discovery (/api, /apis) is open to every authenticated user; no RBAC rule is involved.
    "resource": frozenset(),
    "is_namespaced": frozenset(),
    "from_environment": frozenset(),
}
# kopf lists and watches the kinds it serves, its peering objects, CRDs and namespaces; it patches
# finalizers, progress annotations and peering keep-alives; it creates Events.
KOPF_VERBS = frozenset({"list", "watch", "patch", "create"})
ALLOWED_VERBS = frozenset().union(*VERBS_OF_KUBE_METHOD.values(), KOPF_VERBS)
# The kinds kopf watches: the two it serves, its peering objects, and what it observes for patterns.
KOPF_WATCHED = {("rudder.dev", "releases"), ("rudder.dev", "canaryreleases"), ("kopf.dev", "clusterkopfpeerings"),
                ("kopf.dev", "kopfpeerings"), ("apiextensions.k8s.io", "customresourcedefinitions"),
                ("", "namespaces")}
IO_LAYERS = ("rudder/kube", "canary/kube")


def rendered_grants(name: str) -> set[Grant]:
    return set(grants(rbac_rules(render(KUSTOMIZATIONS[name]))))


def test_the_allow_list_covers_every_way_the_code_reaches_the_api() -> None:
    public = {name for name, _ in inspect.getmembers(Kube) if not name.startswith("_")}
    assert public == set(VERBS_OF_KUBE_METHOD), "a new Kube method: map it to its RBAC verbs here"
    assert {"get", "list", "watch", "create", "patch", "delete", "impersonate"} == ALLOWED_VERBS


@pytest.mark.parametrize("layer", IO_LAYERS)
def test_only_the_kube_client_module_imports_the_kubernetes_client(layer: str) -> None:
    """So that `Kube` is the only door to the API, and the verb map above is complete."""
    for path in sorted((REPO / layer).glob("*.py")):
        if path == REPO / "rudder" / "kube" / "client.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(m == "kubernetes" or m.startswith("kubernetes.") for m in modules), \
                f"{path.relative_to(REPO)} talks to the API without rudder.kube.client.Kube"


@pytest.mark.parametrize("name", ["base", "namespaced"])
def test_no_wildcard_and_no_verb_beyond_the_allow_list(name: str) -> None:
    rules = rbac_rules(render(KUSTOMIZATIONS[name]))
    assert rules
    for rule in rules:
        assert "nonResourceURLs" not in rule
        for key in ("apiGroups", "resources", "verbs", "resourceNames"):
            assert not any("*" in value for value in rule.get(key) or []), f"wildcard in {key}: {rule}"
    verbs = {g.verb for g in grants(rules)}
    assert verbs <= ALLOWED_VERBS, f"verbs the code never uses: {sorted(verbs - ALLOWED_VERBS)}"


@pytest.mark.parametrize("name", ["base", "namespaced"])
def test_sensitive_grants_are_narrow(name: str) -> None:
    granted = rendered_grants(name)
    secrets = {g.verb for g in granted if g.group == "" and g.resource == "secrets"}
    assert secrets == {"get", "create", "patch", "delete"}, "Secrets are read by name, never listed or watched"
    watched = {(g.group, g.resource) for g in granted if g.verb == "watch"}
    # Besides kopf's kinds, the watch-fed caches watch what the controllers read (get), and nothing else.
    read = {(g.group, g.resource) for g in granted if g.verb in {"get", "list"}}
    assert watched <= KOPF_WATCHED | read
    assert ("", "secrets") not in watched
    impersonation = {(g.group, g.resource, g.names) for g in granted if g.verb == "impersonate"}
    assert impersonation == {("", "serviceaccounts", ())}
    assert not {g for g in granted if g.resource.startswith(("clusterroles", "clusterrolebindings"))}
    assert all(not g.names for g in granted if g.verb != "impersonate")


def test_every_rudder_kind_is_covered_and_status_is_patched_only_where_written() -> None:
    granted = rendered_grants("base")
    plurals = set()
    for path in (REPO / "crds").glob("*.yaml"):
        plurals.add(path.read_text().split("plural:", 1)[1].split()[0])
    covered = {g.resource for g in granted if g.group == "rudder.dev" and "/" not in g.resource}
    assert covered == plurals
    status = {g.resource for g in granted if g.resource.endswith("/status")}
    assert status == {"releases/status", "canaryreleases/status", "releasehistories/status"}
    assert {g.verb for g in granted if g.resource.endswith("/status")} == {"patch"}


def test_third_party_kinds_are_exactly_those_the_routers_declare() -> None:
    declared = {(crd.split(".", 1)[1], crd.split(".", 1)[0]) for router in ROUTERS.values() for crd in router.crds}
    granted = rendered_grants("base")
    core_groups = {"", "apps", "batch", "autoscaling", "networking.k8s.io", "policy", "rbac.authorization.k8s.io",
                   "apiextensions.k8s.io", "rudder.dev", "kopf.dev"}
    third_party = {(g.group, g.resource) for g in granted if g.group not in core_groups}
    assert third_party == declared
    for group, resource in declared:
        assert {"get", "patch"} <= {g.verb for g in granted if (g.group, g.resource) == (group, resource)}

