"""Prune and uninstall delete only what carries this Release's ownership (issue 11, F1/F12): stored
inventory entries must be valid object names (a traversal such as `x/../../../kube-system/secrets/ca`
never reaches a request path), a forged, label-only ReleaseHistory is ignored, the live object is checked
before every DELETE, and a cluster-scoped object is owned by namespace AND name."""

from __future__ import annotations

from typing import Any

import pytest

from rudder.domain.history import history_inventory, inventory_entry_problem, is_history_secret_name
from rudder.domain.history_codec import HistoryCorrupt
from rudder.domain.labels import RELEASE_NAMESPACE_ANNOTATION
from rudder.domain.ownership import OwnershipVerdict, ReleaseIdentity, check_ownership, decorate, owned_for_delete
from rudder.domain.plan import plan_revision
from rudder.domain.status import FailureReason
from rudder.kube import finalize
from rudder.kube.applier import prune
from rudder.kube.client import Ref
from rudder.models import ObjectRef, parse_release_spec

from .history_support import KEY, OWNER, config_map, genuine

TRAVERSAL = "x/../../../kube-system/secrets/cluster-ca"

BAD_ENTRIES = {
    "traversal": ("v1", "Secret", TRAVERSAL, f"name {TRAVERSAL!r} of Secret is not a valid object name"),
    "dot-dot": ("v1", "ConfigMap", "..", "name '..' of ConfigMap is not a valid object name"),
    "query string": ("v1", "ConfigMap", "a?dryRun=All", "is not a valid object name"),
    "percent-encoding": ("v1", "ConfigMap", "a%2F..%2Fb", "is not a valid object name"),
    "upper case": ("v1", "ConfigMap", "Web", "is not a valid object name"),
    "space": ("v1", "ConfigMap", "a b", "is not a valid object name"),
    "newline": ("v1", "ConfigMap", "web\n", "is not a valid object name"),
    "leading dash": ("v1", "ConfigMap", "-web", "is not a valid object name"),
    "empty name": ("v1", "ConfigMap", "", "is empty or longer than 253 characters"),
    "254 characters": ("v1", "ConfigMap", "a" * 254, "is empty or longer than 253 characters"),
    "RBAC name with a slash": ("rbac.authorization.k8s.io/v1", "Role", "a/b", "of Role is not a valid object name"),
    "RBAC name dot-dot": ("rbac.authorization.k8s.io/v1", "ClusterRole", "..", "is not a valid object name"),
    "RBAC name with percent": ("rbac.authorization.k8s.io/v1", "Role", "a%2e", "is not a valid object name"),
    "kind with a slash": ("v1", "secrets/x", "web", "kind 'secrets/x' is not a valid kind"),
    "kind empty": ("v1", "", "web", "kind '' is not a valid kind"),
    "kind with dots": ("v1", "..", "web", "kind '..' is not a valid kind"),
    "apiVersion traversal": ("../../v1", "Secret", "web", "apiVersion '../../v1' is not a valid group/version"),
    "apiVersion group traversal": ("apps/../v1", "Deployment", "web", "is not a valid group/version"),
    "apiVersion query": ("v1?x=y", "Secret", "web", "is not a valid group/version"),
    "apiVersion empty": ("", "Secret", "web", "is not a valid group/version"),
    "apiVersion upper-case group": ("Apps/v1", "Deployment", "web", "is not a valid group/version"),
}


@pytest.mark.corpus("names")
@pytest.mark.parametrize("case", BAD_ENTRIES, ids=list(BAD_ENTRIES))
def test_invalid_inventory_entries_are_refused_before_any_request(case: str) -> None:
    api_version, kind, name, message = BAD_ENTRIES[case]
    assert message in (inventory_entry_problem(api_version, kind, name) or "")
    spec = {"inventory": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "ok"},
                          {"apiVersion": api_version, "kind": kind, "name": name}]}
    with pytest.raises(HistoryCorrupt) as caught:
        history_inventory(spec)
    assert str(caught.value).startswith("spec.inventory[1]: ")
    assert message in str(caught.value)


