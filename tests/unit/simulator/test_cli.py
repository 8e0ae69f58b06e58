"""Pins down the command line: flag defaults and that bad input exits with status 2 before any
traffic or endpoint starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.__main__ import main, parse_args


def test_defaults() -> None:
    args = parse_args(["--namespace", "shop", "--service", "web"])
    assert (args.router, args.rps, args.port, args.seed, args.profiles) == ("replicas", 50.0, 0, 1, None)


def test_unknown_router_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(["-n", "shop", "--service", "web", "--router", "linkerd"])
    assert exc.value.code == 2


def test_broken_profile_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profiles = tmp_path / "p.yaml"
    profiles.write_text("default: {errorRate: 7}")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("")
    argv = ["-n", "shop", "--service", "web", "--profiles", str(profiles), "--kubeconfig", str(kubeconfig)]
    assert main(argv) == 2
    assert "errorRate must be within" in capsys.readouterr().err


def test_unusable_kubeconfig_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("")
    assert main(["-n", "shop", "--service", "web", "--kubeconfig", str(kubeconfig)]) == 2
    assert capsys.readouterr().err.startswith("simulator: ")
