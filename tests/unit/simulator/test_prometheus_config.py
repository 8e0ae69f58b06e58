"""Pins down the Prometheus configuration for simulators: every target scraped each second with
honor_labels (so the simulated pods' namespace/pod labels survive), valid for promtool."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from simulator.prometheus_config import main, scrape_config


def test_scrapes_every_target_each_second_with_honor_labels() -> None:
    doc = yaml.safe_load(scrape_config(["127.0.0.1:9101", "127.0.0.1:9102"]))
    assert doc["global"]["scrape_interval"] == "1s"
    [job] = doc["scrape_configs"]
    assert job["honor_labels"] is True
    assert job["scrape_interval"] == "1s"
    assert job["static_configs"] == [{"targets": ["127.0.0.1:9101", "127.0.0.1:9102"]}]


@pytest.mark.parametrize("target", ["http://127.0.0.1:9101", "127.0.0.1", "127.0.0.1:port", "a b:1"])
def test_targets_must_be_host_port(target: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        scrape_config([target])




def test_promtool_accepts_the_config(tmp_path: Path) -> None:
    path = tmp_path / "prometheus.yml"
    path.write_text(scrape_config(["127.0.0.1:9101"], job_name="sim", interval="2s"))
    result = subprocess.run(
        ["promtool", "check", "config", str(path)], capture_output=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_command_line_prints_the_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["127.0.0.1:9101"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["scrape_configs"][0]["honor_labels"] is True
    assert main([]) == 2
    assert main(["nope"]) == 2
