"""An insurer release as one system of cells and the relations between them.

A release is the national table and every insurer's slice, each with its totals row, plus the
previous round's double waiters as a fixed column (published before; never suppressed afresh).
Every person belongs to exactly one insurer slice (the UZOVI of their most recent entry, see
``linkage/sql/03_entry_facts.sql``), so every count of the national table, person columns
included, is the exact sum of the slices' counts. :func:`release_relations` lists every relation
that holds by definition, which is what an attacker who knows how the tables are made can use:

- the slices partition the national cell (every column, every provider and the totals row);
- within a table, entry counts add up to the totals row; a person column's total is at most the
  sum of its rows and at least each row; double waiters (and the trend's double-waiter columns)
  are counted at two providers at least, so twice the total is at most the sum of the rows;
- within a cell: ``dubbel_wachtenden <= unieke_personen``, ``unieke_personen +
  interne_dubbelingen <= wachtenden`` (an internal duplicate is two entries),
  ``boven_norm_geschoond <= boven_norm <= wachtenden``, ``dubbel_nieuw + dubbel_blijvend =
  dubbel_wachtenden``, the reported outcomes add up to at most ``dubbel_opgelost``, and
  ``dubbel_opgelost <= vorig_dubbel``.

All relations are homogeneous (``sum(coefficient * count)`` is 0, or at most 0), and the true
counts satisfy them; :func:`check_relations` asserts that before anything is protected.
Protection itself is in :mod:`reports.protection`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy.sparse import csr_matrix

from reports.breakdowns import MEASURES, category_relations, is_category_column
from reports.disclosure import BREAKDOWN_COLUMNS, COUNT_COLUMNS, DOUBLE_ENTRIES, PHASE_COLUMNS, WAITING_BANDS

NATIONAL = "alle"
TOTALS_ROW = "totaal"
ADDITIVE_COLUMNS: tuple[str, ...] = (
    "wachtenden", "boven_norm", "boven_norm_geschoond", DOUBLE_ENTRIES, *BREAKDOWN_COLUMNS
)  # fmt: skip
"""Entry counts: they add up exactly across providers and across insurers (and so do the
category columns of :mod:`reports.breakdowns`)."""

TREND_COLUMNS: tuple[str, ...] = (
    "dubbel_nieuw",
    "dubbel_blijvend",
    "dubbel_opgelost",
    "opgelost_verwijderd",
    "opgelost_in_behandeling",
    "opgelost_blijft_wachten",
    "opgelost_onbereikbaar",
)
"""Counts of persons comparing this round with the previous one (see linkage/sql/trend_counts.sql)."""
PREVIOUS_DOUBLE = "vorig_dubbel"
"""The fixed column: the previous round's double waiters on this release's grid."""
OUTCOME_COLUMNS: tuple[str, ...] = TREND_COLUMNS[3:]
COUNTED_TWICE: tuple[str, ...] = ("dubbel_wachtenden", "dubbel_nieuw", "dubbel_blijvend", "dubbel_opgelost",
                                  PREVIOUS_DOUBLE)  # fmt: skip
"""Person columns whose every person is counted at two providers at least (of one slice)."""
ROWS_NOT_BOUNDED_BY_TOTAL: tuple[str, ...] = (*ADDITIVE_COLUMNS, *OUTCOME_COLUMNS)
"""Columns whose provider cell may exceed the totals cell: entry counts, and outcomes (the totals
row counts a person once, under the first outcome any of their providers reported)."""
CELL_RELATIONS: tuple[tuple[dict[str, int], str], ...] = (
    ({"dubbel_wachtenden": 1, "unieke_personen": -1}, "le"),
    ({"unieke_personen": 1, "interne_dubbelingen": 1, "wachtenden": -1}, "le"),
    ({"boven_norm_geschoond": 1, "boven_norm": -1}, "le"),
    ({"boven_norm": 1, "wachtenden": -1}, "le"),
    ({"dubbel_nieuw": 1, "dubbel_blijvend": 1, "dubbel_wachtenden": -1}, "eq"),
    ({**dict.fromkeys(OUTCOME_COLUMNS, 1), "dubbel_opgelost": -1}, "le"),
    ({"dubbel_opgelost": 1, PREVIOUS_DOUBLE: -1}, "le"),
    ({**dict.fromkeys(PHASE_COLUMNS, 1), "wachtenden": -1}, "eq"),
    ({**{name: 1 for name, _, _ in WAITING_BANDS}, "wachtenden": -1}, "eq"),
    # entries of double waiters: at least one per double waiter, at most every entry, and their
    # entries beyond one per person are among the list's entries beyond one per person
    ({"dubbel_wachtenden": 1, DOUBLE_ENTRIES: -1}, "le"),
    ({DOUBLE_ENTRIES: 1, "wachtenden": -1}, "le"),
    ({DOUBLE_ENTRIES: 1, "dubbel_wachtenden": -1, "wachtenden": -1, "unieke_personen": 1}, "le"),
    # boven_norm_geschoond leaves out only entries of double waiters
    ({"boven_norm": 1, "boven_norm_geschoond": -1, DOUBLE_ENTRIES: -1}, "le"),
)
"""Relations between the columns of every cell (each scope, provider and totals row)."""
TOTALS_RELATIONS: tuple[tuple[dict[str, int], str], ...] = (
    # in the totals row a double waiter is counted once and has entries at two providers at least
    ({"dubbel_wachtenden": 2, DOUBLE_ENTRIES: -1}, "le"),
    # and keeps exactly one entry in boven_norm_geschoond
    ({"boven_norm": 1, "boven_norm_geschoond": -1, DOUBLE_ENTRIES: -1, "dubbel_wachtenden": 1}, "le"),
)
"""Relations that hold in the totals rows only."""


def cell_relations(columns: Sequence[str]) -> list[tuple[dict[str, int], str]]:
    """Return the relations within every cell for a release with ``columns``: those of
    :data:`CELL_RELATIONS` whose columns are all there, and those of its category columns."""
    present = set(columns)
    fixed = [(terms, sense) for terms, sense in CELL_RELATIONS if set(terms) <= present]
    return [*fixed, *category_relations(columns)]


def is_additive(column: str) -> bool:
    """Return whether ``column`` counts entries (it adds up over providers and insurers)."""
    return column in ADDITIVE_COLUMNS or is_category_column(column)


Cell = tuple[str, int, int]
"""(column, scope index, provider index); the last provider index is the scope's totals row."""


