"""Disclosure control over a whole release: the national table, every insurer's slice and their
totals, protected together and proven by search.

The tables of one release are linked: per provider, the national count is the sum of the
insurers' slices (entries have one insurer); per table, the rows add up to the totals row;
the insurers' totals add up to the national total. For person columns (a person counted once
per table) these are inequalities. An attacker who holds every file of the release solves
these relations for the suppressed cells. :func:`audit_release` does exactly that with linear
programming (the tightest bounds on every suppressed cell given everything published), and
:func:`protect_release` suppresses further cells until no small count (1..threshold-1) can be
pinned to a single value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy.optimize import linprog

from reports.disclosure import COUNT_COLUMNS, suppress

ADDITIVE_COLUMNS: tuple[str, ...] = ("wachtenden", "boven_norm", "boven_norm_geschoond")
"""Entry counts: they add up exactly across providers and across insurers."""
NATIONAL = "alle"

Cell = tuple[int, int]
"""(scope index, provider index); provider index -1 is the scope's totals row."""


@dataclass
class Release:
    """True counts of every table of a release and which of them are suppressed."""

    providers: list[str]
    scopes: list[str]
    counts: dict[str, np.ndarray]
    """column -> int array (scopes, providers + 1); the last column is the totals row."""
    hidden: dict[str, np.ndarray] = field(default_factory=dict)

    def value(self, column: str, cell: Cell) -> int:
        """Return the true count of one cell."""
        return int(self.counts[column][cell])

    def is_hidden(self, column: str, cell: Cell) -> bool:
        """Return whether one cell is suppressed."""
        return bool(self.hidden[column][cell])


@dataclass(frozen=True)
class Exposure:
    """A suppressed small count that the published cells pin to one value."""

    column: str
    scope: str
    provider: str
    value: int


def build_release(tables: Mapping[str, tuple[pl.DataFrame, pl.DataFrame]]) -> Release:
    """Return the release of unsuppressed ``{scope: (provider table, totals row)}``; scope
    ``alle`` is the national table. A provider missing from a slice counts 0 there."""
    scopes = [NATIONAL, *sorted(s for s in tables if s != NATIONAL)]
    providers = sorted({p for table, _ in tables.values() for p in table["agb_code"].to_list()})
    index = {p: i for i, p in enumerate(providers)}
    counts = {c: np.zeros((len(scopes), len(providers) + 1), dtype=np.int64) for c in COUNT_COLUMNS}
    for s, scope in enumerate(scopes):
        table, totals = tables[scope]
        for row in table.iter_rows(named=True):
            for column in COUNT_COLUMNS:
                counts[column][s, index[row["agb_code"]]] = row[column]
        for column in COUNT_COLUMNS:
            counts[column][s, -1] = int(totals[column][0]) if totals.height else 0
    release = Release(providers, scopes, counts)
    release.hidden = {c: np.zeros_like(counts[c], dtype=bool) for c in COUNT_COLUMNS}
    return release


def _constraints(release: Release, column: str) -> list[tuple[dict[Cell, int], str]]:
    """Return the relations between the cells of one column as ({cell: coefficient}, sense):
    sum(coefficient * count) == 0 (``eq``) or <= 0 (``le``)."""
    n_scopes, width = release.counts[column].shape
    additive = column in ADDITIVE_COLUMNS
    relations: list[tuple[dict[Cell, int], str]] = []
    for s in range(n_scopes):  # rows add up to the totals row (persons: at least the total)
        terms = {(s, p): 1 for p in range(width - 1)}
        terms[(s, width - 1)] = -1
        relations.append((terms, "eq") if additive else ({k: -v for k, v in terms.items()}, "le"))
    if n_scopes > 1:  # national = sum of the insurers' slices (persons: at most)
        for p in range(width):
            terms = {(0, p): 1, **{(s, p): -1 for s in range(1, n_scopes)}}
            relations.append((terms, "eq" if additive else "le"))
    return relations


