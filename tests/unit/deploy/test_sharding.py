"""`rudder-controller --shard SELECTOR`: the label-selector syntax becomes the kopf label filter every handler
uses (equality, inequality, existence, absence, set membership; all requirements must hold), a malformed
selector is refused on the command line naming the requirement, and each shard owns a finalizer of its own
(the same for spellings of one selector) while the unsharded controller keeps `rudder.dev/finalizer`. The
sharded overlay runs a main controller for unlabelled objects and a shard controller for one label value, each
with its own peering object and disjoint pod selectors."""

from __future__ import annotations

import pytest

from rudder.controller import parse_args
from rudder.sharding import FINALIZER, ShardError, finalizer, matches, parse_shard
from tests.unit.deploy.manifests import KUSTOMIZATIONS, find, render

KEY = "rudder.dev/shard"


@pytest.mark.parametrize(("selector", "labels", "expected"), [
    (f"{KEY}=a", {KEY: "a"}, True),
    (f"{KEY}==a", {KEY: "a"}, True),
    (f"{KEY}=a", {KEY: "b"}, False),
    (f"{KEY}=a", {}, False),
    (f"{KEY}!=a", {KEY: "b"}, True),
    (f"{KEY}!=a", {}, True),
    (f"{KEY}!=a", {KEY: "a"}, False),
    (f"!{KEY}", {}, True),
    (f"!{KEY}", {KEY: "a"}, False),
    (KEY, {KEY: ""}, True),
    (KEY, {}, False),
    (f"{KEY} in (a, b)", {KEY: "b"}, True),
    (f"{KEY} in (a,b)", {KEY: "c"}, False),
    (f"{KEY} notin (a,b)", {KEY: "c"}, True),
    (f"{KEY} notin (a,b)", {}, True),
    (f"{KEY}=a,team", {KEY: "a", "team": "x"}, True),
    (f"{KEY}=a, team", {KEY: "a"}, False),
])
def test_selector_matches_like_a_kubernetes_label_selector(selector: str, labels: dict[str, str],
                                                            expected: bool) -> None:
    assert matches(parse_shard(selector), labels) is expected


@pytest.mark.parametrize(("selector", "message"), [
    ("", "empty selector"),
    (f"{KEY}=a,", "empty requirement"),
    (f"{KEY}=a b", "cannot parse 'rudder.dev/shard=a b'"),
    (f"{KEY} in ()", "expected a list of label values"),
    (f"{KEY}=a,{KEY}!=b", "appears twice"),
    ("bad key=1", "cannot parse"),
])
def test_malformed_selector_is_refused_naming_the_requirement(selector: str, message: str) -> None:
    with pytest.raises(ShardError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_shard(selector)


def test_the_command_line_refuses_a_bad_shard(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(["--shard", f"{KEY} in ()"])
    assert exc.value.code == 2
    assert "--shard: 'rudder.dev/shard in ()': expected a list of label values" in capsys.readouterr().err


def test_shard_reaches_the_config_and_its_handler_filter() -> None:
    cfg = parse_args(["--shard", f"{KEY}=a"])
    assert cfg.shard == f"{KEY}=a"
    assert cfg.shard_labels is not None and set(cfg.shard_labels) == {KEY}
    assert parse_args([]).shard_labels is None


def test_each_shard_owns_a_finalizer_and_spellings_of_one_selector_share_it() -> None:
    assert finalizer(None) == FINALIZER == "rudder.dev/finalizer"
    a = finalizer(f"{KEY}=a")
    assert a.startswith("rudder.dev/shard-") and len(a.split("/")[1]) <= 63
    assert a == finalizer(f" {KEY} = a ")
    assert finalizer(f"{KEY}=a,team") == finalizer(f"team, {KEY}=a")
    assert len({a, finalizer(f"{KEY}=b"), finalizer(f"!{KEY}"), FINALIZER}) == 4


def test_sharded_overlay_splits_objects_between_a_main_and_a_shard_controller() -> None:
    objects = render(KUSTOMIZATIONS["sharded"])
    main = find(objects, "Deployment", "rudder-controller")
    shard = find(objects, "Deployment", "rudder-controller-shard1")
    main_cfg = parse_args(main["spec"]["template"]["spec"]["containers"][0]["args"])
    shard_cfg = parse_args(shard["spec"]["template"]["spec"]["containers"][0]["args"])
    assert (main_cfg.shard, shard_cfg.shard) == (f"!{KEY}", f"{KEY}=shard1")
    assert main_cfg.shard_labels is not None and shard_cfg.shard_labels is not None
    for labels, owner in (({}, main_cfg), ({KEY: "shard1"}, shard_cfg), ({KEY: "shard2"}, None)):
        handled_by = [c for c in (main_cfg, shard_cfg) if matches(c.shard_labels or {}, labels)]
        assert handled_by == ([owner] if owner else []), labels
    # Each shard elects among its own replicas, on a peering object that exists.
    peerings = {o["metadata"]["name"] for o in objects if o["kind"] == "ClusterKopfPeering"}
    assert {main_cfg.peering, shard_cfg.peering} == {"rudder", "rudder-shard1"} <= peerings
    main_pods = main["spec"]["selector"]["matchLabels"]
    shard_pods = shard["spec"]["template"]["metadata"]["labels"]
    assert any(shard_pods.get(k) != v for k, v in main_pods.items()), "the main Deployment selects shard pods"
    assert shard["spec"]["template"]["spec"]["serviceAccountName"] == "rudder"
