"""`spec.postRender` from spec to plan: the spec is parsed with every problem named by field; common
metadata lands on every object; patches apply in order to the objects their target selects (kind, name,
group, version with wildcards, label and annotation selectors; a strategic merge patch may name its own
object); anything that does not apply, matches nothing, or would change an object's identity or move it out
of the Release's namespace fails naming `spec.postRender.patches[i]...` with nothing returned; the plan
validates, digests and records the patched objects, and a rollback restores the patches exactly."""

from __future__ import annotations

from typing import Any

import pytest

from rudder.domain import Failure, FailureReason, RevisionPlan, content_digest, plan_revision, plan_rollback
from rudder.models import FieldError, SpecError, parse_release_spec
from rudder.postrender.apply import post_render
from rudder.postrender.spec import PostRender, parse_post_render
from rudder.render.engine import RenderedObject

from .conftest import OWNER, obj

WEB = obj("Deployment", "web", "apps/v1", labels={"tier": "front"}, annotations={"team": "a"}, spec={
    "replicas": 1, "template": {"spec": {"containers": [{"name": "web", "image": "web:1"}]}}})
API = obj("Deployment", "api", "apps/v1", labels={"tier": "back"}, spec={
    "replicas": 1, "template": {"spec": {"containers": [{"name": "api", "image": "api:1"}]}}})
CONFIG = obj("ConfigMap", "web-config", data={"a": "1"})
RENDERED = tuple(RenderedObject(f"{o['metadata']['name']}.yaml", 0, o) for o in (WEB, API, CONFIG))


def spec_of(raw: dict[str, Any]) -> PostRender:
    parsed, problems = parse_post_render(raw)
    assert problems == []
    return parsed


def patched(raw: dict[str, Any], namespace: str = "prod") -> dict[str, dict[str, Any]]:
    out = post_render(spec_of(raw), RENDERED, namespace)
    assert not isinstance(out, FieldError), str(out)
    return {item.body["metadata"]["name"]: dict(item.body) for item in out}


def failure(raw: dict[str, Any], namespace: str = "prod") -> str:
    out = post_render(spec_of(raw), RENDERED, namespace)
    assert isinstance(out, FieldError)
    return str(out)


def test_common_metadata_lands_on_every_object_over_the_charts() -> None:
    out = patched({"commonMetadata": {"labels": {"tier": "all", "cost": "x"}, "annotations": {"owner": "b"}}})
    for body in out.values():
        assert body["metadata"]["labels"]["tier"] == "all"
        assert body["metadata"]["labels"]["cost"] == "x"
        assert body["metadata"]["annotations"]["owner"] == "b"
    assert out["web"]["metadata"]["annotations"]["team"] == "a"
    assert "labels" not in out["web"]["spec"]["template"].get("metadata", {})  # pod templates are left alone


def test_a_json_patch_applies_to_every_object_its_target_selects() -> None:
    out = patched({"patches": [{"target": {"kind": "Deployment"},
                                "patch": "- {op: replace, path: /spec/replicas, value: 3}"}]})
    assert out["web"]["spec"]["replicas"] == out["api"]["spec"]["replicas"] == 3
    assert out["web-config"] == CONFIG


@pytest.mark.parametrize(("target", "selected"), [
    ({"kind": "Deployment", "name": "w*"}, {"web"}),
    ({"name": "*-config"}, {"web-config"}),
    ({"group": "apps", "version": "v1"}, {"web", "api"}),
    ({"group": ""}, {"web-config"}),
    ({"labelSelector": "tier in (front,back)"}, {"web", "api"}),
    ({"labelSelector": "tier!=front"}, {"api", "web-config"}),
    ({"annotationSelector": "team=a"}, {"web"}),
    ({"kind": "Deployment", "annotationSelector": "!team"}, {"api"}),
])
def test_targets_select_by_wildcards_and_selectors(target: dict[str, str], selected: set[str]) -> None:
    out = patched({"patches": [{"target": target, "patch": "metadata: {labels: {hit: 'yes'}}"}]})
    assert {name for name, body in out.items() if body["metadata"].get("labels", {}).get("hit") == "yes"} == selected


def test_a_strategic_merge_patch_without_target_patches_the_object_it_names() -> None:
    out = patched({"patches": [{"patch": """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
        - name: proxy
          image: proxy:1
"""}]})
    assert [c["name"] for c in out["web"]["spec"]["template"]["spec"]["containers"]] == ["web", "proxy"]
    assert len(out["api"]["spec"]["template"]["spec"]["containers"]) == 1


def test_patches_apply_in_order_and_see_the_common_metadata() -> None:
    out = patched({"commonMetadata": {"labels": {"env": "prod"}}, "patches": [
        {"target": {"labelSelector": "env=prod", "kind": "ConfigMap"},
         "patch": '{"metadata": {"labels": {"step": "1"}}}'},
        {"target": {"labelSelector": "step=1"}, "patch": '[{"op": "add", "path": "/data/b", "value": "2"}]'},
    ]})
    assert out["web-config"]["data"] == {"a": "1", "b": "2"}