@dataclass
class Release:
    """True counts of every table of a release and which of them are suppressed."""

    providers: list[str]
    scopes: list[str]
    counts: dict[str, np.ndarray]
    """column -> int array (scopes, providers + 1); the last column is the totals row."""
    hidden: dict[str, np.ndarray] = field(default_factory=dict)
    columns: tuple[str, ...] = COUNT_COLUMNS
    """The published columns, in order; ``counts`` may hold fixed columns besides."""
    stats: Any = None
    """What protecting it took (a :class:`reports.protection.ProtectionStats`), once protected."""
    totals_only: frozenset[str] = frozenset()
    """Columns of the national table only, whose provider cells are never published (only the
    national totals row is): the category columns. Their national provider cells are suppressed
    cells all along; their cells in the insurer slices are 0 and belong to no relation."""

    def value(self, cell: Cell) -> int:
        """Return the true count of one cell."""
        return int(self.counts[cell[0]][cell[1:]])

    def is_hidden(self, cell: Cell) -> bool:
        """Return whether one cell is suppressed."""
        return bool(self.hidden[cell[0]][cell[1:]])

    def is_fixed(self, column: str) -> bool:
        """Return whether ``column`` was published before (it is never suppressed afresh)."""
        return column not in self.columns

    @property
    def row_names(self) -> list[str]:
        """Return the name of each position along the providers axis: the providers, then
        :data:`TOTALS_ROW` (the name the ledger and the spreadsheets give the totals row)."""
        return [*self.providers, TOTALS_ROW]

    @property
    def all_columns(self) -> list[str]:
        """Return the published columns, then the fixed ones: the order of the flat cell index."""
        return [*self.columns, *sorted(set(self.counts) - set(self.columns))]

    def flat(self, name: str) -> np.ndarray:
        """Return ``counts`` (``name="counts"``) or ``hidden`` of every column as one flat array
        in :attr:`all_columns` order (cell index = (column * scopes + scope) * width + provider)."""
        source = self.counts if name == "counts" else self.hidden
        return np.concatenate([source[column].ravel() for column in self.all_columns])

    def cell_of(self, index: int) -> Cell:
        """Return the cell of a flat index."""
        n_scopes, width = self.counts[self.columns[0]].shape
        column, rest = divmod(int(index), n_scopes * width)
        scope, provider = divmod(rest, width)
        return self.all_columns[column], scope, provider

    def set_hidden_flat(self, hidden: np.ndarray) -> None:
        """Set ``hidden`` of every column from one flat array (see :meth:`flat`)."""
        size = self.counts[self.columns[0]].size
        for i, column in enumerate(self.all_columns):
            self.hidden[column] = hidden[i * size : (i + 1) * size].reshape(self.counts[column].shape).copy()


