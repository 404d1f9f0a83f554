"""An attacker who holds every file of an insurer release (and the previous round's) and knows
how the tables are made, written apart from ``reports.release`` so that it shares no mistake
with it: an integer program over every suppressed cell, with every relation that holds in the
data, asked for the lowest and highest value each suppressed cell can take."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_matrix

NATIONAL = "alle"
PHASES = ("wachtenden_aanmelding", "wachtenden_behandeling")
BANDS = ("wacht_0_4_weken", "wacht_4_10_weken", "wacht_10_14_weken", "wacht_meer_14_weken")
ENTRY_COUNTS = ("wachtenden", "boven_norm", "boven_norm_geschoond", "dubbel_inschrijvingen", *PHASES, *BANDS)
CATEGORY_MEASURES = ("wachtenden", "dubbel_inschrijvingen", "boven_norm")
"""Entry counts of the national table by sector and zorgvraag (``uitsplitsing.csv``)."""
OUTCOMES = ("opgelost_verwijderd", "opgelost_in_behandeling", "opgelost_blijft_wachten", "opgelost_onbereikbaar")
TWICE = ("dubbel_wachtenden", "dubbel_nieuw", "dubbel_blijvend", "dubbel_opgelost", "vorig")
PER_CELL = (
    ({"dubbel_wachtenden": 1, "unieke_personen": -1}, False),
    ({"unieke_personen": 1, "interne_dubbelingen": 1, "wachtenden": -1}, False),
    ({"boven_norm_geschoond": 1, "boven_norm": -1}, False),
    ({"boven_norm": 1, "wachtenden": -1}, False),
    ({"dubbel_nieuw": 1, "dubbel_blijvend": 1, "dubbel_wachtenden": -1}, True),
    ({**dict.fromkeys(OUTCOMES, 1), "dubbel_opgelost": -1}, False),
    ({"dubbel_opgelost": 1, "vorig": -1}, False),
    ({**dict.fromkeys(PHASES, 1), "wachtenden": -1}, True),
    ({**dict.fromkeys(BANDS, 1), "wachtenden": -1}, True),
    ({"dubbel_wachtenden": 1, "dubbel_inschrijvingen": -1}, False),
    ({"dubbel_inschrijvingen": 1, "wachtenden": -1}, False),
    ({"dubbel_inschrijvingen": 1, "dubbel_wachtenden": -1, "wachtenden": -1, "unieke_personen": 1}, False),
    ({"boven_norm": 1, "boven_norm_geschoond": -1, "dubbel_inschrijvingen": -1}, False),
)
"""(terms, is equality) per cell; ``vorig`` is the previous round's dubbel_wachtenden."""
PER_TOTALS_ROW = (
    ({"dubbel_wachtenden": 2, "dubbel_inschrijvingen": -1}, False),
    ({"boven_norm": 1, "boven_norm_geschoond": -1, "dubbel_inschrijvingen": -1, "dubbel_wachtenden": 1}, False),
)
"""(terms, is equality) in every totals row: a double waiter has entries at two providers at least
and keeps one in boven_norm_geschoond."""

Tables = Mapping[str, tuple[pl.DataFrame, pl.DataFrame]]
Key = tuple[str, str, str]
"""(column, scope, provider or 'totaal')"""


@dataclass
class Attack:
    """What the attacker found: the range of every suppressed cell."""

    ranges: dict[Key, tuple[int, int]] = field(default_factory=dict)

    def small_counts_pinned(self, threshold: int) -> list[tuple[Key, int]]:
        """Return the suppressed cells pinned to one value from 1 to ``threshold - 1``."""
        return [(key, low) for key, (low, high) in self.ranges.items() if low == high and 1 <= low < threshold]