def test_a_patch_may_move_a_stray_object_into_the_releases_namespace() -> None:
    stray = RenderedObject("cm.yaml", 0, obj("ConfigMap", "stray", namespace="elsewhere"))
    out = post_render(spec_of({"patches": [{"target": {"name": "stray"},
                                            "patch": "[{op: remove, path: /metadata/namespace}]"}]}), [stray], "prod")
    assert not isinstance(out, FieldError)
    assert "namespace" not in out[0].body["metadata"]


@pytest.mark.parametrize(("raw", "message"), [
    ({"patches": [{"target": {"kind": "Deployment"}, "patch": "[{op: replace, path: /spec/replicass, value: 1}]"}]},
     "spec.postRender.patches[0].patch: Deployment/web: op 0 (replace /spec/replicass): /spec/replicass does not"),
    ({"patches": [{"target": {"kind": "Service"}, "patch": "metadata: {labels: {a: b}}"}]},
     "spec.postRender.patches[0].target: matches no rendered object (kind='Service')"),
    ({"patches": [{"patch": "[{op: add, path: /a, value: 1}]"}]},
     "spec.postRender.patches[0].target: is required for a JSON 6902 patch"),
    ({"patches": [{"patch": "spec: {replicas: 2}"}]},
     "spec.postRender.patches[0].target: is required unless the strategic merge patch names its object"),
    ({"patches": [{"target": {"kind": "ConfigMap"}, "patch": "data: [a\n  b: c"}]},
     "spec.postRender.patches[0].patch: line 2:"),
    ({"patches": [{"target": {"kind": "ConfigMap"}, "patch": "just text"}]},
     "spec.postRender.patches[0].patch: must be a strategic merge patch (a YAML mapping) or a JSON 6902 patch"),
    ({"patches": [{"target": {"kind": "ConfigMap"}, "patch": "[{op: frob, path: /a}]"}]},
     "spec.postRender.patches[0].patch: op 0: op must be one of"),
    ({"patches": [{"target": {"kind": "ConfigMap"}, "patch": "metadata: {namespace: kube-system}"}]},
     "spec.postRender.patches[0].patch: ConfigMap/web-config: a patch may not move an object out of the "
     "Release's namespace 'prod' (metadata.namespace 'kube-system')"),
    ({"patches": [{"target": {"kind": "ConfigMap"}, "patch": "[{op: replace, path: /kind, value: Secret}]"}]},
     "a patch may not change kind ('ConfigMap' -> 'Secret')"),
    ({"patches": [{"target": {"kind": "ConfigMap"}, "patch": "{apiVersion: v2}"}]},
     "a patch may not change apiVersion"),
    ({"patches": [{"target": {"kind": "Deployment"}, "patch": "metadata: {name: web}"}]},
     "Deployment/api: a patch may not change metadata.name ('api' -> 'web')"),
    ({"patches": [{"target": {"kind": "ConfigMap"}, "patch": "[{op: replace, path: '', value: 1}]"}]},
     "ConfigMap/web-config: the result is not an object"),
    ({"patches": [{"target": {"kind": "ConfigMap"}, "patch": "[{op: remove, path: /metadata}]"}]},
     "a patch may not remove metadata"),
    ({"patches": [{"target": {"kind": "ConfigMap"}, "patch": "{}"},
                  {"target": {"kind": "Deployment"}, "patch": "{spec: {template: {spec: {containers: [{}]}}}}"}]},
     "spec.postRender.patches[1].patch: Deployment/web: spec.template.spec.containers[0]: has no name"),
])
def test_a_patch_that_cannot_apply_fails_naming_the_field(raw: dict[str, Any], message: str) -> None:
    assert message in failure(raw)


