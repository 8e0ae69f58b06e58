"""The README's demo runs its real steps end to end (scripts/demo.py, as `make demo` does after
bringing the cluster up): the example chart is installed with `rudder`, a good canary is promoted
(`kubectl canary wait` exits 0), a bad one is rolled back (exits 1), and the HTML reports are written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cluster import REPO, Cluster
from tests.support.releases import histories, wait_release

pytestmark = [pytest.mark.integration, pytest.mark.prometheus]


def kubectl_binary() -> str:
    cache = subprocess.run([str(REPO / "deploy/local/build.sh"), "--print"], check=True, capture_output=True,
                           text=True).stdout.strip()
    found = sorted(Path(cache).glob("kubectl-v*"))
    return str(found[-1]) if found else "kubectl"


def test_demo_promotes_the_good_canary_and_rolls_back_the_bad_one(
    cluster: Cluster, iso_namespace: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "scripts/demo.py", "--kubeconfig", cluster.kubeconfig, "--kubectl", kubectl_binary(),
         "--namespace", iso_namespace, "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=900, check=False,
    )

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert '"web-1-28": {"exit": 0, "expected": 0}' in result.stdout
    assert '"web-1-29": {"exit": 1, "expected": 1}' in result.stdout
    wait_release(cluster, iso_namespace, "web", phase="Ready", revision=2)
    latest = histories(cluster, iso_namespace, "web")[-1]
    assert latest["spec"]["source"] == {"kind": "Promotion", "canaryRelease": "web-1-28"}
    report = (tmp_path / "web-1-29.html").read_text()
    assert "<svg" in report
    assert "http-error-rate" in report
