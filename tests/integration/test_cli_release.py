"""The real `rudder` command against the local control plane and the real controller: install --wait ends
Ready at revision 1 and prints the notes; upgrade makes revision 2 with exactly the given values (also right
after a rollback, whose restored fields belong to the controller); diff shows field by field what an upgrade
would change (exit 1) or nothing (exit 0); history lists revisions; rollback makes an old revision current
without a new one; uninstall removes everything; a Release that fails makes --wait exit 1 with its status
message; user mistakes are one line and a non-zero exit; template and package work with no cluster at all,
and a packaged Release installs as is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.cli import REPO, RUDDER, run
from tests.support.cluster import Cluster
from tests.support.controller import ControllerProcess
from tests.support.releases import get_release, histories, wait_release
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration

WEB_APP = str(REPO / "examples" / "web-app")
FAST = ("--set", "autoscaling.enabled=false")  # plain replicas: nothing waits on an HPA


def rudder(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    return run(RUDDER, cluster, *args)


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return done.stdout


def image(cluster: Cluster, namespace: str, name: str = "shop") -> str:
    deployment = cluster.apps.read_namespaced_deployment(name, namespace)
    return str(deployment.spec.template.spec.containers[0].image)


def test_install_upgrade_diff_history_rollback_and_uninstall(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    # Install, waiting for Ready: the notes are printed, progress went to stderr as plain lines.
    done = rudder(cluster, "install", "shop", WEB_APP, "-n", namespace, *FAST, "--wait", "--timeout", "2m")
    out = ok(done)
    assert f"Release {namespace}/shop installed: revision 1 is Ready" in out
    assert "NOTES:" in out and "installed as release shop (revision 1)" in out
    assert "\r" not in done.stderr  # not a terminal: no redrawn progress line
    assert image(cluster, namespace) == "nginx:1.27"
    status = json.loads(ok(rudder(cluster, "status", "shop", "-n", namespace, "-o", "json")))
    assert (status["status"]["phase"], status["status"]["revision"]) == ("Ready", 1)
    assert "managedFields" not in status["metadata"]

    # diff: what an upgrade would change, field by field; nothing for the same arguments.
    same = rudder(cluster, "diff", "shop", WEB_APP, "-n", namespace, *FAST)
    assert same.returncode == 0 and same.stdout.startswith("no differences"), same.stdout + same.stderr
    changed = rudder(cluster, "diff", "shop", WEB_APP, "-n", namespace, *FAST, "--set", "image.tag=1.28")
    assert changed.returncode == 1, changed.stderr
    assert "~ Release" in changed.stdout and "values (image)" in changed.stdout
    assert 'spec.template.spec.containers[0].image: "nginx:1.27" -> "nginx:1.28"' in changed.stdout

    # Upgrade: revision 2, the new image live.
    out = ok(rudder(cluster, "upgrade", "shop", WEB_APP, "-n", namespace, *FAST, "--set", "image.tag=1.28", "--wait"))
    assert "revision 2 is Ready" in out
    assert image(cluster, namespace) == "nginx:1.28"
    again = ok(rudder(cluster, "upgrade", "shop", WEB_APP, "-n", namespace, *FAST, "--set", "image.tag=1.28"))
    assert "unchanged (same chart and values): nothing to roll out" in again

    # History: a table, oldest first, the current revision marked.
    table = ok(rudder(cluster, "history", "shop", "-n", namespace)).splitlines()
    assert table[0].split() == ["REVISION", "PHASE", "DEPLOYED", "AT", "DESCRIPTION"]
    assert table[1].split()[:2] == ["1", "Superseded"] and "Install complete" in table[1]
    assert table[2].split()[:2] == ["2*", "Deployed"] and "values (image)" in table[2]
    entries = json.loads(ok(rudder(cluster, "history", "shop", "-n", namespace, "-o", "json")))
    assert [e["revision"] for e in entries] == [1, 2] and entries[1]["deployedAt"]

    # Rollback to the previous revision: 1 is current again, no new revision.
    out = ok(rudder(cluster, "rollback", "shop", "-n", namespace, "--wait"))
    assert "rolled back to revision 1: revision 1 is Ready" in out
    assert image(cluster, namespace) == "nginx:1.27"
    assert [h["spec"]["revision"] for h in histories(cluster, namespace, "shop")] == [1, 2]
    assert ok(rudder(cluster, "history", "shop", "-n", namespace)).splitlines()[1].startswith("1*")

    # An upgrade right after the rollback: exactly the values given, none left over from the restored spec.
    ok(rudder(cluster, "upgrade", "shop", WEB_APP, "-n", namespace, *FAST, "--set", "config.GREETING=hi", "--wait"))
    release = get_release(cluster, namespace, "shop")
    assert release["spec"]["values"] == {"autoscaling": {"enabled": False}, "config": {"GREETING": "hi"}}
    assert release["status"]["revision"] == 3
    assert [h["spec"]["revision"] for h in histories(cluster, namespace, "shop")] == [1, 2, 3]

    # Uninstall: the Release and what it managed are gone.
    out = ok(rudder(cluster, "uninstall", "shop", "-n", namespace, "--wait"))
    assert f"Release {namespace}/shop uninstalled" in out
    assert not cluster.apps.list_namespaced_deployment(namespace).items
    missing = rudder(cluster, "status", "shop", "-n", namespace)
    assert (missing.returncode, missing.stderr) == (1, f"error: Release {namespace}/shop not found\n")


def test_upgrade_install_a_chart_switched_to_an_archive_and_back(
    cluster: Cluster, namespace: str, controller: ControllerProcess
) -> None:
    ok(rudder(cluster, "upgrade", "--install", "web", WEB_APP, "-n", namespace, *FAST, "--archive", "--wait"))
    assert list(get_release(cluster, namespace, "web")["spec"]["chart"]) == ["archive"]
    ok(rudder(cluster, "rollback", "web", "1", "-n", namespace, "--wait"))
    ok(rudder(cluster, "upgrade", "web", WEB_APP, "-n", namespace, *FAST, "--wait"))
    chart = get_release(cluster, namespace, "web")["spec"]["chart"]
    assert set(chart) == {"templates", "values"}  # inline now, and no archive left behind
    assert wait_release(cluster, namespace, "web", phase="Ready", revision=2)


BROKEN_SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: {{ release.name }}
spec:
  ports: [{port: {{ values.port }}}]
"""