def _cells(tables: Tables, columns: list[str], prefix: str = "") -> dict[Key, int | None]:
    scopes = sorted(tables)
    providers = sorted({p for table, _ in tables.values() for p in table["agb_code"].to_list()})
    cells: dict[Key, int | None] = {}
    for scope in scopes:
        table, totals = tables[scope]
        for column in columns:
            known = dict(zip(table["agb_code"].to_list(), table[column].to_list(), strict=True))
            for provider in providers:
                cells[(prefix + column, scope, provider)] = known.get(provider, 0)  # absent: 0
            cells[(prefix + column, scope, "totaal")] = totals[column][0]
    return cells


Categories = Mapping[tuple[str, str, str], int | None]
"""The national table by sector and zorgvraag: {(sector, zorgvraag or '*' for the sector's own
row, measure): published count or None}."""


def _category_cells(
    categories: Categories, providers: list[str], support: set[tuple[str, str]] | None
) -> tuple[dict[Key, int | None], dict[Key, int]]:
    """Return the national cells of the category columns (``cat:<sector>|<zorgvraag>|<measure>``):
    the published totals, and every provider's cell as unknown (never published), and the lowest
    value of each unknown: 1 where ``support`` (the attacker's knowledge of which (column,
    provider) cells are not 0) says so, else 0; a cell outside a known support is 0."""
    cells: dict[Key, int | None] = {}
    lowest: dict[Key, int] = {}
    for (sector, zorgvraag, measure), value in categories.items():
        column = f"cat:{sector}|{zorgvraag}|{measure}"
        cells[(column, NATIONAL, "totaal")] = value
        for provider in providers:
            if support is None:
                cells[(column, NATIONAL, provider)] = None
                lowest[(column, NATIONAL, provider)] = 0
            elif (column, provider) in support:
                cells[(column, NATIONAL, provider)] = None
            else:
                cells[(column, NATIONAL, provider)] = 0
    return cells, lowest


def _category_relations(categories: Categories) -> list[tuple[dict[str, int], bool]]:
    """Return the relations within a national cell that tie the category columns to each other
    and to the provider table."""
    found: list[tuple[dict[str, int], bool]] = []
    keys = set(categories)
    if not keys:
        return found
    sectors = sorted({sector for sector, zorgvraag, _ in keys if zorgvraag == "*"})
    for measure in CATEGORY_MEASURES:
        found.append(({**{f"cat:{s}|*|{measure}": 1 for s in sectors}, measure: -1}, True))
        for sector in sectors:
            codes = sorted({z for s, z, m in keys if s == sector and m == measure and z != "*"})
            if codes:
                found.append(({**{f"cat:{sector}|{z}|{measure}": 1 for z in codes},
                               f"cat:{sector}|*|{measure}": -1}, True))  # fmt: skip
    for sector, zorgvraag in sorted({(s, z) for s, z, _ in keys}):
        for measure in CATEGORY_MEASURES[1:]:
            found.append(({f"cat:{sector}|{zorgvraag}|{measure}": 1,
                           f"cat:{sector}|{zorgvraag}|wachtenden": -1}, False))  # fmt: skip
    return found


def _published_cells(
    tables: Tables, previous: Tables | None, categories: Categories | None, support: set[tuple[str, str]] | None
) -> tuple[dict[Key, int | None], dict[Key, int]]:
    """Return every cell the attacker reasons about (None: not published), with the previous
    round's ``dubbel_wachtenden`` as column ``vorig`` and the national table by sector and
    zorgvraag, and the lowest value each unpublished category cell may take."""
    some_table = next(iter(tables.values()))[0]
    columns = [c for c in some_table.columns if c not in ("agb_code", "naam")]
    cells = _cells(tables, columns)
    lowest: dict[Key, int] = {}
    if categories:
        names = sorted({p for _, _, p in cells} - {"totaal"})
        category_cells, lowest = _category_cells(categories, names, support)
        cells.update(category_cells)
    if previous is not None and "dubbel_opgelost" in columns:
        old = _cells(previous, ["dubbel_wachtenden"], prefix="vorig:")
        cells.update({("vorig", s, p): v for (_, s, p), v in old.items()})
        for scope in {s for _, s, _ in cells}:  # a provider or insurer the previous round lacked: 0
            for provider in {p for _, _, p in cells}:
                cells.setdefault(("vorig", scope, provider), 0)
    return cells, lowest


