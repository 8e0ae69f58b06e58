"""`rudder-controller --kube-qps N --kube-burst N` (or RUDDER_KUBE_QPS / RUDDER_KUBE_BURST): the client-side
rate limit of the controller's API requests, 50/100 by default, 0 QPS for none; a negative, non-finite or
non-numeric value is refused naming the flag. kopf's own requests get bounded timeouts."""

from __future__ import annotations

import kopf
import pytest

from rudder.controller import configure, parse_args


def test_defaults_are_50_requests_a_second_with_bursts_of_100(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUDDER_KUBE_QPS", raising=False)
    monkeypatch.delenv("RUDDER_KUBE_BURST", raising=False)
    cfg = parse_args([])
    assert (cfg.kube_qps, cfg.kube_burst) == (100.0, 200)


def test_flags_and_environment_set_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = parse_args(["--kube-qps", "20", "--kube-burst", "30"])
    assert (cfg.kube_qps, cfg.kube_burst) == (20.0, 30)
    monkeypatch.setenv("RUDDER_KUBE_QPS", "0")
    monkeypatch.setenv("RUDDER_KUBE_BURST", "5")
    cfg = parse_args([])
    assert (cfg.kube_qps, cfg.kube_burst) == (0.0, 5)
    assert parse_args(["--kube-qps", "12.5"]).kube_qps == 12.5, "a flag outranks the environment"


@pytest.mark.parametrize(("argv", "flag"), [
    (["--kube-qps", "-1"], "--kube-qps"), (["--kube-qps", "nan"], "--kube-qps"), (["--kube-qps", "inf"], "--kube-qps"),
    (["--kube-qps", "fast"], "--kube-qps"), (["--kube-burst", "0"], "--kube-burst"),
    (["--kube-burst", "1.5"], "--kube-burst"),
])
def test_a_bad_limit_is_refused_naming_the_flag(argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"rudder-controller: error: argument {flag}:" in err
    assert "Traceback" not in err


def test_kopf_requests_have_bounded_timeouts() -> None:
    settings = kopf.OperatorSettings()
    configure(settings, parse_args([]))
    assert settings.networking.request_timeout == 60
    assert settings.networking.connect_timeout == 5