def _bounds_of(
    variables: list[Cell], relations: list[tuple[dict[Cell, int], str]], release: Release, column: str
) -> tuple[np.ndarray, np.ndarray]:
    """Return the tightest integer lower and upper bounds (inf when unbounded) of each
    suppressed cell in ``variables``, given the published cells and ``relations``."""
    position = {cell: i for i, cell in enumerate(variables)}
    a_eq: list[np.ndarray] = []
    a_ub: list[np.ndarray] = []
    b_eq: list[float] = []
    b_ub: list[float] = []
    for terms, sense in relations:
        row = np.zeros(len(variables))
        constant = 0
        for cell, coefficient in terms.items():
            if cell in position:
                row[position[cell]] = coefficient
            else:
                constant += coefficient * release.value(column, cell)
        (a_eq if sense == "eq" else a_ub).append(row)
        (b_eq if sense == "eq" else b_ub).append(-constant)
    problem = {
        "A_eq": np.array(a_eq) if a_eq else None,
        "b_eq": np.array(b_eq) if b_eq else None,
        "A_ub": np.array(a_ub) if a_ub else None,
        "b_ub": np.array(b_ub) if b_ub else None,
        "bounds": [(1, None)] * len(variables),  # zeros are published, so a hidden cell is >= 1
        "method": "highs",
    }
    low = np.full(len(variables), np.inf)
    high = np.full(len(variables), -np.inf)

    def solve(objective: np.ndarray) -> np.ndarray | None:
        result = linprog(objective, **problem)
        if result.status == 0:
            low[:] = np.minimum(low, result.x)
            high[:] = np.maximum(high, result.x)
            return np.asarray(result.x)
        return None

    solve(np.ones(len(variables)))
    solve(-np.ones(len(variables)))
    exact_low = np.full(len(variables), -np.inf)
    exact_high = np.full(len(variables), np.inf)
    for i in range(len(variables)):
        if high[i] - low[i] >= 1:  # two feasible solutions already differ: not pinned
            continue
        unit = np.zeros(len(variables))
        unit[i] = 1
        found = solve(unit)
        if found is not None:
            exact_low[i] = found[i]
        upward = linprog(-unit, **problem)
        if upward.status == 0:
            exact_high[i] = upward.x[i]
    return np.ceil(exact_low - 1e-6), np.floor(exact_high + 1e-6)


def _components(variables: list[Cell], relations: list[tuple[dict[Cell, int], str]]) -> list[list[Cell]]:
    parent = {cell: cell for cell in variables}

    def root(cell: Cell) -> Cell:
        while parent[cell] != cell:
            parent[cell] = parent[parent[cell]]
            cell = parent[cell]
        return cell

    for terms, _ in relations:
        hidden = [cell for cell in terms if cell in parent]
        for other in hidden[1:]:
            parent[root(other)] = root(hidden[0])
    groups: dict[Cell, list[Cell]] = {}
    for cell in variables:
        groups.setdefault(root(cell), []).append(cell)
    return list(groups.values())


def _column_exposures(release: Release, column: str, threshold: int) -> list[Cell]:
    relations = _constraints(release, column)
    variables = [tuple(int(i) for i in cell) for cell in np.argwhere(release.hidden[column])]
    exposed: list[Cell] = []
    for component in _components(variables, relations):  # type: ignore[arg-type]
        members = set(component)
        own = [(t, s) for t, s in relations if members & t.keys()]
        low, high = _bounds_of(component, own, release, column)
        for i, cell in enumerate(component):
            if low[i] == high[i] and 1 <= release.value(column, cell) < threshold:
                exposed.append(cell)
    return exposed


def audit_release(release: Release, threshold: int) -> list[Exposure]:
    """Return every suppressed small count that can be computed exactly from what the release
    publishes (every table of it together), found by linear programming."""
    exposures = []
    for column in COUNT_COLUMNS:
        for s, p in _column_exposures(release, column, threshold):
            provider = "totaal" if p == len(release.providers) else release.providers[p]
            exposures.append(Exposure(column, release.scopes[s], provider, release.value(column, (s, p))))
    return exposures