@dataclass
class _System:
    """The relations over the unknown cells, as rows ``low <= row @ x <= high`` (the published
    cells moved into the bounds)."""

    cells: Mapping[Key, int | None]
    index: dict[Key, int]
    rows: list[dict[int, float]] = field(default_factory=list)
    lows: list[float] = field(default_factory=list)
    highs: list[float] = field(default_factory=list)

    def relation(self, terms: Mapping[Key, float], equal: bool) -> None:
        """Add ``sum(terms) == 0`` (``equal``) or ``<= 0`` over the cells named."""
        row: dict[int, float] = {}
        constant = 0.0
        for key, coefficient in terms.items():
            if key in self.index:
                row[self.index[key]] = row.get(self.index[key], 0.0) + coefficient
            else:
                constant += coefficient * (self.cells.get(key) or 0)
        row = {i: c for i, c in row.items() if c}
        if row:
            self.rows.append(row)
            self.lows.append(-constant if equal else -np.inf)
            self.highs.append(-constant)

    def constraints(self) -> list[LinearConstraint]:
        """Return the rows as scipy's linear constraint (none without rows)."""
        matrix = csr_matrix(
            (
                [c for row in self.rows for c in row.values()],
                ([r for r, row in enumerate(self.rows) for _ in row], [i for row in self.rows for i in row]),
            ),
            shape=(len(self.rows), len(self.index)),
        )
        return [LinearConstraint(matrix, self.lows, self.highs)] if self.rows else []


def _add_relations(system: _System, categories: Categories | None) -> None:
    """Add every relation that holds by definition between the cells of ``system``."""
    keys = system.cells
    present = sorted({c for c, _, _ in keys})
    scopes = sorted({s for _, s, _ in keys})
    providers = sorted({p for _, _, p in keys} - {"totaal"})
    for column in present:
        _add_table_relations(system, column, scopes, providers)
    for terms, equal in PER_CELL:
        if set(terms) <= set(present):
            for scope in scopes:
                for provider in [*providers, "totaal"]:
                    system.relation({(c, scope, provider): k for c, k in terms.items()}, equal)
    for terms, equal in PER_TOTALS_ROW:
        if set(terms) <= set(present):
            for scope in scopes:
                system.relation({(c, scope, "totaal"): k for c, k in terms.items()}, equal)
    for terms, equal in _category_relations(categories or {}):
        for provider in [*providers, "totaal"]:
            system.relation({(c, NATIONAL, provider): k for c, k in terms.items()}, equal)


def _add_table_relations(system: _System, column: str, scopes: list[str], providers: list[str]) -> None:
    """Add the relations of one column: the insurers' slices add up to the national cell, and
    each table's rows to (or, for persons, at least to) its totals row."""
    national_only = column.startswith("cat:")
    slices = [s for s in scopes if s != NATIONAL]
    for provider in [*providers, "totaal"]:  # one insurer per person: the slices add up
        if not national_only:
            system.relation({(column, NATIONAL, provider): 1, **{(column, s, provider): -1 for s in slices}}, True)
    for scope in [NATIONAL] if national_only else scopes:
        total = (column, scope, "totaal")
        rows_of = {(column, scope, p): -1.0 for p in providers}
        if column in ENTRY_COUNTS or national_only:
            system.relation({**rows_of, total: 1}, True)
        else:
            system.relation({**rows_of, total: 2.0 if column in TWICE else 1.0}, False)
            if column not in OUTCOMES:
                for p in providers:
                    system.relation({(column, scope, p): 1, total: -1}, False)