def test_wait_exits_1_with_the_status_message_when_the_release_fails(
    cluster: Cluster, namespace: str, controller: ControllerProcess, tmp_path: Path
) -> None:
    chart = tmp_path / "broken"
    (chart / "templates").mkdir(parents=True)
    (chart / "templates" / "service.yaml").write_text(BROKEN_SERVICE)
    (chart / "values.yaml").write_text("port: 99999\n")  # renders fine; the API server rejects it
    done = rudder(cluster, "install", "bad", str(chart), "-n", namespace, "--wait", "--timeout", "90s")
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: Release {namespace}/bad is Failed")
    assert "99999" in last or "port" in last
    assert "Traceback" not in done.stderr


def test_user_mistakes_are_one_line_and_a_non_zero_exit(
    cluster: Cluster, namespace: str, controller: ControllerProcess, tmp_path: Path
) -> None:
    ok(rudder(cluster, "install", "shop", WEB_APP, "-n", namespace, *FAST))
    cases = [
        (("install", "shop", WEB_APP), f"Release {namespace}/shop already exists: use `rudder upgrade"),
        (("upgrade", "nope", WEB_APP), f"Release {namespace}/nope not found: use `rudder install`"),
        (("rollback", "shop", "7"), "revision 7 does not exist (revisions:"),
        (("install", "other", str(tmp_path / "nochart")), "no such directory"),
        (("upgrade", "shop", WEB_APP, "--set", "image.tag"), "--set 'image.tag'"),
        (("history", "nope"), f"Release {namespace}/nope not found"),
        (("uninstall", "nope"), f"Release {namespace}/nope not found"),
    ]
    for args, message in cases:
        done = rudder(cluster, *args, "-n", namespace)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], (args, done.stderr)
    dead = tmp_path / "kubeconfig"
    dead.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "x",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
    }))
    done = rudder(cluster, "status", "shop", "--kubeconfig", str(dead))
    assert done.returncode == 1
    assert done.stderr == "error: cannot reach the Kubernetes API at https://127.0.0.1:1: Connection refused\n"
    diff_error = rudder(cluster, "diff", "shop", WEB_APP, "--kubeconfig", str(dead))
    assert diff_error.returncode == 2  # diff's errors are >1, as kubectl diff's


def offline(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "none"), "PYTHONPATH": str(REPO)}
    env.pop("KUBERNETES_SERVICE_HOST", None)
    return subprocess.run([sys.executable, "-m", "rudder.cli.main", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_template_and_package_need_no_cluster_and_a_packaged_release_installs(
    cluster: Cluster, namespace: str, controller: ControllerProcess, tmp_path: Path
) -> None:
    objects = list(yaml.safe_load_all(ok(offline("template", "shop", WEB_APP, "-n", namespace, *FAST,
                                                 tmp_path=tmp_path))))
    assert [o["kind"] for o in objects if o] == ["ConfigMap", "Service", "Deployment"]
    manifest = ok(offline("package", WEB_APP, "--name", "packed", "--archive", *FAST, tmp_path=tmp_path))
    body: dict[str, Any] = yaml.safe_load(manifest)
    cluster.apply(body, namespace)
    release = wait_release(cluster, namespace, "packed", phase="Ready", revision=1)
    assert release["spec"]["values"] == {"autoscaling": {"enabled": False}}
    live = cluster.apps.read_namespaced_deployment("packed", namespace)
    rendered = next(o for o in yaml.safe_load_all(ok(offline("template", "packed", WEB_APP, "-n", namespace, *FAST,
                                                             tmp_path=tmp_path))) if o and o["kind"] == "Deployment")
    assert live.spec.template.spec.containers[0].image == rendered["spec"]["template"]["spec"]["containers"][0]["image"]
    wait_for(lambda: rudder(cluster, "diff", "packed", WEB_APP, "-n", namespace, *FAST, "--archive").returncode == 0,
             timeout=30, what="no differences between the packaged chart and the live Release")
