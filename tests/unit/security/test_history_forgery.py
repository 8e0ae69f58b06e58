"""Stored history is untrusted input (issue 11, F1/F13): a ReleaseHistory is used only when owned by the
Release's uid and signed with the controller's key; its Secret payload must be the one it was signed with;
and even an authentic history's objects pass exactly the render path's validation and namespace forcing
before anything is applied. Every forgery ends as HistoryCorrupt (or a rejected verdict), nothing applied."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from rudder.domain.history_auth import (
    PAYLOAD_DIGEST_ANNOTATION,
    SIGNATURE_ANNOTATION,
    Trust,
    screen_histories,
    verify_history,
    verify_payload,
)
from rudder.domain.history_codec import HistoryCorrupt, encode_manifest
from rudder.domain.labels import MANAGED_BY_LABEL, RELEASE_LABEL, RELEASE_NAMESPACE_ANNOTATION
from rudder.domain.ownership import ReleaseIdentity
from rudder.domain.plan import plan_rollback, stored_objects
from rudder.domain.status import FailureReason

from .history_support import (
    KEY,
    OTHER_KEY,
    OWNER,
    config_map,
    forged_payload,
    genuine,
    mutated,
)

KUBE_SYSTEM_SECRET = {"apiVersion": "v1", "kind": "Secret",
                      "metadata": {"name": "cluster-ca", "namespace": "kube-system"}, "data": {"x": "eQ=="}}


def _without_owner(body: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(body)
    out["metadata"].pop("ownerReferences")
    return out


def _owner_ref(uid: str, controller: bool = True) -> list[dict[str, Any]]:
    return [{"apiVersion": "rudder.dev/v1alpha1", "kind": "Release", "name": "shop", "uid": uid,
             "controller": controller}]


def _manifest_with_kube_system(body: dict[str, Any]) -> dict[str, Any]:
    encoded = encode_manifest([KUBE_SYSTEM_SECRET])
    out = copy.deepcopy(body)
    out["spec"].update(manifest=encoded.manifest, manifestDigest=encoded.digest)
    return out


def _resigned_elsewhere(body: dict[str, Any]) -> dict[str, Any]:
    # A genuine history of Release `shop` in `staging`, copied into prod and re-owned by prod's Release.
    other, _ = genuine(owner=ReleaseIdentity("shop", "staging", "uid-staging"))
    other["metadata"]["namespace"] = "prod"
    other["metadata"]["ownerReferences"] = _owner_ref(OWNER.uid)
    return other


FORGERIES = {
    "label-only (no ownerReference)": (_without_owner, Trust.NOT_OWNED),
    "ownerReference to another uid": (lambda b: mutated(b, ("metadata", "ownerReferences"), _owner_ref("x")),
                                      Trust.NOT_OWNED),
    "non-controller ownerReference": (
        lambda b: mutated(b, ("metadata", "ownerReferences"), _owner_ref(OWNER.uid, controller=False)),
        Trust.NOT_OWNED),
    "other namespace": (lambda b: mutated(b, ("metadata", "namespace"), "kube-system"), Trust.NOT_OWNED),
    "spec.release of another Release": (lambda b: mutated(b, ("spec", "release"), "bank"), Trust.MALFORMED),
    "revision not an integer": (lambda b: mutated(b, ("spec", "revision"), "1"), Trust.MALFORMED),
    "revision zero": (lambda b: mutated(b, ("spec", "revision"), 0), Trust.MALFORMED),
    "spec missing": (lambda b: {k: v for k, v in b.items() if k != "spec"}, Trust.MALFORMED),
    "signature removed": (
        lambda b: mutated(b, ("metadata", "annotations"), {PAYLOAD_DIGEST_ANNOTATION: "x"}), Trust.UNSIGNED),
    "signature altered": (
        lambda b: mutated(b, ("metadata", "annotations", SIGNATURE_ANNOTATION),
                          b["metadata"]["annotations"][SIGNATURE_ANNOTATION][:-4] + "0000"), Trust.FORGED),
    "manifest replaced (kube-system objects)": (_manifest_with_kube_system, Trust.FORGED),
    "inventory entry added": (
        lambda b: mutated(b, ("spec", "inventory"), [*b["spec"]["inventory"], {
            "apiVersion": "v1", "kind": "Secret", "name": "x/../../../kube-system/secrets/cluster-ca"}]),
        Trust.FORGED),
    "secretRef redirected": (lambda b: mutated(b, ("spec", "secretRef"), {"name": "other"}), Trust.FORGED),
    "revision renumbered": (lambda b: mutated(b, ("spec", "revision"), 7), Trust.FORGED),
    "renamed": (lambda b: mutated(b, ("metadata", "name"), "shop-v9"), Trust.FORGED),
    "payload digest swapped": (
        lambda b: mutated(b, ("metadata", "annotations", PAYLOAD_DIGEST_ANNOTATION), "sha256:" + "0" * 64),
        Trust.FORGED),
    "copied from another namespace's Release": (_resigned_elsewhere, Trust.FORGED),
}


@pytest.mark.corpus("history")
@pytest.mark.parametrize("case", FORGERIES, ids=list(FORGERIES))
def test_forged_or_foreign_histories_are_rejected(case: str) -> None:
    forge, trust = FORGERIES[case]
    body, _ = genuine()
    verdict = verify_history(forge(body), OWNER, KEY)
    assert verdict.trust is trust
    assert not verdict.usable
    assert "shop-v" in verdict.message and ("not" in verdict.message or "ignored" in verdict.message)


@pytest.mark.corpus("history")
def test_a_history_signed_with_another_key_is_forged() -> None:
    body, _ = genuine(key=OTHER_KEY)
    verdict = verify_history(body, OWNER, KEY)
    assert verdict.trust is Trust.FORGED
    assert verdict.message == "ReleaseHistory shop-v1 has an invalid signature (altered or forged); it is not used"


def test_genuine_history_verifies_also_after_the_api_server_turns_floats_into_integers() -> None:
    body, _ = genuine(values={"replicas": 2.0, "ratio": 0.5})
    assert verify_history(body, OWNER, KEY).usable
    read_back = mutated(body, ("spec", "values"), {"replicas": 2, "ratio": 0.5})
    assert verify_history(read_back, OWNER, KEY).usable


@pytest.mark.corpus("history")
def test_unsigned_histories_are_used_only_with_the_migration_flag() -> None:
    body, _ = genuine()
    legacy = mutated(body, ("metadata", "annotations"), {})
    assert verify_history(legacy, OWNER, KEY).trust is Trust.UNSIGNED
    assert verify_history(legacy, OWNER, KEY, accept_unsigned=True).usable
    # The flag never extends to histories the Release does not own.
    assert verify_history(_without_owner(legacy), OWNER, KEY, accept_unsigned=True).trust is Trust.NOT_OWNED


@pytest.mark.corpus("history")
def test_screening_keeps_authentic_histories_sorted_and_lists_the_rest_with_reasons() -> None:
    first, _ = genuine(revision=1)
    second, _ = genuine(revision=2)
    forged = _without_owner(genuine(revision=3)[0])
    garbage = {"metadata": {"name": "shop-v4", "namespace": "prod", "ownerReferences": _owner_ref(OWNER.uid)},
               "spec": {"release": "shop", "revision": "four"}}
    screened = screen_histories([second, forged, garbage, first], OWNER, KEY)
    assert [h["spec"]["revision"] for h in screened.accepted] == [1, 2]
    assert [(r.name, r.revision, r.verdict.trust) for r in screened.rejected] == [
        ("shop-v3", 3, Trust.NOT_OWNED), ("shop-v4", None, Trust.MALFORMED)]
    assert screened.rejection_of(3) is not None and screened.rejection_of(1) is None


PAYLOAD_TAMPERING = {
    "replaced with kube-system objects": lambda data: forged_payload({"0": KUBE_SYSTEM_SECRET}),
    "removed": lambda data: None,
    "emptied": lambda data: {},
    "payload key dropped": lambda data: {"other": "eA=="},
    "replaced by an older genuine payload": lambda data: genuine(
        [config_map(), {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
                        "stringData": {"password": "old"}}])[1],
}


@pytest.mark.corpus("history")
@pytest.mark.parametrize("case", PAYLOAD_TAMPERING, ids=list(PAYLOAD_TAMPERING))
def test_a_payload_other_than_the_signed_one_is_refused(case: str) -> None:
    body, data = genuine()
    problem = verify_payload(body, PAYLOAD_TAMPERING[case](data))
    assert problem is not None
    assert problem in {"the history's Secret payload is missing",
                       "the history's Secret payload is not the one this history was written with "
                       "(altered or replaced)"}
    assert verify_payload(body, data) is None


STORED_INVALID = {
    "kube-system namespace": (
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cluster-ca", "namespace": "kube-system"}},
        "ReleaseHistory shop-v1: Secret/cluster-ca: namespace 'kube-system' is not the Release's namespace 'prod'"),
    "cluster-scoped kind not allowed": (
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "pwn"}, "roleRef": {}, "subjects": []},
        "ReleaseHistory shop-v1: ClusterRoleBinding/pwn: cluster-scoped kind ClusterRoleBinding is not allowed"),
    "missing name": ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}},
                     "ReleaseHistory shop-v1: document 2: metadata.name is required"),
    "List kind": ({"apiVersion": "v1", "kind": "List", "metadata": {"name": "l"}, "items": []},
                  "ReleaseHistory shop-v1: List/l: List objects are not supported"),
    "reserved history Secret name": (
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "shop-v2-secret"}},
        "ReleaseHistory shop-v1: Secret/shop-v2-secret: the name is reserved for the Release's history Secrets"),
    "Namespace object": ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}},
                         "ReleaseHistory shop-v1: Namespace/kube-system: cluster-scoped kind Namespace"),
}


@pytest.mark.corpus("history")
@pytest.mark.parametrize("case", STORED_INVALID, ids=list(STORED_INVALID))
def test_authentic_history_objects_pass_the_render_path_validation(case: str) -> None:
    # Independent of the signature (a key leak, a bug): stored objects never leave the namespace.
    bad, message = STORED_INVALID[case]
    body, data = genuine([config_map()])
    forged_spec = encode_manifest([config_map(), bad])
    body = mutated(body, ("spec", "manifest"), forged_spec.manifest)
    body = mutated(body, ("spec", "manifestDigest"), forged_spec.digest)
    with pytest.raises(HistoryCorrupt) as caught:
        stored_objects(body, data, OWNER)
    assert str(caught.value).startswith("stored objects fail validation: ")
    assert message in str(caught.value)


@pytest.mark.corpus("history")
def test_payload_objects_are_validated_too() -> None:
    # The payload replaces manifest positions: its objects go through the same validation.
    body, _ = genuine([config_map()])
    data = forged_payload({"0": KUBE_SYSTEM_SECRET})
    with pytest.raises(HistoryCorrupt, match="namespace 'kube-system' is not the Release's namespace 'prod'"):
        stored_objects(body, data, OWNER)


@pytest.mark.corpus("history")
def test_rollback_plan_of_a_confinement_breaking_history_is_history_corrupt() -> None:
    body, data = genuine([config_map()])
    escaped = encode_manifest([dict(config_map(), metadata={"name": "cfg", "namespace": "kube-system"})])
    body = mutated(body, ("spec", "manifest"), escaped.manifest)
    body = mutated(body, ("spec", "manifestDigest"), escaped.digest)
    failure = plan_rollback(body, data, current_revision=2, owner=OWNER)
    assert getattr(failure, "reason", None) == FailureReason.HISTORY_CORRUPT
    assert getattr(failure, "message", "").startswith("revision 1: stored objects fail validation: ")


def test_stored_objects_are_marked_as_the_releases_again() -> None:
    body, data = genuine([config_map(), {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                                         "metadata": {"name": "reader"}, "rules": []}])
    objects = stored_objects(body, data, OWNER, allowed_cluster_kinds={"ClusterRole"})
    cm, role = objects
    assert cm["metadata"]["namespace"] == "prod"
    assert cm["metadata"]["labels"][RELEASE_LABEL] == "shop" and cm["metadata"]["labels"][MANAGED_BY_LABEL]
    assert [r["uid"] for r in cm["metadata"]["ownerReferences"]] == [OWNER.uid]
    assert "namespace" not in role["metadata"]
    assert role["metadata"]["annotations"][RELEASE_NAMESPACE_ANNOTATION] == "prod"


def test_a_genuine_history_round_trips_exactly() -> None:
    body, data = genuine()
    assert verify_history(body, OWNER, KEY).usable and verify_payload(body, data) is None
    restored = stored_objects(body, data, OWNER)
    assert restored[1]["stringData"] == {"password": "correct-horse-battery"}
