"""The CLI renders post-render patches as the controller does: `rudder template --post-render FILE` applies
a spec.postRender offline, a bad file or patch is one error line naming it, and `diff`/`upgrade` render
with the live Release's postRender (which the CLI never writes, so an upgrade keeps it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rudder.cli.main import main
from rudder.cli.rendering import with_live_values_from
from rudder.render import load_documents

REPO = Path(__file__).resolve().parents[3]
WEB_APP = REPO / "examples" / "web-app"
POST_RENDER = """\
commonMetadata:
  labels: {team: payments}
patches:
  - target: {kind: Deployment}
    patch: |
      - {op: add, path: /spec/replicas, value: 7}
"""


@pytest.fixture
def no_kubeconfig(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)


def test_template_applies_the_post_render_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, no_kubeconfig: None
) -> None:
    path = tmp_path / "post.yaml"
    path.write_text(POST_RENDER)
    assert main(["template", "shop", str(WEB_APP), "-n", "prod", "--post-render", str(path)]) == 0
    printed = list(load_documents(capsys.readouterr().out))
    assert all(o["metadata"]["labels"]["team"] == "payments" for o in printed)
    assert next(o for o in printed if o["kind"] == "Deployment")["spec"]["replicas"] == 7


@pytest.mark.parametrize(("text", "message"), [
    ("patches:\n  - target: {kind: Nope}\n    patch: 'metadata: {labels: {a: b}}'\n",
     "error: PostRenderFailed: spec.postRender.patches[0].target: matches no rendered object (kind='Nope')\n"),
    ("patches: [a\n", "post.yaml:2: "),
    ("commonMetadata: {labels: {rudder.dev/x: y}}\n",
     "spec.postRender.commonMetadata.labels['rudder.dev/x']: keys under rudder.dev/ are Rudder's own"),
])
def test_a_bad_post_render_file_is_one_error_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, no_kubeconfig: None, text: str, message: str
) -> None:
    path = tmp_path / "post.yaml"
    path.write_text(text)
    assert main(["template", "shop", str(WEB_APP), "-n", "prod", "--post-render", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and message in err and err.count("\n") == 1


def test_diff_and_upgrade_render_with_the_live_post_render() -> None:
    body = {"metadata": {"name": "shop"}, "spec": {"chart": {"archive": "x"}, "values": {}}}
    live = {"spec": {"chart": {}, "postRender": {"commonMetadata": {"labels": {"a": "b"}}}}}
    assert with_live_values_from(body, live)["spec"]["postRender"] == live["spec"]["postRender"]
    assert "postRender" not in with_live_values_from(body, {"spec": {}})["spec"]
