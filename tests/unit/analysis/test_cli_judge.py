"""``kubectl canary judge`` run for real: ``python -m canary.cli.main judge`` in a subprocess.

Pins down the contract's output keys and exit codes on recorded files: a slower
canary is High (exit 1), a similar one Pass (exit 0), ratio files use the
proportion test, too few samples exit 3, a missing baseline value file or an
unknown policy is invalid input (exit 2) with the reason on stderr; policies are
found by name in the bundled library, in --policy-dir, or as FILE:NAME; -o yaml.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
CONTRACT_KEYS = {
    "verdict",
    "pValue",
    "estimate",
    "ciLow",
    "ciHigh",
    "baselineMean",
    "canaryMean",
    "effect",
    "samples",
}


def _judge(*args: str | Path) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "canary.cli.main", "judge", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("recorded")
    rng = np.random.default_rng(21)
    files = {
        "baseline.txt": "# latency seconds\n" + "\n".join(f"{v:.6f}" for v in rng.lognormal(-2, 0.3, 300)) + "\n",
        "slower.json": json.dumps(list(rng.lognormal(-1.6, 0.3, 300))),
        "similar.txt": "\n".join(f"{v:.6f}" for v in rng.lognormal(-2, 0.3, 300)),
        "few.txt": "0.1\n0.2\n",
        "errors-baseline.json": json.dumps({"errors": 20, "total": 4000}),
        "errors-canary.json": json.dumps({"errors": 90, "total": 4000}),
        "not-numbers.txt": "0.1\nfast\n",
    }
    for name, text in files.items():
        (directory / name).write_text(text)
    return {name: directory / name for name in files}


def test_slower_canary_is_high_with_every_contract_key(recorded: dict[str, Path]) -> None:
    code, out, _ = _judge("--policy", "http-latency-p99", "--baseline", recorded["baseline.txt"],
                          "--canary", recorded["slower.json"], "-o", "json")  # fmt: skip
    result: dict[str, Any] = json.loads(out)
    assert code == 1
    assert result.keys() >= CONTRACT_KEYS
    assert result["verdict"] == "High"
    assert result["canaryVerdict"] == "Fail"
    assert result["samples"] == {"baseline": 300, "canary": 300}
    assert result["ciLow"] > 0
    assert result["estimate"] > 0
    assert result["effect"] == pytest.approx(result["canaryMean"] / result["baselineMean"])


def test_similar_canary_passes(recorded: dict[str, Path]) -> None:
    code, out, _ = _judge("--policy", "http-latency-p99", "--baseline", recorded["baseline.txt"],
                          "--canary", recorded["similar.txt"])  # fmt: skip
    assert code == 0
    assert json.loads(out)["verdict"] == "Pass"


def test_ratio_files_use_the_proportion_test(recorded: dict[str, Path]) -> None:
    policy = ROOT / "policies" / "http.yaml:http-error-rate"
    baseline, canary = recorded["errors-baseline.json"], recorded["errors-canary.json"]
    code, out, _ = _judge("--policy", policy, "--baseline", baseline, "--canary", canary)
    result = json.loads(out)
    assert code == 1
    assert result["test"] == "proportion"
    assert (result["canaryMean"], result["baselineMean"]) == pytest.approx((0.0225, 0.005))
    assert result["estimate"] == pytest.approx(0.0175)


def test_confidence_override_and_too_few_samples(recorded: dict[str, Path]) -> None:
    code, out, _ = _judge("--policy", "http-latency-p99", "--baseline", recorded["few.txt"],
                          "--canary", recorded["few.txt"], "--confidence", "0.9")  # fmt: skip
    result = json.loads(out)
    assert code == 3
    assert result["confidence"] == 0.9
    assert result["canaryVerdict"] == "Inconclusive"


@pytest.mark.parametrize(
    ("policy", "canary", "extra", "message"),
    [
        ("no-such-policy", "similar.txt", [], "no policy file or policy named 'no-such-policy'"),
        ("policies/http.yaml", "similar.txt", [], "holds 4 policies"),
        ("http-latency-p99", "similar.txt", ["--confidence", "2"], "outside"),
        ("http-latency-p99", "not-numbers.txt", [], "not-numbers.txt:2: not a number"),
        ("http-error-rate", "similar.txt", [], "expected JSON"),
    ],
)
def test_invalid_input_exits_2_with_the_reason(
    recorded: dict[str, Path], policy: str, canary: str, extra: list[str], message: str
) -> None:
    code, out, err = _judge(
        "--policy", policy, "--canary", recorded[canary], "--baseline", recorded["baseline.txt"], *extra
    )
    assert code == 2
    assert out == ""
    assert message in json.loads(err)["error"]


def test_missing_arguments_are_usage_errors(recorded: dict[str, Path]) -> None:
    code, _, err = _judge("--policy", "http-latency-p99", "--baseline", recorded["baseline.txt"])
    assert code == 2
    assert "--canary" in err
    code, _, err = _judge("--policy", "http-latency-p99", "--canary", recorded["similar.txt"])
    assert code == 2
    assert "needs --baseline" in json.loads(err)["error"]


def test_policy_dir_and_yaml_output(recorded: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "rudder.dev/v1alpha1",
                "kind": "MetricPolicy",
                "metadata": {"name": "mine"},
                "spec": {
                    "type": "threshold",
                    "test": "threshold",
                    "queries": {"value": "v"},
                    "threshold": {"max": 0.5},
                },
            }
        )
    )
    code, out, _ = _judge("--policy", "mine", "--policy-dir", tmp_path, "--canary", recorded["few.txt"], "-o", "yaml")
    result = yaml.safe_load(out)
    assert code == 0
    assert result["verdict"] == "Pass"
    assert result["canaryMean"] == 0.2
