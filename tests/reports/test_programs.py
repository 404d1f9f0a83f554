"""The witness search's programs that share all rows but one are the same programs, entry for
entry, as stacking every row again would make (so the protection's results cannot change)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse import random as sparse_random

from reports.programs import SharedRows, program, program_with_row, solve


@settings(max_examples=150, deadline=None)
@given(
    st.integers(min_value=1, max_value=25),
    st.integers(min_value=0, max_value=8),
    st.integers(min_value=0, max_value=8),
    st.integers(min_value=0, max_value=10_000),
    st.sampled_from([1.0, -1.0]),
)
def test_a_program_with_one_more_row_equals_the_stacked_program(
    n: int, equalities: int, at_most: int, seed: int, direction: float
):
    rng = np.random.default_rng(seed)
    equal = csr_matrix(sparse_random(equalities, 2 * n, density=0.3, random_state=seed, format="csr"))
    bounded = csr_matrix(sparse_random(at_most, 2 * n, density=0.3, random_state=seed + 1, format="csr"))
    room = rng.random(at_most)
    position = int(rng.integers(0, n))
    pick = csr_matrix(([direction, -direction], ([0, 0], [position, n + position])), shape=(1, 2 * n))
    cost, low, high = rng.random(2 * n), np.zeros(2 * n), rng.random(2 * n) + 1
    shared_rows = [(equal, 0.0, 0.0), (bounded, -np.inf, room)]
    stacked = program(cost, [*shared_rows, (pick, 1.0, np.inf)], low, high)
    extended = program_with_row(
        cost, SharedRows.of(shared_rows, 2 * n), (np.array([position, n + position]), np.array([direction, -direction]),
                                                  1.0, np.inf), low, high,
    )  # fmt: skip
    for name in ("cost", "row_low", "row_high", "low", "high"):
        assert np.array_equal(getattr(stacked, name), getattr(extended, name)), name
    for name in ("indptr", "indices", "data"):
        mine, theirs = getattr(extended.matrix, name), getattr(stacked.matrix, name)
        assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs), name
    first, second = solve(stacked), solve(extended)
    assert (first is None) == (second is None)
    assert first is None or second is None or np.array_equal(first, second)