def build_release(
    tables: Mapping[str, tuple[pl.DataFrame, pl.DataFrame]], columns: Sequence[str] = COUNT_COLUMNS
) -> Release:
    """Return the release of unsuppressed ``{scope: (provider table, totals row)}`` with the
    count ``columns``; scope ``alle`` is the national table. A provider missing from a slice
    counts 0 there."""
    scopes = [NATIONAL, *sorted(s for s in tables if s != NATIONAL)]
    providers = sorted({p for table, _ in tables.values() for p in table["agb_code"].to_list()})
    index = {p: i for i, p in enumerate(providers)}
    counts = {c: np.zeros((len(scopes), len(providers) + 1), dtype=np.int64) for c in columns}
    for s, scope in enumerate(scopes):
        table, totals = tables[scope]
        positions = np.array([index[p] for p in table["agb_code"].to_list()], dtype=np.int64)
        for column in columns:
            counts[column][s, positions] = table[column].to_numpy()
            counts[column][s, -1] = int(totals[column][0]) if totals.height else 0
    release = Release(providers, scopes, counts, columns=tuple(columns))
    release.hidden = {c: np.zeros_like(counts[c], dtype=bool) for c in columns}
    return release


def add_fixed_column(release: Release, column: str, counts: np.ndarray, hidden: np.ndarray) -> Release:
    """Add an earlier release's column on this release's grid (true ``counts``, and ``hidden``
    where it was suppressed): protection keeps its suppressed small counts unknown and never
    suppresses it afresh. Returns the release."""
    release.counts[column] = counts.astype(np.int64)
    release.hidden[column] = hidden.astype(bool)
    return release


@dataclass(frozen=True)
class Relations:
    """Every relation of a release as sparse rows over the flat cells: ``equal @ x == 0`` and
    ``at_most @ x <= 0``, with a readable name per row for error messages."""

    equal: csr_matrix
    at_most: csr_matrix
    equal_names: list[str]
    at_most_names: list[str]


