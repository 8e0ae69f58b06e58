"""`rudder diff` never prints a secret: a Secret's `data`/`stringData` show only as changed or added (F8), a
`stringData` Secret compares as the server stores it (no change forever), and `diff`/`upgrade` render with
the Release's `valuesFrom`, read as the CLI's user, so they show only what the upgrade would change and a
chart that `required`s a valuesFrom value renders (F9); values derived from secrets are redacted."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from rudder.cli import diff as diff_command
from rudder.cli.chartsource import chart_spec, load_chart
from rudder.cli.diffing import Change, diff_dict, format_diff, object_diff, release_diff, secret_as_stored
from rudder.cli.errors import CliError
from rudder.cli.main import main
from rudder.cli.rendering import ValuesFromUnreadable, plan_offline, read_values_from, with_live_values_from
from rudder.domain.redaction import REDACTED, Redactor
from rudder.kube.client import KubeError, Ref

SENTINEL = "Sentinel-7c1e-diff"
OLD = "Old-password-3b9d"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, **fields}


def no_leak(text: str, *secrets: str) -> bool:
    return not any(form in text for s in secrets for form in (s, b64(s), json.dumps(s)[1:-1]))


def rendered(item: Any) -> str:
    diff = release_diff({"chart": {}, "values": {}}, {"chart": {}, "values": {}}, [item])
    return format_diff(diff, "team/shop", exists=True) + json.dumps(diff_dict(diff))


# --- F8: Secret values ---------------------------------------------------------------------------


@pytest.mark.corpus("secrets")
@pytest.mark.parametrize(("desired", "live"), [
    (secret(stringData={"password": SENTINEL}), secret(data={"password": b64(SENTINEL)}, type="Opaque")),
    (secret(data={"password": b64(SENTINEL)}), secret(data={"password": b64(SENTINEL)})),
    (secret(data={"password": b64(SENTINEL)[:8] + "\n" + b64(SENTINEL)[8:]}), secret(data={"password": b64(SENTINEL)})),
    (secret(data={"password": b64(OLD)}, stringData={"password": SENTINEL}), secret(data={"password": b64(SENTINEL)})),
    (secret(stringData={}), secret()),
])
def test_secrets_that_match_what_the_server_stores_are_unchanged(desired: dict[str, Any], live: dict[str, Any]) -> None:
    assert object_diff(desired, live).change is Change.UNCHANGED


@pytest.mark.corpus("secrets")
@pytest.mark.parametrize(("desired", "live", "line"), [
    (secret(stringData={"password": SENTINEL}), secret(data={"password": b64(OLD)}),
     "    data.password: (secret value changed; not shown)"),
    (secret(data={"password": b64(SENTINEL)}), secret(data={"password": b64(OLD)}),
     "    data.password: (secret value changed; not shown)"),
    (secret(stringData={"token": SENTINEL}), secret(data={"password": b64(OLD)}),
     "    data.token: (secret value added; not shown)"),
    (secret(stringData={"token": SENTINEL}), secret(),
     "    data: (secret value added; not shown)"),
    (secret(data={"a": b64(SENTINEL)}), secret(data="not-a-map"),
     "    data: (secret value changed; not shown)"),
])
def test_changed_secret_data_is_reported_without_values(
    desired: dict[str, Any], live: dict[str, Any], line: str
) -> None:
    item = object_diff(desired, live)
    assert item.change is Change.UPDATE
    text = rendered(item)
    assert line in text.splitlines()
    assert no_leak(text, SENTINEL, OLD)
    fields = diff_dict(release_diff(None, {}, [item]))["objects"][0]["fields"]
    assert all(set(f) == {"path", "secret", "change"} for f in fields)


@pytest.mark.corpus("secrets")
def test_other_fields_of_a_secret_are_shown() -> None:
    item = object_diff(secret(type="kubernetes.io/tls", stringData={"k": SENTINEL}),
                       secret(type="Opaque", data={"k": b64(SENTINEL)}))
    assert [(f.path, f.live, f.desired, f.secret) for f in item.fields] == [
        ("type", "Opaque", "kubernetes.io/tls", False)]


@pytest.mark.corpus("secrets")
def test_secret_as_stored_folds_string_data_over_data() -> None:
    assert secret_as_stored(secret(data={"a": b64("1"), "b": b64("2")}, stringData={"b": "3"})) == secret(
        data={"a": b64("1"), "b": b64("3")})


@pytest.mark.corpus("secrets")
@pytest.mark.parametrize(("desired", "live"), [
    ({"data": {"url": f"postgres://app:{SENTINEL}@db"}}, {"data": {"url": "postgres://app:x@db"}}),
    ({"data": {"token": b64(SENTINEL)}}, {"data": {"token": b64(OLD)}}),
    ({"data": {"json": json.dumps({"pw": SENTINEL})}}, {"data": {}}),
    ({"data": {SENTINEL: "key"}}, {"data": {"other": "x"}}),
])
def test_secret_derived_values_of_other_objects_are_redacted(desired: dict[str, Any], live: dict[str, Any]) -> None:
    base = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}}
    item = object_diff({**base, **desired}, {**base, **live}, Redactor.of([SENTINEL, OLD]))
    assert item.change is Change.UPDATE
    text = rendered(item)
    assert no_leak(text, SENTINEL, OLD)
    assert REDACTED in text


# --- F9: valuesFrom ------------------------------------------------------------------------------


REQUIRING = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n"
             "data: {user: '{{ values.get(\"db\", {}).get(\"user\")"
             " | required(\"db.user comes from valuesFrom\") }}',\n"
             "       checksum: '{{ values.db.password | sha256 }}'}\n")
VALUES_FROM = [{"secretKeyRef": {"name": "creds", "key": "values.yaml"}}]
CREDS = f"db: {{user: app, password: {SENTINEL}}}\n"


def body_with(values_from: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"chart": {"templates": {"cm.yaml": REQUIRING}}, "values": {}}
    if values_from:
        spec["valuesFrom"] = values_from
    return {"apiVersion": "rudder.dev/v1alpha1", "kind": "Release",
            "metadata": {"name": "shop", "namespace": "team"}, "spec": spec}


class FakeKube:
    """The objects a CLI user can read; `forbidden` names the Secrets they may not."""

    def __init__(self, objects: list[dict[str, Any]], forbidden: tuple[str, ...] = ()) -> None:
        self.objects = {(o["kind"], o["metadata"]["name"]): o for o in objects}
        self.forbidden = forbidden

    def resource(self, api_version: str, kind: str) -> object:
        return object()

    def is_namespaced(self, api_version: str, kind: str) -> bool:
        return True

    def get(self, ref: Ref) -> dict[str, Any] | None:
        if ref.kind == "Secret" and ref.name in self.forbidden:
            raise KubeError(403, "Forbidden", f'secrets "{ref.name}" is forbidden')
        return self.objects.get((ref.kind, ref.name))

    def list_objects(self, *_: Any, **__: Any) -> list[dict[str, Any]]:
        return []


def creds_secret(text: str = CREDS) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "data": {"values.yaml": b64(text)}}


@pytest.mark.corpus("cli")
def test_a_chart_requiring_a_values_from_value_renders_with_the_releases_values_from() -> None:
    live = body_with(VALUES_FROM)
    merged = with_live_values_from(body_with(), live)
    assert merged["spec"]["valuesFrom"] == VALUES_FROM
    contents = read_values_from(FakeKube([creds_secret()]), merged)  # type: ignore[arg-type]
    plan = plan_offline(merged, Path("chart"), values_from_contents=contents)
    assert plan.objects[0]["data"]["user"] == "app"
    with pytest.raises(CliError, match=r"db\.user comes from valuesFrom"):
        plan_offline(body_with(), Path("chart"))


@pytest.mark.corpus("cli")
@pytest.mark.parametrize(("kube", "error", "message"), [
    (FakeKube([]), CliError,
     "spec.valuesFrom[0].secretKeyRef: Secret creds not found (the controller would fail the same way)"),
    (FakeKube([creds_secret()], forbidden=("creds",)), ValuesFromUnreadable,
     "spec.valuesFrom: cannot read the Release's valuesFrom sources as you "
     '(secrets "creds" is forbidden (HTTP 403 Forbidden)); rendering needs them'),
])
def test_unreadable_or_missing_values_from_is_a_clear_error(
    kube: FakeKube, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as raised:
        read_values_from(kube, body_with(VALUES_FROM))  # type: ignore[arg-type]
    assert str(raised.value) == message


@pytest.mark.corpus("secrets")
def test_render_errors_of_the_cli_quote_no_values_from_secret() -> None:
    bad = body_with(VALUES_FROM)
    bad["spec"]["chart"]["templates"]["cm.yaml"] = "a: '{{ values.db[values.db.password] }}'\n"
    with pytest.raises(CliError) as raised:
        plan_offline(bad, Path("chart"), values_from_contents=[CREDS])
    assert SENTINEL not in str(raised.value) and REDACTED in str(raised.value)


@pytest.fixture
def chart_dir(tmp_path: Path) -> Path:
    (tmp_path / "chart" / "templates").mkdir(parents=True)
    (tmp_path / "chart" / "templates" / "cm.yaml").write_text(REQUIRING)
    (tmp_path / "chart" / "templates" / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: '{{ values.db.password }}'}\n")
    return tmp_path / "chart"


def live_objects(chart: Path, password: str) -> list[dict[str, Any]]:
    release = body_with(VALUES_FROM)
    release["spec"]["chart"] = chart_spec(load_chart(str(chart)), archive=False)
    release["status"] = {"revision": 1}
    meta = {"namespace": "team", "labels": {"app.kubernetes.io/managed-by": "rudder", "rudder.dev/release": "shop"}}
    return [
        release, creds_secret(f"db: {{user: app, password: {password}}}\n"),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", **meta},
         "data": {"user": "app", "checksum": hashlib.sha256(password.encode()).hexdigest()}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", **meta}, "data": {"password": b64(password)}},
    ]


@pytest.mark.corpus("cli")
def test_diff_of_an_unchanged_release_with_values_from_shows_no_differences(
    chart_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(diff_command, "connect", lambda target: FakeKube(live_objects(chart_dir, SENTINEL)))
    assert main(["diff", "shop", str(chart_dir), "-n", "team"]) == 0
    out, err = capsys.readouterr()
    assert out == "no differences (2 objects up to date)\n", out + err


@pytest.mark.corpus("secrets")
@pytest.mark.parametrize("output", [[], ["-o", "json"], ["-o", "yaml"]])
def test_diff_after_a_secret_rotation_shows_what_changes_but_no_value(
    chart_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], output: list[str]
) -> None:
    objects = live_objects(chart_dir, OLD)
    objects[1] = creds_secret()  # the valuesFrom Secret now holds SENTINEL; the live objects still OLD
    monkeypatch.setattr(diff_command, "connect", lambda target: FakeKube(objects))
    assert main(["diff", "shop", str(chart_dir), "-n", "team", *output]) == 1
    out, err = capsys.readouterr()
    assert "data.password" in out and "checksum" in out
    assert no_leak(out + err, SENTINEL)
