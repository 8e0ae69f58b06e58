"""The corpus marker itself: each parameter of a corpus test is one case, counted by class in the
session summary (tests/conftest.py)."""

from __future__ import annotations

import pytest

from rudder.durations import parse_duration


@pytest.mark.corpus("models")
@pytest.mark.parametrize("duration", ["", "5", "-1s", "1x", "5m junk"])
def test_malformed_durations_are_refused_with_a_message(duration: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(duration)