class _RowBuilder:
    """Collects relation rows as coordinate lists."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.values: list[np.ndarray] = []
        self.names: list[str] = []

    def add(self, cells: np.ndarray, coefficients: np.ndarray, name: str) -> None:
        """Add relations: ``cells`` and ``coefficients`` of shape (relations, terms)."""
        count = len(self.names)
        self.rows.append(np.repeat(np.arange(count, count + cells.shape[0]), cells.shape[1]))
        self.cols.append(cells.ravel())
        self.values.append(coefficients.ravel())
        self.names.extend([name] * cells.shape[0])

    def matrix(self, n_cells: int) -> csr_matrix:
        """Return the collected rows as a CSR matrix (duplicate terms summed)."""
        if not self.names:
            return csr_matrix((0, n_cells), dtype=np.int64)
        data = (np.concatenate(self.values), (np.concatenate(self.rows), np.concatenate(self.cols)))
        return csr_matrix(data, shape=(len(self.names), n_cells), dtype=np.int64)


def release_relations(release: Release) -> Relations:
    """Return every relation between the cells of ``release`` that holds by definition (see the
    module docstring), over the flat cell index of :meth:`Release.flat`."""
    n_scopes, width = release.counts[release.columns[0]].shape
    providers = width - 1
    columns = release.all_columns
    position = {column: i for i, column in enumerate(columns)}
    grid = np.arange(len(columns) * n_scopes * width).reshape(len(columns), n_scopes, width)
    equal, at_most = _RowBuilder(), _RowBuilder()
    for column in columns:
        cells = grid[position[column]]
        if column in release.totals_only:
            cells = cells[:1]  # the national table only
        if n_scopes > 1 and column not in release.totals_only:  # the slices partition the national cell
            partition = np.concatenate([cells[:1].T, cells[1:].T], axis=1)
            coefficients = np.tile(np.array([1] + [-1] * (n_scopes - 1)), (width, 1))
            equal.add(partition, coefficients, f"{column}: landelijk = som van de verzekeraars")
        sums = np.concatenate([cells[:, :providers], cells[:, providers:]], axis=1)
        if is_additive(column):
            coefficients = np.tile(np.array([1] * providers + [-1]), (len(cells), 1))
            equal.add(sums, coefficients, f"{column}: som van de aanbieders = totaal")
        else:
            times = 2 if column in COUNTED_TWICE else 1
            coefficients = np.tile(np.array([-1] * providers + [times]), (len(cells), 1))
            at_most.add(sums, coefficients, f"{column}: {times} x totaal <= som van de aanbieders")
        if column not in ROWS_NOT_BOUNDED_BY_TOTAL and not is_additive(column) and providers:
            pairs = np.stack([cells[:, :providers].ravel(), np.repeat(cells[:, providers], providers)], axis=1)
            at_most.add(pairs, np.tile(np.array([1, -1]), (len(pairs), 1)), f"{column}: aanbieder <= totaal")
    totals_relations = [(terms, sense) for terms, sense in TOTALS_RELATIONS if set(terms) <= set(columns)]
    for relations, rows in ((cell_relations(columns), slice(None)), (totals_relations, slice(providers, None))):
        for terms, sense in relations:
            scopes = slice(0, 1) if set(terms) & release.totals_only else slice(None)
            cells = np.stack([grid[position[column]][scopes, rows].ravel() for column in terms], axis=1)
            coefficients = np.tile(np.array(list(terms.values())), (len(cells), 1))
            name = " + ".join(f"{c} x {column}" for column, c in terms.items()) + (" = 0" if sense == "eq" else " <= 0")
            (equal if sense == "eq" else at_most).add(cells, coefficients, name)
    n_cells = grid.size
    return Relations(equal.matrix(n_cells), at_most.matrix(n_cells), equal.names, at_most.names)


class InconsistentRelease(ValueError):
    """The true counts break a relation that should hold by definition (a bug upstream)."""


def check_relations(release: Release, relations: Relations) -> None:
    """Raise :class:`InconsistentRelease` naming the first relations the true counts break (the
    slices must partition the national counts exactly, and so on); return nothing otherwise."""
    truth = release.flat("counts")
    broken = [
        f"{names[i]} ({release.cell_of(int(matrix[i].indices[0]))[1:]})"
        for matrix, names, bad in (
            (relations.equal, relations.equal_names, relations.equal @ truth != 0),
            (relations.at_most, relations.at_most_names, relations.at_most @ truth > 0),
        )
        for i in np.flatnonzero(bad)[:5]
    ]
    if broken:
        raise InconsistentRelease("the release's counts break relations that hold by definition: " + "; ".join(broken))


def release_tables(release: Release, scope: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return the published (table, totals row) of one scope: suppressed cells are null; only
    providers with a non-zero count in the scope appear (absent means 0 in every column)."""
    s = release.scopes.index(scope)
    present = np.logical_or.reduce([release.counts[c][s, :-1] > 0 for c in release.columns])
    columns = {}
    totals = {}
    for column in (c for c in release.columns if c not in release.totals_only):
        values = release.counts[column][s]
        hidden = release.hidden[column][s]
        published = pl.Series(column, values[:-1], dtype=pl.Int64)
        published = pl.select(pl.when(pl.Series(hidden[:-1])).then(None).otherwise(published)).to_series()
        columns[column] = published.alias(column).filter(pl.Series(present))
        totals[column] = pl.Series(column, [None if hidden[-1] else int(values[-1])], dtype=pl.Int64)
    agb = pl.Series("agb_code", release.providers, dtype=pl.Utf8).filter(pl.Series(present))
    return pl.DataFrame([agb, *columns.values()]), pl.DataFrame([pl.Series("agb_code", [TOTALS_ROW]), *totals.values()])


def category_totals(release: Release, scope: str) -> dict[str, int | None]:
    """Return the published totals cells of the category columns of one scope (None where
    suppressed; none outside the national table): what
    :func:`reports.breakdowns.category_table` makes the table of."""
    if scope != NATIONAL:
        return {}
    return {
        column: None if release.hidden[column][0, -1] else int(release.counts[column][0, -1])
        for column in release.columns
        if column in release.totals_only
    }


def round_published(frame: pl.DataFrame, base: int) -> pl.DataFrame:
    """Return ``frame`` with every published non-zero count rounded to the nearest multiple
    of ``base`` (halves up, never to 0); suppressed (null) and zero cells stay as they are."""
    if base <= 1:
        return frame
    return frame.with_columns(
        pl.when(pl.col(c) > 0)
        .then(((pl.col(c) + base // 2) // base * base).clip(lower_bound=base))
        .otherwise(pl.col(c))
        .alias(c)
        for c in frame.columns
        if c in (*COUNT_COLUMNS, DOUBLE_ENTRIES, *BREAKDOWN_COLUMNS, *TREND_COLUMNS, *MEASURES)
    )