def protect_release(
    release: Release, threshold: int, forced: Iterable[tuple[str, str, str]] = (), max_rounds: int = 10_000
) -> Release:
    """Suppress the release: small counts, each table's complements, the ``forced`` cells
    ((column, scope, provider or 'totaal'), e.g. from the release ledger), and then further
    cells until :func:`audit_release` finds nothing. Returns the same release, updated."""
    for s in range(len(release.scopes)):
        table = pl.DataFrame({"agb_code": release.providers, **{c: release.counts[c][s, :-1] for c in COUNT_COLUMNS}})
        totals = pl.DataFrame({"agb_code": ["totaal"], **{c: [release.counts[c][s, -1]] for c in COUNT_COLUMNS}})
        suppressed, suppressed_totals = suppress(table, totals, threshold)
        for column in COUNT_COLUMNS:
            release.hidden[column][s, :-1] = suppressed[column].is_null().to_numpy()
            release.hidden[column][s, -1] = bool(suppressed_totals[column].is_null()[0])
    for column, scope, provider in forced:
        s = release.scopes.index(scope)
        p = len(release.providers) if provider == "totaal" else release.providers.index(provider)
        if release.counts[column][s, p] > 0:
            release.hidden[column][s, p] = True
    for column in COUNT_COLUMNS:
        relations = _constraints(release, column)
        for _ in range(max_rounds):
            exposed = _column_exposures(release, column, threshold)
            if not exposed:
                break
            _hide_one_more(release, column, exposed[0], relations)
        else:
            raise RuntimeError(f"disclosure protection of {column} did not converge")
    return release


def _hide_one_more(
    release: Release, column: str, exposed: Cell, relations: Sequence[tuple[dict[Cell, int], str]]
) -> None:
    """Suppress one more published non-zero cell: the nearest to ``exposed`` along relations
    through suppressed cells, then a provider cell before a totals cell, then the smallest."""
    totals_index = len(release.providers)
    distance = {exposed: 0}
    frontier = [exposed]
    candidates: list[tuple[int, bool, int, Cell]] = []
    while frontier and not candidates:
        reached = []
        for cell in frontier:
            for terms, _ in relations:
                if cell not in terms:
                    continue
                for other in terms:
                    if other in distance:
                        continue
                    distance[other] = distance[cell] + 1
                    if release.is_hidden(column, other):
                        reached.append(other)
                    elif release.value(column, other) > 0:
                        candidates.append(
                            (distance[other], other[1] == totals_index, release.value(column, other), other)
                        )
        frontier = reached
    if not candidates:
        raise RuntimeError(f"no cell left to protect a suppressed {column} count")
    release.hidden[column][min(candidates)[3]] = True


def release_tables(release: Release, scope: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return the published (table, totals row) of one scope: suppressed cells are null; only
    providers with an entry in the scope appear."""
    s = release.scopes.index(scope)
    present = release.counts["wachtenden"][s, :-1] > 0
    columns = {}
    totals = {}
    for column in COUNT_COLUMNS:
        values = release.counts[column][s]
        hidden = release.hidden[column][s]
        published = [None if h else int(v) for v, h in zip(values[:-1], hidden[:-1], strict=True)]
        columns[column] = pl.Series(column, published, dtype=pl.Int64).filter(pl.Series(present))
        totals[column] = pl.Series(column, [None if hidden[-1] else int(values[-1])], dtype=pl.Int64)
    agb = pl.Series("agb_code", release.providers, dtype=pl.Utf8).filter(pl.Series(present))
    return pl.DataFrame([agb, *columns.values()]), pl.DataFrame([pl.Series("agb_code", ["totaal"]), *totals.values()])


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
        for c in COUNT_COLUMNS
        if c in frame.columns
    )
