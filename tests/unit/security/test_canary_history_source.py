"""The promotion source a CanaryRelease reads from its Release's current ReleaseHistory (issue 11, F1): only
a history owned by the Release's uid and signed by the Release controller names it. A tenant's forgery
(unsigned, signed with another key, altered, bearing a bad signature, owned by another uid, or claiming
another revision) names nothing, so a canary never takes someone else's revision for its own promotion."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from canary.domain.observed import HistoryTrust, promotion_source
from rudder.domain.history_auth import SIGNATURE_ANNOTATION, SIGNATURE_SCHEME, HistoryKey, sign_history
from rudder.domain.ownership import ReleaseIdentity

from .history_support import KEY, OTHER_KEY, OWNER, genuine

TRUST = HistoryTrust(KEY)


def promoted(*, revision: int = 2, key: HistoryKey = KEY, owner: ReleaseIdentity = OWNER) -> dict[str, Any]:
    """The signed ReleaseHistory of a revision promoted from the CanaryRelease shop-v2."""
    return genuine(revision=revision, owner=owner, key=key, promoted_from="shop-v2")[0]


def _unsigned() -> dict[str, Any]:
    body = promoted()
    del body["metadata"]["annotations"][SIGNATURE_ANNOTATION]
    return body


def _altered() -> dict[str, Any]:
    # A genuine promotion from shop-v2, its source rewritten to another canary; the signature kept.
    body = copy.deepcopy(promoted())
    body["spec"]["source"]["canaryRelease"] = "shop-v3"
    return body


def _bad_signature() -> dict[str, Any]:
    body = promoted()
    body["metadata"]["annotations"][SIGNATURE_ANNOTATION] = f"{SIGNATURE_SCHEME}:{'0' * 64}"
    return body


def _other_owner() -> dict[str, Any]:
    # Signed for a Release of the same name whose uid is not this one (a deleted and re-created Release's).
    return promoted(owner=ReleaseIdentity(OWNER.name, OWNER.namespace, "uid-other"))


def test_a_signed_history_owned_by_the_release_names_its_canary() -> None:
    assert promotion_source(promoted(), OWNER, 2, TRUST) == "shop-v2"


def test_a_history_of_another_kind_or_no_history_names_none() -> None:
    upgrade = promoted()
    upgrade["spec"]["source"] = {"kind": "Upgrade"}
    assert promotion_source(sign_history(upgrade, KEY, OWNER, None), OWNER, 2, TRUST) is None
    assert promotion_source(None, OWNER, 2, TRUST) is None


@pytest.mark.parametrize("forgery", [
    pytest.param(_unsigned, id="unsigned"),
    pytest.param(lambda: promoted(key=OTHER_KEY), id="signed-with-another-key"),
    pytest.param(_altered, id="altered-source"),
    pytest.param(_bad_signature, id="bad-signature"),
    pytest.param(_other_owner, id="owned-by-another-uid"),
    pytest.param(lambda: promoted(revision=3), id="another-revision"),
])
def test_a_forged_history_names_no_canary(forgery: Any) -> None:
    assert promotion_source(forgery(), OWNER, 2, TRUST) is None


def test_the_migration_flag_accepts_an_owned_unsigned_history_only() -> None:
    migrating = HistoryTrust(KEY, accept_unsigned=True)
    assert promotion_source(_unsigned(), OWNER, 2, migrating) == "shop-v2"
    assert promotion_source(_other_owner(), OWNER, 2, migrating) is None
    assert promotion_source(_altered(), OWNER, 2, migrating) is None