@pytest.mark.corpus("names")
@pytest.mark.parametrize("inventory", [
    "x", [["v1", "Secret", "x"]], [{"apiVersion": "v1", "kind": "Secret", "name": 5}],
    [{"apiVersion": "v1", "kind": "Secret"}], [{"kind": "Secret", "name": "x", "apiVersion": None}],
], ids=["a string", "entry a list", "name a number", "name missing", "apiVersion null"])
def test_malformed_inventory_shapes_are_history_corrupt(inventory: Any) -> None:
    with pytest.raises(HistoryCorrupt, match=r"spec\.inventory"):
        history_inventory({"inventory": inventory})


@pytest.mark.parametrize(("api_version", "kind", "name"), [
    ("v1", "ConfigMap", "web"), ("apps/v1", "Deployment", "web-1.a"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", "system:controller:x"),
    ("networking.istio.io/v1beta1", "VirtualService", "a" * 253), ("example.com/v1alpha1", "Widget", "w"),
])
def test_valid_inventory_entries_pass(api_version: str, kind: str, name: str) -> None:
    assert inventory_entry_problem(api_version, kind, name) is None


def test_history_secret_names_are_recognised() -> None:
    assert is_history_secret_name("shop", "shop-v12-secret")
    assert not is_history_secret_name("shop", "shop-v-secret")
    assert not is_history_secret_name("sh.p", "shxp-v1-secret")
    assert not is_history_secret_name("shop", "shop-v1-secret-2")


@pytest.mark.corpus("history")
def test_a_chart_secret_may_not_take_the_history_secret_name() -> None:
    raw = {"chart": {"templates": {"s.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: shop-v2-secret}\n"}}}
    failure = plan_revision(parse_release_spec(raw), OWNER, 1)
    assert getattr(failure, "reason", None) == FailureReason.INVALID_OBJECTS
    assert getattr(failure, "message", "") == (
        "s.yaml: Secret/shop-v2-secret: the name is reserved for the Release's history Secrets "
        "(<release>-v<N>-secret)")


# -- live ownership before DELETE -----------------------------------------------------------------

NAMESPACED = decorate(config_map("web"), OWNER, 1)
CLUSTER = decorate({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                    "metadata": {"name": "reader"}}, OWNER, 1, namespaced=False)


def _with(obj: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {**obj, "metadata": {**obj["metadata"], **meta}}


NOT_OURS = {
    "no labels": (_with(NAMESPACED, labels={}), True),
    "another Release's label": (_with(NAMESPACED, labels={**NAMESPACED["metadata"]["labels"],
                                                          "rudder.dev/release": "bank"}), True),
    "ownerReference to another uid": (_with(NAMESPACED, ownerReferences=[
        {**NAMESPACED["metadata"]["ownerReferences"][0], "uid": "uid-other"}]), True),
    "no ownerReference": (_with(NAMESPACED, ownerReferences=[]), True),
    "another namespace": (_with(NAMESPACED, namespace="kube-system"), True),
    "cluster-scoped of a same-named Release elsewhere": (_with(CLUSTER, annotations={
        RELEASE_NAMESPACE_ANNOTATION: "staging"}), False),
    "cluster-scoped without the namespace annotation": (_with(CLUSTER, annotations={}), False),
}


@pytest.mark.corpus("history")
@pytest.mark.parametrize("case", NOT_OURS, ids=list(NOT_OURS))
def test_objects_without_this_releases_ownership_are_never_deleted(case: str) -> None:
    live, namespaced = NOT_OURS[case]
    assert not owned_for_delete(live, OWNER, namespaced=namespaced)


def test_decorated_objects_are_ours_to_delete() -> None:
    assert owned_for_delete(NAMESPACED, OWNER)
    assert owned_for_delete(CLUSTER, OWNER, namespaced=False)


@pytest.mark.corpus("names")
def test_cluster_scoped_ownership_is_by_namespace_and_name() -> None:
    # F12: Release `shop` in `staging` created the ClusterRole; Release `shop` in `prod` must not own it.
    staging = ReleaseIdentity("shop", "staging", "uid-staging")
    theirs = decorate(CLUSTER, staging, 1, namespaced=False)
    verdict = check_ownership(theirs, OWNER, namespaced=False)
    assert verdict.verdict is OwnershipVerdict.CONFLICT
    assert verdict.message == (
        "ClusterRole/reader belongs to Release staging/shop; to adopt it, annotate it "
        "rudder.dev/release-namespace=prod")
    assert check_ownership(theirs, staging, namespaced=False).verdict is OwnershipVerdict.OWNED
    legacy = _with(CLUSTER, annotations={})
    assert "in an unknown namespace" in check_ownership(legacy, OWNER, namespaced=False).message


class FakeKube:
    """Just enough of `Kube` for prune and uninstall: objects by (kind, namespace, name); records deletes."""

    def __init__(self, objects: list[dict[str, Any]], histories: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
        self.objects = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objects}
        self.histories = list(histories)
        self.deleted: list[Ref] = []
        self.events: list[dict[str, Any]] = []

    def is_namespaced(self, api_version: str, kind: str) -> bool:
        return kind not in {"ClusterRole", "Namespace"}

    def get(self, ref: Ref) -> dict[str, Any] | None:
        namespace = ref.namespace if self.is_namespaced(ref.api_version, ref.kind) else None
        return self.objects.get((ref.kind, namespace, ref.name))

    def delete(self, ref: Ref, *, propagation: str = "Background") -> bool:
        self.deleted.append(ref)
        return True

    def patch(self, ref: Ref, patch: Any) -> dict[str, Any]:
        return {}

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        self.events.append(body)
        return body

    def list_objects(self, api_version: str, kind: str, namespace: str | None, selector: str = "") -> list[Any]:
        return list(self.histories)


@pytest.mark.corpus("history")
def test_prune_leaves_a_stale_object_alone_unless_its_live_form_is_ours() -> None:
    foreign = _with(config_map("db"), namespace="prod")  # unlabelled, someone else's
    kube = FakeKube([NAMESPACED, foreign])
    deleted, kept = prune(kube, [ObjectRef("v1", "ConfigMap", "web"), ObjectRef("v1", "ConfigMap", "db")],  # type: ignore[arg-type]
                          "prod", OWNER)
    assert deleted == (ObjectRef("v1", "ConfigMap", "web"),)
    assert kept == (ObjectRef("v1", "ConfigMap", "db"),)
    assert kube.deleted == [Ref("v1", "ConfigMap", "web", "prod")]


def _release() -> dict[str, Any]:
    return {"apiVersion": "rudder.dev/v1alpha1", "kind": "Release",
            "metadata": {"name": "shop", "namespace": "prod", "uid": OWNER.uid}}


@pytest.mark.corpus("history")
def test_uninstall_ignores_a_label_only_forged_history_with_a_traversal_entry() -> None:
    genuine_history, _ = genuine([config_map("web")])
    forged = {"apiVersion": "rudder.dev/v1alpha1", "kind": "ReleaseHistory",
              "metadata": {"name": "shop-v9", "namespace": "prod", "uid": "forged",
                           "labels": {"rudder.dev/release": "shop"}},
              "spec": {"release": "shop", "revision": 9, "manifest": "", "manifestDigest": "",
                       "inventory": [{"apiVersion": "v1", "kind": "Secret", "name": TRAVERSAL},
                                     {"apiVersion": "v1", "kind": "ConfigMap", "name": "db"}]}}
    kube = FakeKube([NAMESPACED, _with(config_map("db"), namespace="prod")], [genuine_history, forged])
    remaining = finalize.uninstall(kube, _release(), KEY)  # type: ignore[arg-type]
    assert [(r.kind, r.namespace, r.name) for r in kube.deleted] == [("ConfigMap", "prod", "web")]
    assert remaining == [ObjectRef("v1", "ConfigMap", "web")]
    warnings = [e for e in kube.events if e.get("reason") == "HistoryIgnored"]
    assert [e["message"] for e in warnings] == [
        "ReleaseHistory shop-v9 is not owned by this Release (uid uid-shop); ignored"]


@pytest.mark.corpus("history")
def test_uninstall_skips_an_owned_history_whose_inventory_is_invalid() -> None:
    # Owned and (with the migration flag) accepted, but its traversal entry never becomes a request.
    history, _ = genuine([config_map("web")])
    history["metadata"]["annotations"] = {}
    history["spec"]["inventory"] = [{"apiVersion": "v1", "kind": "Secret", "name": TRAVERSAL}]
    history["metadata"]["uid"] = "legacy-uid"
    kube = FakeKube([NAMESPACED], [history])
    assert finalize.uninstall(kube, _release(), KEY, accept_unsigned=True) == []  # type: ignore[arg-type]
    assert all(r.kind == "ReleaseHistory" for r in kube.deleted)
    assert any("spec.inventory[0]" in e.get("message", "") for e in kube.events)
