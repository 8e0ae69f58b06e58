"""Selecting order statistics of pairwise differences is exact, on any data.

Pins down that the selection algorithm (guide, interpolation, random pivots,
enumeration, the tied-band shortcut) returns exactly what sorting all n*m
differences returns, for continuous, heavily tied and skewed samples.  The
brute-force threshold is lowered so small inputs exercise the selection path.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canary.analysis import pairwise, pairwise_general
from canary.analysis.pairwise import pairwise_median, pairwise_order_statistics


@pytest.fixture
def select_always(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pairwise, "BRUTE_FORCE_PAIRS", 0)
    monkeypatch.setattr(pairwise_general, "ENUMERATE_PAIRS", 64)


def _brute(x: np.ndarray, y: np.ndarray, ranks: list[int]) -> list[float]:
    differences = np.sort((x[:, None] - y[None, :]).ravel())
    return [float(differences[r - 1]) for r in ranks]


@pytest.mark.usefixtures("select_always")
@pytest.mark.parametrize("shape", ["normal", "lognormal", "integers", "two-values", "constant"])
def test_selection_equals_sorting_everything(shape: str) -> None:
    rng = np.random.default_rng(11)
    n, m = 300, 250
    samples = {
        "normal": (rng.normal(size=n), rng.normal(0.2, size=m)),
        "lognormal": (rng.lognormal(size=n), rng.lognormal(size=m)),
        "integers": (rng.integers(0, 12, n).astype(float), rng.integers(0, 9, m).astype(float)),
        "two-values": (rng.choice([0.0, 1.0], n), rng.choice([0.0, 1.0], m)),
        "constant": (np.full(n, 2.5), np.full(m, 2.5)),
    }[shape]
    x, y = np.sort(samples[0]), np.sort(samples[1])
    total = n * m
    ranks = [1, 2, total // 7, total // 2, total // 2 + 1, total - 1, total]
    assert pairwise_order_statistics(x, y, ranks) == _brute(x, y, ranks)


@pytest.mark.usefixtures("select_always")
@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-30, 30).map(float), min_size=1, max_size=50),
    st.lists(st.integers(-30, 30).map(float), min_size=1, max_size=50),
    st.data(),
)
def test_any_rank_of_any_tied_data(x: list[float], y: list[float], data: st.DataObject) -> None:
    xs, ys = np.sort(np.array(x)), np.sort(np.array(y))
    total = len(x) * len(y)
    ranks = data.draw(st.lists(st.integers(1, total), min_size=1, max_size=5))
    assert pairwise_order_statistics(xs, ys, ranks) == _brute(xs, ys, ranks)


def test_median_of_even_count_is_the_mean_of_the_middle_pair() -> None:
    x, y = np.array([1.0, 4.0]), np.array([0.0, 2.0])  # differences -1, 1, 2, 4
    assert pairwise_median(x, y) == 1.5


def test_ranks_outside_the_matrix_are_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        pairwise_order_statistics(np.array([1.0]), np.array([2.0]), [2])