@pytest.mark.parametrize(("raw", "field"), [
    ("yes", "spec.postRender: must be a mapping"),
    ({"patches": {"patch": "a"}}, "spec.postRender.patches: must be a list"),
    ({"patches": ["x"]}, "spec.postRender.patches[0]: must be a mapping with patch and target"),
    ({"patches": [{"target": {"kind": "A"}}]}, "spec.postRender.patches[0].patch: is required"),
    ({"patches": [{"patch": "a: 1", "target": {"namespace": "x"}}]},
     "spec.postRender.patches[0].target: unknown field(s) namespace"),
    ({"patches": [{"patch": "a: 1", "target": {"labelSelector": "a in b"}}]},
     "spec.postRender.patches[0].target.labelSelector: cannot parse 'a in b'"),
    ({"patches": [{"patch": "a: 1", "target": {"kind": 3}}]}, "spec.postRender.patches[0].target.kind: must be"),
    ({"commonMetadata": {"labels": {"rudder.dev/release": "x"}}},
     "spec.postRender.commonMetadata.labels['rudder.dev/release']: keys under rudder.dev/ are Rudder's own"),
    ({"commonMetadata": {"labels": {"team": "has space"}}},
     "spec.postRender.commonMetadata.labels['team']: is not a valid label value"),
    ({"commonMetadata": {"annotations": {"Bad Key": "v"}}},
     "spec.postRender.commonMetadata.annotations['Bad Key']: is not a valid key"),
    ({"commonMetadata": {"annotations": {"n": 1}}},
     "spec.postRender.commonMetadata.annotations['n']: must be a string"),
    ({"patches": [{"patch": "a: 1"}] * 65}, "spec.postRender.patches: at most 64 patches"),
    ({"patches": [{"patch": "a: " + "x" * 65_536}]}, "spec.postRender.patches[0].patch: longer than 65536 characters"),
])
def test_a_malformed_post_render_is_an_invalid_spec_naming_the_field(raw: Any, field: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_release_spec({"chart": {"templates": {}}, "postRender": raw})
    assert field in str(caught.value)


# --- the plan -------------------------------------------------------------------------------------

TEMPLATES = {"deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "web:1"}]
"""}
PATCHED = {"commonMetadata": {"labels": {"team": "payments"}},
           "patches": [{"target": {"kind": "Deployment"}, "patch": "- {op: replace, path: /spec/replicas, value: 4}"}]}


def plan(post: Any = None, revision: int = 1) -> RevisionPlan | Failure:
    raw: dict[str, Any] = {"chart": {"templates": TEMPLATES}}
    if post is not None:
        raw["postRender"] = post
    return plan_revision(parse_release_spec(raw), OWNER, revision)


def test_the_plan_applies_validates_and_records_the_patched_objects() -> None:
    planned = plan(PATCHED)
    assert isinstance(planned, RevisionPlan)
    (deployment,) = planned.objects
    assert deployment["spec"]["replicas"] == 4
    assert deployment["metadata"]["labels"]["team"] == "payments"
    assert deployment["metadata"]["labels"]["rudder.dev/release"] == "shop"  # Rudder's labels still set
    assert planned.history["spec"]["postRender"] == PATCHED
    rolled = plan_rollback(planned.history, None, current_revision=2, owner=OWNER)
    assert not isinstance(rolled, Failure)
    assert rolled.objects[0]["spec"]["replicas"] == 4  # the stored manifest is the patched one
    assert {"op": "add", "path": "/spec/postRender", "value": PATCHED} in rolled.spec_patch


def test_post_render_is_part_of_the_content_digest_but_absent_keeps_the_old_digest() -> None:
    bare = parse_release_spec({"chart": {"templates": TEMPLATES}})
    empty = parse_release_spec({"chart": {"templates": TEMPLATES}, "postRender": {"patches": []}})
    patched_spec = parse_release_spec({"chart": {"templates": TEMPLATES}, "postRender": PATCHED})
    assert content_digest(bare) == content_digest(empty)
    assert content_digest(patched_spec) != content_digest(bare)
    unpatched = plan()
    assert isinstance(unpatched, RevisionPlan) and "postRender" not in unpatched.history["spec"]
    assert {"op": "remove", "path": "/spec/postRender"} in plan_rollback(
        unpatched.history, None, current_revision=2, owner=OWNER).spec_patch  # type: ignore[union-attr]


def test_a_patch_failure_fails_the_plan_with_nothing_to_apply() -> None:
    failed = plan({"patches": [{"target": {"kind": "Deployment"}, "patch": "[{op: remove, path: /spec/nope}]"}]})
    assert isinstance(failed, Failure)
    assert failed.reason == FailureReason.POST_RENDER_FAILED
    assert failed.message.startswith("spec.postRender.patches[0].patch: Deployment/web: op 0 (remove /spec/nope)")


def test_validation_runs_on_the_patched_objects() -> None:
    template = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: other}\n"
    stray = {"chart": {"templates": {"cm.yaml": template}}}
    refused = plan_revision(parse_release_spec(stray), OWNER, 1)
    assert isinstance(refused, Failure) and refused.reason == FailureReason.INVALID_OBJECTS
    fix = {"patches": [{"target": {"kind": "ConfigMap"}, "patch": "[{op: remove, path: /metadata/namespace}]"}]}
    fixed = plan_revision(parse_release_spec({**stray, "postRender": fix}), OWNER, 1)
    assert isinstance(fixed, RevisionPlan)
    assert fixed.objects[0]["metadata"]["namespace"] == "prod"
    rename = "[{op: add, path: /metadata/name, value: x}]"
    renamed = plan({"patches": [{"target": {"kind": "Deployment"}, "patch": rename}]})
    assert isinstance(renamed, Failure) and "may not change metadata.name" in renamed.message


def test_a_revision_that_changes_only_the_patches_says_so() -> None:
    first = plan(PATCHED)
    assert isinstance(first, RevisionPlan)
    changed = {**PATCHED, "commonMetadata": {"labels": {"team": "risk"}}}
    second = plan_revision(parse_release_spec({"chart": {"templates": TEMPLATES}, "postRender": changed}), OWNER, 2,
                           previous=first.history["spec"], previous_revision=1)
    assert isinstance(second, RevisionPlan)
    assert "postRender" in second.description
    assert "ConfigMap/Secret" not in second.description
