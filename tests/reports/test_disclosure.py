import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.disclosure import COUNT_COLUMNS, suppress

THRESHOLD = 10


def tables(values: list[list[int]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    table = pl.DataFrame(
        {"agb_code": [f"{i:08d}" for i in range(len(values))]}
        | {c: [row[j] for row in values] for j, c in enumerate(COUNT_COLUMNS)}
    )
    totals = pl.DataFrame({"agb_code": ["totaal"]} | {c: [int(table[c].sum())] for c in COUNT_COLUMNS})
    return table, totals


rows_strategy = st.lists(
    st.lists(st.one_of(st.integers(0, 12), st.integers(0, 500)), min_size=6, max_size=6), min_size=1, max_size=12
)


@settings(max_examples=300)
@given(rows_strategy)
def test_no_published_count_is_small_and_no_single_cell_is_recomputable(values: list[list[int]]):
    table, totals = tables(values)
    published, published_totals = suppress(table, totals, THRESHOLD)
    for column in COUNT_COLUMNS:
        cells = published[column].to_list()
        original = table[column].to_list()
        assert all(c is None or not 1 <= c < THRESHOLD for c in cells)
        assert all(c is None or c == o for c, o in zip(cells, original, strict=True))
        total = published_totals[column][0]
        assert total is None or not 1 <= total < THRESHOLD
        hidden = [o for c, o in zip(cells, original, strict=True) if c is None]
        if total is not None and hidden:
            # what an attacker can recompute from the total: the sum of the hidden cells
            assert len(hidden) >= 2
            assert sum(hidden) >= THRESHOLD or all(
                o == 0 for c, o in zip(cells, original, strict=True) if c is not None and o > 0
            )


def test_zero_is_published_and_complement_is_the_smallest_other_cell():
    table, totals = tables([[3, 0, 0, 0, 0, 0], [50, 0, 0, 0, 0, 0], [20, 0, 0, 0, 0, 0]])
    published, _ = suppress(table, totals, THRESHOLD)
    assert published["wachtenden"].to_list() == [None, 50, None]
    assert published["unieke_personen"].to_list() == [0, 0, 0]