def attack(
    tables: Tables,
    previous: Tables | None = None,
    rounds: int = 12,
    seed: int = 0,
    categories: Categories | None = None,
    support: set[tuple[str, str]] | None = None,
    only_below: int | None = None,
) -> Attack:
    """Return the range of every empty cell of ``tables`` (and of the previous round's empty
    ``dubbel_wachtenden`` cells, as column ``vorig``), given everything published in both, and
    the national table by sector and zorgvraag (``categories``) whose provider cells are never
    published (``support``: which of them are not 0, if the attacker knows that). With
    ``only_below``, only cells that may be pinned to a count from 1 to ``only_below - 1`` get
    their range (enough for :meth:`Attack.small_counts_pinned` at that threshold)."""
    cells, lowest = _published_cells(tables, previous, categories, support)
    unknown = sorted(key for key, value in cells.items() if value is None)
    if not unknown:
        return Attack()
    system = _System(cells, {key: i for i, key in enumerate(unknown)})
    _add_relations(system, categories)
    constraint = system.constraints()
    bounds = Bounds(np.array([float(lowest.get(key, 1)) for key in unknown]), np.full(len(unknown), 10.0**6))
    integral = np.ones(len(unknown))

    def solve(objective: np.ndarray, integer: bool = True) -> np.ndarray:
        result = milp(objective, integrality=integral if integer else None, bounds=bounds, constraints=constraint)
        if result.status != 0:
            raise AssertionError(f"the published release is inconsistent with the relations: {result.message}")
        return np.asarray(result.x)

    return _pin_ranges(system.index, solve, rounds, seed, only_below)


def _pin_ranges(
    index: Mapping[Key, int], solve: Callable[..., np.ndarray], rounds: int, seed: int, only_below: int | None
) -> Attack:
    """Return the range of every cell that two integer solutions do not show at two values.

    Cells seen at two values in two integer solutions are not pinned. For the rest, the linear
    relaxation's range contains the integer one: a range narrower than one pins the cell; a
    wider one is asked of the integer program."""
    size = len(index)
    rng = np.random.default_rng(seed)
    seen = np.array([np.round(solve(rng.normal(size=size))) for _ in range(rounds)])
    spread = np.ptp(seen, axis=0) > 0
    if only_below is not None:  # a cell seen at a value outside 1..only_below-1 is not a small count pinned
        spread |= (seen[0] < 1) | (seen[0] >= only_below)
    # push the cells not yet seen at two values up and down together, while that spreads some
    for _ in range(rounds):
        still = ~spread
        if not still.any():
            break
        before = int(still.sum())
        for direction in (-1.0, 1.0):
            objective = np.where(still, direction * rng.uniform(0.5, 1.5, size=size), 0.0)
            solution = np.round(solve(objective))
            spread |= solution != seen[0]
        if int((~spread).sum()) == before:
            break
    found = Attack()
    for key, i in index.items():
        if spread[i]:
            continue
        unit = np.zeros(size)
        unit[i] = 1.0
        low, high = solve(unit, integer=False)[i], solve(-unit, integer=False)[i]
        if np.ceil(low - 1e-6) < np.floor(high + 1e-6):
            low, high = np.round(solve(unit)[i]), np.round(solve(-unit)[i])
        found.ranges[key] = (int(np.ceil(low - 1e-6)), int(np.floor(high + 1e-6)))
    return found


def differenced(tables: Tables) -> list[tuple[str, str, int]]:
    """Return (column, provider, value) wherever exactly one insurer's cell is empty while the
    national cell and every other insurer's cell are published: national - sum(others)."""
    national, _ = tables[NATIONAL]
    slices = {scope: dict(zip(t["agb_code"].to_list(), t.to_dicts(), strict=True))
              for scope, (t, _) in tables.items() if scope != NATIONAL}  # fmt: skip
    found = []
    for row in national.to_dicts():
        for column, total in row.items():
            if column in ("agb_code", "naam") or total is None:
                continue
            cells = [rows.get(row["agb_code"], {}).get(column, 0) for rows in slices.values()]
            if sum(cell is None for cell in cells) == 1:
                found.append((column, row["agb_code"], total - sum(c for c in cells if c is not None)))
    return found
