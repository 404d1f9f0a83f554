"""Small-cell suppression with complementary suppression for the insurer tables."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

COUNT_COLUMNS: tuple[str, ...] = (
    "wachtenden",
    "unieke_personen",
    "dubbel_wachtenden",
    "interne_dubbelingen",
    "boven_norm",
    "boven_norm_geschoond",
)
DOUBLE_ENTRIES = "dubbel_inschrijvingen"
"""Entries of persons who also wait at another provider (in the entry's scope): the waiting-list
places that double waiters take; published beside ``dubbel_wachtenden`` (persons)."""
PHASE_COLUMNS: tuple[str, ...] = ("wachtenden_aanmelding", "wachtenden_behandeling")
"""Entries per wachtfase: they add up to ``wachtenden``."""
WAITING_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("wacht_0_4_weken", 0, 28),
    ("wacht_4_10_weken", 29, 70),
    ("wacht_10_14_weken", 71, 98),
    ("wacht_meer_14_weken", 99, None),
)
"""Entries by waiting time in their phase on the peildatum (days, both ends included; the
treatment phase from the intake, as for ``boven_norm``): they add up to ``wachtenden``."""
BREAKDOWN_COLUMNS: tuple[str, ...] = (*PHASE_COLUMNS, *(name for name, _, _ in WAITING_BANDS))
"""Entry counts that split ``wachtenden`` per provider; published and protected with the rest."""


def _suppressed_column(values: list[int], total: int, threshold: int) -> list[bool]:
    """Return which cells of one column to suppress, given the published column total."""
    hidden = [1 <= value < threshold for value in values]
    total_hidden = 1 <= total < threshold
    if total_hidden:
        return hidden

    def exposed() -> bool:
        hidden_values = [v for v, h in zip(values, hidden, strict=True) if h]
        if not hidden_values:
            return False
        # One hidden cell is total minus the rest; several that add up to less than the
        # threshold narrow each other down. Either way: hide one more.
        return len(hidden_values) == 1 or sum(hidden_values) < threshold

    while exposed():
        candidates = [
            (value, index) for index, (value, h) in enumerate(zip(values, hidden, strict=True)) if not h and value > 0
        ]
        if not candidates:
            break
        hidden[min(candidates)[1]] = True
    return hidden


def suppress(
    table: pl.DataFrame, totals: pl.DataFrame, threshold: int, columns: Sequence[str] = COUNT_COLUMNS
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (table, totals) with small counts and their complements set to null.

    A count from 1 to ``threshold - 1`` is suppressed. Where the column total is published,
    a column with one suppressed cell (or suppressed cells adding up to less than the
    threshold) gets the smallest other non-zero cell suppressed too. Zero stays published.
    """
    table_columns = []
    for column in columns:
        values = table.get_column(column).to_list()
        total = int(totals.get_column(column)[0]) if totals.height else 0
        hidden = _suppressed_column(values, total, threshold)
        table_columns.append(
            pl.Series(column, [None if h else v for v, h in zip(values, hidden, strict=True)], dtype=pl.Int64)
        )
    suppressed_table = table.with_columns(table_columns)
    suppressed_totals = totals.with_columns(
        [
            pl.when(pl.col(column).is_between(1, threshold - 1))
            .then(None)
            .otherwise(pl.col(column))
            .cast(pl.Int64)
            .alias(column)
            for column in columns
        ]
    )
    return suppressed_table, suppressed_totals


SUPPRESSED_MARK = "x"
"""How readers see a suppressed cell (CBS's sign for "geheim"): one mark for a small count and for
a larger count hidden to protect one, since telling them apart would say which cells are small."""


def suppressed_note(threshold: int) -> str:
    """Return the Dutch sentence that explains the mark to readers."""
    return (f"Een onderdrukte cel staat er als '{SUPPRESSED_MARK}': een aantal van 1 tot {threshold}, of een groter "
            "aantal dat verborgen is omdat daaruit (samen met totalen of andere bestanden) een klein aantal terug te "
            "rekenen zou zijn. Welke van de twee, staat er bewust niet bij.")  # fmt: skip
