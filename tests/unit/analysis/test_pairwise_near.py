"""The near path of the pairwise selection, and the general path on its own, against brute force.

Pins down: the near path (estimated count function, one exact cut per group of
ranks, the answer read next to the cut) returns exactly what sorting every
difference returns, on continuous, skewed, shifted, bimodal and unequal samples and
for any ranks; on smooth data it answers the Hodges-Lehmann ranks without the
general path; what it leaves (discrete data, reads that would go too deep) the
general path finishes exactly; the general path alone is exact too; and cuts stay
consistent with the computed differences where rounding ``x_i - pivot`` lands on
a ``y_j``.  Brute force is ``np.subtract.outer`` on small inputs, with the
thresholds lowered so they go through the selection code.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canary.analysis import pairwise, pairwise_cuts, pairwise_general, pairwise_near
from canary.analysis.hodges_lehmann import _asymptotic_ranks
from canary.analysis.merge import count_less
from canary.analysis.pairwise import pairwise_order_statistics
from canary.analysis.ranksum import rank_sum_test


@pytest.fixture
def select_small(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small inputs go through the selection, and the estimate samples only some rows."""
    monkeypatch.setattr(pairwise, "BRUTE_FORCE_PAIRS", 0)
    monkeypatch.setattr(pairwise_general, "ENUMERATE_PAIRS", 64)
    monkeypatch.setattr(pairwise_near, "SAMPLED_ROWS", 37)
    pairwise_near._sampled_rows.cache_clear()


