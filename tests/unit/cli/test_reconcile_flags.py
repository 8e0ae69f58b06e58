"""`rudder reconcile NAME [--force|--reset]`: each flag picks its annotation, the two are exclusive, and the
handled-value status field the --wait follows is the controller's own."""

from __future__ import annotations

import pytest

from rudder.cli.main import build_parser
from rudder.cli.reconcile import annotation_of
from rudder.domain.remediation import FORCE_AT, HANDLED_FIELDS, RECONCILE_AT, RESET_AT


@pytest.mark.parametrize(("flags", "annotation"), [((), RECONCILE_AT), (("--force",), FORCE_AT),
                                                   (("--reset",), RESET_AT)])
def test_each_flag_sets_its_annotation(flags: tuple[str, ...], annotation: str) -> None:
    args = build_parser().parse_args(["reconcile", "shop", "-n", "prod", *flags, "--wait"])
    assert (args.name, args.namespace, args.wait) == ("shop", "prod", True)
    assert annotation_of(args) == annotation
    assert HANDLED_FIELDS[annotation].startswith("lastHandled")


def test_force_and_reset_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["reconcile", "shop", "--force", "--reset"])
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
