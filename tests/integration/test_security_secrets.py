"""A secret never leaves: sentinel values held only in valuesFrom Secrets, rendered into a chart Secret (its
`stringData` and, base64-encoded, its `data`), into a ConfigMap and into the notes, then driven through
install, a render error that quotes a secret, an API server rejection that quotes one, a valuesFrom
document whose YAML error names one, a secret rotation (revision 2) and a rollback. Afterwards every place a
tenant or a log reader can look (the ReleaseHistory objects — the history's own Secret aside —, the Release
and its status, every Event of the namespace, the controller log, and the output of `rudder diff`, `status`,
`history`, `upgrade` and `rollback`) is searched for each sentinel in clear, base64 and JSON-escaped form:
no hit."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from rudder.cli.chartsource import chart_spec, load_chart
from tests.support.cli import RUDDER, run
from tests.support.cluster import Cluster
from tests.support.controller import ControllerProcess
from tests.support.releases import GROUP, VERSION, create_release, get_release, histories, patch_release, wait_release
from tests.support.secrets import sentinel_hits

pytestmark = pytest.mark.integration

PASSWORD = "Sentinel-pw-5e2b-never-leaves"  # valuesFrom Secret `creds`
ROTATED = "Sentinel-pw-rotated-81c4"  # `creds` after rotation
TOKEN = "Tok€n-Sentinel-7d0c"  # valuesFrom Secret `tokens`; non-ASCII so its JSON escape differs
BROKEN = "Sentinel-alias-3f9a"  # named by a YAML error in a valuesFrom document
SENTINELS = (PASSWORD, ROTATED, TOKEN, BROKEN)

TEMPLATES = {
    "secret.yaml": (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\n"
        "stringData:\n  password: {{ values.db.password | required('db.password comes from valuesFrom') | quote }}\n"
        "data:\n  token: {{ values.token | b64enc }}\n"
    ),
    "config.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\n"
        "data:\n  dsn: {{ ('postgres://app:' ~ values.db.password ~ '@db') | quote }}\n"
        "  checksum: {{ values.db.password | sha256 }}\n"
        "  settings: {{ {'token': values.token} | tojson | quote }}\n"
    ),
    "NOTES.txt": "connect with {{ values.db.password }} and {{ values.token | b64enc }}",
}
# Failing variants: a template that names a secret in its error, and a label the API server rejects quoting it.
UNDEFINED_KEY = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad}\n"
                 "data: {a: '{{ values.db[values.db.password] }}'}\n")
REJECTED_LABEL = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\n"
                  "  labels: {pw: '{{ values.db.password }}!'}\n")


def hits(where: str, text: str) -> list[str]:
    return sentinel_hits(where, text, SENTINELS)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def put_secret(cluster: Cluster, namespace: str, name: str, text: str) -> None:
    body = client.V1Secret(metadata=client.V1ObjectMeta(name=name), data={"values.yaml": b64(text)})
    try:
        cluster.core.replace_namespaced_secret(name, namespace, body)
    except client.exceptions.ApiException as exc:
        if exc.status != 404:
            raise
        cluster.core.create_namespaced_secret(namespace, body)


def rudder(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    return run(RUDDER, cluster, *args)


def templates_with(**extra: str) -> dict[str, str]:
    return {**TEMPLATES, **extra}


def set_templates(cluster: Cluster, namespace: str, templates: dict[str, str]) -> None:
    # A merge patch: a null removes a template the new set no longer has.
    live = get_release(cluster, namespace, "shop")["spec"]["chart"]["templates"]
    patch: dict[str, Any] = {**dict.fromkeys(live), **templates}
    patch_release(cluster, namespace, "shop", {"spec": {"chart": {"templates": patch}}})


@pytest.mark.corpus("secrets")
def test_no_secret_value_leaves_through_any_path(
    cluster: Cluster, namespace: str, controller: ControllerProcess, tmp_path: Path
) -> None:
    chart_dir = tmp_path / "chart"
    (chart_dir / "templates").mkdir(parents=True)
    for name, text in TEMPLATES.items():
        (chart_dir / "templates" / name).write_text(text)
    chart = chart_spec(load_chart(str(chart_dir)), archive=False)
    put_secret(cluster, namespace, "creds", f"db:\n  password: {PASSWORD}\n")
    put_secret(cluster, namespace, "tokens", f"token: {TOKEN}\n")
    values_from = [{"secretKeyRef": {"name": "creds", "key": "values.yaml"}},
                   {"secretKeyRef": {"name": "tokens", "key": "values.yaml"}}]
    outputs: list[tuple[str, subprocess.CompletedProcess[str]]] = []

    def cli(*args: str, code: int = 0) -> None:
        done = rudder(cluster, *args, "-n", namespace)
        outputs.append((" ".join(args), done))
        assert done.returncode == code, f"rudder {' '.join(args)}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"

    # Install; the chart Secret, the ConfigMap and the notes carry the secrets in several forms.
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Release", "metadata": {"name": "shop"},
            "spec": {"chart": chart, "values": {}, "valuesFrom": values_from}}
    create_release(cluster, namespace, body)
    wait_release(cluster, namespace, "shop", phase="Ready", revision=1)
    assert cluster.core.read_namespaced_secret("db", namespace).data["password"] == b64(PASSWORD)

    # F9: diff and upgrade render with the Release's valuesFrom: nothing to change, `required` satisfied.
    cli("diff", "shop", str(chart_dir))
    cli("diff", "shop", str(chart_dir), "-o", "json")
    cli("upgrade", "shop", str(chart_dir))
    assert "unchanged" in outputs[-1][1].stdout

    # A render error that names a secret (an undefined key looked up by the secret's value).
    set_templates(cluster, namespace, templates_with(**{"bad.yaml": UNDEFINED_KEY}))
    failed = wait_release(cluster, namespace, "shop", phase="Failed", message="bad.yaml")
    assert "values.db.(redacted) is undefined" in failed["status"]["message"]

    # The API server rejects a label quoting the secret in its message.
    set_templates(cluster, namespace, templates_with(**{"bad.yaml": REJECTED_LABEL}))
    rejected = wait_release(cluster, namespace, "shop", phase="Failed", message="Invalid value")
    assert '"(redacted)!"' in rejected["status"]["message"], rejected["status"]["message"]

    # A valuesFrom document whose YAML error would name an alias that is a secret.
    set_templates(cluster, namespace, TEMPLATES)
    put_secret(cluster, namespace, "broken", f"extra: *{BROKEN}\n")
    patch_release(cluster, namespace, "shop", {"spec": {"valuesFrom": [
        *values_from, {"secretKeyRef": {"name": "broken", "key": "values.yaml"}}]}})
    wait_release(cluster, namespace, "shop", phase="Failed", message="found undefined alias (...)")
    patch_release(cluster, namespace, "shop", {"spec": {"valuesFrom": values_from}})
    wait_release(cluster, namespace, "shop", phase="Ready", revision=1)

    # Rotation: revision 2 renders the new password; then roll back to revision 1 (restored from history).
    put_secret(cluster, namespace, "creds", f"db:\n  password: {ROTATED}\n")
    wait_release(cluster, namespace, "shop", phase="Ready", revision=2, timeout=120)
    assert cluster.core.read_namespaced_secret("db", namespace).data["password"] == b64(ROTATED)
    cli("diff", "shop", str(chart_dir))
    cli("rollback", "shop", "1", "--wait", "--timeout", "2m")
    assert cluster.core.read_namespaced_secret("db", namespace).data["password"] == b64(PASSWORD)
    # The rolled-back Release now differs from its valuesFrom: diff shows what changes, without values.
    cli("diff", "shop", str(chart_dir), code=1)
    assert "data.password: (secret value changed; not shown)" in outputs[-1][1].stdout
    cli("diff", "shop", str(chart_dir), "-o", "yaml", code=1)
    for args in (("status", "shop"), ("status", "shop", "-o", "yaml"), ("history", "shop"),
                 ("history", "shop", "-o", "json")):
        cli(*args)

    # Every place a reader can look.
    leaks: list[str] = []
    release = get_release(cluster, namespace, "shop")
    assert release["status"]["notes"].startswith("connect with (redacted) and (redacted)")
    leaks += hits("Release", json.dumps(release))
    stored = histories(cluster, namespace, "shop")
    assert [h["spec"]["revision"] for h in stored] == [1, 2]
    leaks += hits("ReleaseHistory", json.dumps(stored))
    events = cluster.core.list_namespaced_event(namespace).items
    leaks += hits("Events", json.dumps([cluster.api.sanitize_for_serialization(e) for e in events]))
    for command, done in outputs:
        leaks += hits(f"rudder {command}", done.stdout + done.stderr)
    assert controller.log_path is not None
    log = controller.log_path.read_text(errors="replace")  # unbuffered: written as it happened
    assert f"releases {namespace}/shop: driven by events" in log, \
        "the session controller's log, with the daemon that reconciled this Release"
    leaks += hits("controller log", log)
    assert leaks == [], "\n".join(leaks)