@pytest.fixture
def general_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records every rank handed to the general path."""
    calls: list[int] = []
    select = pairwise.select

    def spy(matrix: pairwise_general.PairMatrix, rank: int, pending: list[int] | tuple[int, ...] = ()) -> object:
        calls.append(rank)
        return select(matrix, rank, pending)

    monkeypatch.setattr(pairwise, "select", spy)
    return calls


def _brute(x: np.ndarray, y: np.ndarray, ranks: list[int]) -> list[float]:
    differences = np.sort(np.subtract.outer(x, y).ravel())
    return [float(differences[r - 1]) for r in ranks]


def _interval_ranks(x: np.ndarray, y: np.ndarray, confidence: float = 0.98) -> list[int]:
    total = len(x) * len(y)
    test = rank_sum_test(x, y)
    low, high = _asymptotic_ranks(len(x), len(y), confidence, test.within_tie_term)
    return [low, total // 2, total // 2 + 1, high]


def _samples(shape: str, seed: int, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x, y = {
        "normal": lambda: (rng.normal(size=n), rng.normal(0.1, size=m)),
        "lognormal": lambda: (rng.lognormal(-2.0, 0.6, n) * 1.05, rng.lognormal(-2.0, 0.6, m)),
        "shifted": lambda: (rng.normal(5.0, 1.0, n), rng.normal(0.0, 1.0, m)),
        "heavy-tailed": lambda: (rng.pareto(1.5, n), rng.pareto(1.5, m) * 1.2),
        "bimodal": lambda: (
            np.concatenate((rng.normal(0, 1, n // 2), rng.normal(20, 1, n - n // 2))),
            rng.normal(10, 1, m),
        ),
        "rounded": lambda: (np.round(rng.lognormal(-2, 0.6, n), 3), np.round(rng.lognormal(-2, 0.6, m), 3)),
        "integers": lambda: (rng.integers(0, 40, n).astype(float), rng.integers(0, 35, m).astype(float)),
    }[shape]()
    return np.sort(x), np.sort(y)


SHAPES = ["normal", "lognormal", "shifted", "heavy-tailed", "bimodal", "rounded", "integers"]


@pytest.mark.usefixtures("select_small")
@pytest.mark.parametrize("near_path", [True, False], ids=["near", "general-only"])
@pytest.mark.parametrize("shape", SHAPES)
def test_interval_ranks_equal_brute_force(shape: str, near_path: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pairwise, "NEAR_PATH", near_path)
    x, y = _samples(shape, 5, 400, 330)
    total = len(x) * len(y)
    ranks = [*_interval_ranks(x, y), 2, total // 9, total - 1]
    below_zero = count_less(x, y)
    assert pairwise_order_statistics(x, y, ranks, below_zero) == _brute(x, y, ranks)
    assert pairwise_order_statistics(x, y, ranks) == _brute(x, y, ranks)


@pytest.mark.usefixtures("select_small")
@pytest.mark.parametrize("shape", ["normal", "lognormal", "shifted", "heavy-tailed"])
def test_near_path_answers_smooth_data_alone(shape: str, general_calls: list[int]) -> None:
    x, y = _samples(shape, 8, 700, 600)
    ranks = _interval_ranks(x, y)
    assert pairwise_order_statistics(x, y, ranks, count_less(x, y)) == _brute(x, y, ranks)
    assert general_calls == []


@pytest.mark.usefixtures("select_small")
def test_discrete_data_is_left_to_the_general_path(general_calls: list[int]) -> None:
    x, y = _samples("integers", 3, 300, 300)
    ranks = _interval_ranks(x, y)
    assert pairwise_order_statistics(x, y, ranks) == _brute(x, y, ranks)
    assert general_calls  # counts jump by whole runs of ties: no estimate is attempted


@pytest.mark.usefixtures("select_small")
def test_reads_deeper_than_allowed_fall_back_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every row holds several pairs next to the cut: a one-deep read cannot finish.
    monkeypatch.setattr(pairwise_cuts, "READ_DEPTH", 1)
    rng = np.random.default_rng(2)
    x = np.sort(rng.normal(size=300))
    y = np.sort(np.repeat(rng.normal(size=60), 5) + rng.normal(scale=1e-9, size=300))
    ranks = _interval_ranks(x, y)
    assert pairwise_order_statistics(x, y, ranks) == _brute(x, y, ranks)


@pytest.mark.usefixtures("select_small")
@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(SHAPES),
    st.integers(0, 2**32 - 1),
    st.integers(40, 260),
    st.integers(40, 260),
    st.data(),
)
def test_any_rank_of_any_shape(shape: str, seed: int, n: int, m: int, data: st.DataObject) -> None:
    x, y = _samples(shape, seed, n, m)
    total = n * m
    ranks = data.draw(st.lists(st.integers(1, total), min_size=1, max_size=6))
    assert pairwise_order_statistics(x, y, ranks) == _brute(x, y, ranks)


def _rounding_case() -> tuple[np.ndarray, np.ndarray, float]:
    """Samples where, for several x_i, the y equal to the rounded x_i - v gives x_i - y > v."""
    rng = np.random.default_rng(1)
    value = 0.1
    x = rng.uniform(0.5, 1.5, 4000)
    rounded = x - value
    caught = np.sort(x[x - rounded > value])[:40]
    y = np.sort(np.concatenate((caught - value, rng.uniform(0.3, 1.4, 200))))
    return caught, y, value


def test_rounding_case_is_real() -> None:
    x, y, value = _rounding_case()
    differences = np.subtract.outer(x, y)
    naive = count_less(x - value, y)  # the plain merge puts y == fl(x_i - v) on or below the cut
    on_or_below = np.arange(len(y))[None, :] >= naive[:, None]
    assert len(x) >= 20
    assert differences[on_or_below].max() > value


def test_cuts_agree_with_computed_differences() -> None:
    x, y, value = _rounding_case()
    cut, first_below = pairwise_cuts.Cutter(x, y).cut(value)
    differences = np.subtract.outer(x, y)
    on_or_below = np.arange(len(y))[None, :] >= cut.start[:, None]
    assert differences[on_or_below].max() <= value <= differences[~on_or_below].min()
    assert cut.count == int(on_or_below.sum())
    padded_y = np.append(y, np.inf)
    assert np.array_equal(first_below, padded_y[cut.start])


@pytest.mark.usefixtures("select_small")
@pytest.mark.parametrize("near_path", [True, False], ids=["near", "general-only"])
def test_selection_is_exact_on_rounding_prone_data(near_path: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pairwise, "NEAR_PATH", near_path)
    x, y, value = _rounding_case()
    differences = np.sort(np.subtract.outer(x, y).ravel())
    # Ranks next to the pivot value, where a misplaced pair would shift the answer.
    at = int(np.searchsorted(differences, value))
    ranks = [max(at - 2, 1), at, at + 1, min(at + 3, len(differences))]
    assert pairwise_order_statistics(x, y, ranks) == _brute(x, y, ranks)


@pytest.mark.usefixtures("select_small")
def test_few_rows_against_many_columns_use_binary_search() -> None:
    rng = np.random.default_rng(4)
    x, y = np.sort(rng.normal(size=30)), np.sort(rng.normal(size=2000))
    assert not pairwise_cuts.Cutter(x, y).merging
    ranks = _interval_ranks(x, y)
    assert pairwise_order_statistics(x, y, ranks) == _brute(x, y, ranks)
