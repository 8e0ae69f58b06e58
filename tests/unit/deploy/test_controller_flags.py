"""`rudder-controller` parses the flags the Deployment passes: peering replicas get distinct
priorities ranked by start time (kopf pauses every replica when two share a priority), an explicit
priority and the peering lifetime reach kopf's settings, a restriction to exact namespaces turns off
kopf's cluster-wide scanning (a namespaced install has no cluster-scoped permission), `--resync` is a
safety net of minutes by default and `--max-concurrent-reconciles` sizes the reconcile pool (both also from
the environment), `--analysis-workers` sizes the canary analysis pool (16 by default, also from the
environment), and the entry point answers --help."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import kopf
import pytest

from rudder import controller
from rudder.controller import ControllerConfig, auto_priority, configure, parse_args
from tests.unit.deploy.manifests import REPO


def settings_for(cfg: ControllerConfig) -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    configure(settings, cfg)
    return settings


def test_defaults() -> None:
    cfg = parse_args([])
    assert cfg.controllers == ("release", "canary")
    assert (cfg.metrics_port, cfg.health_port) == (8080, 8081)
    assert cfg.peering is None and cfg.namespaces == ()
    assert cfg.peering_lifetime == 15


def test_resync_is_a_safety_net_and_the_reconcile_pool_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUDDER_RESYNC_SECONDS", raising=False)
    monkeypatch.delenv("RUDDER_MAX_CONCURRENT_RECONCILES", raising=False)
    cfg = parse_args([])
    assert (cfg.resync_seconds, cfg.max_concurrent_reconciles) == (300.0, 8)
    assert settings_for(cfg).execution.max_workers == 8
    monkeypatch.setenv("RUDDER_RESYNC_SECONDS", "600")
    monkeypatch.setenv("RUDDER_MAX_CONCURRENT_RECONCILES", "16")
    assert (parse_args([]).resync_seconds, parse_args([]).max_concurrent_reconciles) == (600.0, 16)
    cfg = parse_args(["--resync", "3600", "--max-concurrent-reconciles", "2"])
    assert (cfg.resync_seconds, cfg.max_concurrent_reconciles) == (3600.0, 2)


def test_analysis_workers_size_the_analysis_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUDDER_ANALYSIS_WORKERS", raising=False)
    assert parse_args([]).analysis_workers == 16
    monkeypatch.setenv("RUDDER_ANALYSIS_WORKERS", "32")
    assert parse_args([]).analysis_workers == 32
    assert parse_args(["--analysis-workers", "4"]).analysis_workers == 4


def test_earlier_start_ranks_higher_and_ties_are_broken() -> None:
    first, later = auto_priority(1_700_000_000.000, 999), auto_priority(1_700_000_000.001, 0)
    assert first > later
    assert auto_priority(1_700_000_000.5, 1) != auto_priority(1_700_000_000.5, 2)


def test_auto_priority_is_the_default_for_peering(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUDDER_PRIORITY", raising=False)
    starts = iter([1_700_000_000.0, 1_700_000_000.002])
    monkeypatch.setattr(controller, "time", SimpleNamespace(time=lambda: next(starts)))
    a = parse_args(["--peering", "rudder"])
    b = parse_args(["--peering", "rudder"])
    assert a.peering == "rudder"
    assert a.priority > b.priority, "the replica started first outranks the next one"
    settings = settings_for(b)
    assert settings.peering.priority == b.priority
    assert settings.peering.mandatory and not settings.peering.standalone


def test_explicit_priority_and_lifetime_reach_kopf() -> None:
    cfg = parse_args(["--peering", "rudder", "--priority", "100", "--peering-lifetime", "30"])
    settings = settings_for(cfg)
    assert (settings.peering.name, settings.peering.priority, settings.peering.lifetime) == ("rudder", 100, 30)


@pytest.mark.parametrize("argv", [["--priority", "high"], ["--peering-lifetime", "2"], ["--controllers", "helm"],
                                  ["--peering", "x", "--standalone"], ["--resync", "0"],
                                  ["--max-concurrent-reconciles", "0"], ["--analysis-workers", "0"]])
def test_invalid_flags_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    assert exit_info.value.code == 2
    assert "rudder-controller: error:" in capsys.readouterr().err


@pytest.mark.parametrize(("namespaces", "scanning_disabled"), [
    ([], False),
    (["shop"], True),
    (["shop", "team-a"], True),
    (["team-*"], False),
    (["!iso-*"], False),
])
def test_exact_namespaces_turn_off_cluster_wide_scanning(namespaces: list[str], scanning_disabled: bool) -> None:
    argv = [arg for ns in namespaces for arg in ("--namespace", ns)]
    assert settings_for(parse_args(argv)).scanning.disabled is scanning_disabled


def test_entry_point_answers_help() -> None:
    done = subprocess.run([sys.executable, "-m", "rudder.controller", "--help"], cwd=REPO, check=False,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for flag in ("--controllers", "--namespace", "--metrics-port", "--health-port", "--peering", "--standalone",
                 "--priority", "--peering-lifetime", "--allow-cluster-scoped", "--resync",
                 "--max-concurrent-reconciles", "--analysis-workers"):
        assert flag in done.stdout, flag
