"""An attacker who holds every file of an insurer release (and the previous round's) and knows
how the tables are made, written apart from ``reports.release`` so that it shares no mistake
with it: an integer program over every suppressed cell, with every relation that holds in the
data, asked for the lowest and highest value each suppressed cell can take."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
from scipy.optimize import Bounds, LinearConstraint, milp

NATIONAL = "alle"
PHASES = ("wachtenden_aanmelding", "wachtenden_behandeling")
BANDS = ("wacht_0_4_weken", "wacht_4_10_weken", "wacht_10_14_weken", "wacht_meer_14_weken")
ENTRY_COUNTS = ("wachtenden", "boven_norm", "boven_norm_geschoond", *PHASES, *BANDS)
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
)
"""(terms, is equality) per cell; ``vorig`` is the previous round's dubbel_wachtenden."""

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


def attack(tables: Tables, previous: Tables | None = None, rounds: int = 12, seed: int = 0) -> Attack:
    """Return the range of every empty cell of ``tables`` (and of the previous round's empty
    ``dubbel_wachtenden`` cells, as column ``vorig``), given everything published in both."""
    some_table = next(iter(tables.values()))[0]
    columns = [c for c in some_table.columns if c not in ("agb_code", "naam")]
    cells = _cells(tables, columns)
    if previous is not None and "dubbel_opgelost" in columns:
        old = _cells(previous, ["dubbel_wachtenden"], prefix="vorig:")
        cells.update({("vorig", s, p): v for (_, s, p), v in old.items()})
        for scope in {s for _, s, _ in cells}:  # a provider or insurer the previous round lacked: 0
            for provider in {p for _, _, p in cells}:
                cells.setdefault(("vorig", scope, provider), 0)
    present = sorted({c for c, _, _ in cells})
    scopes = sorted({s for _, s, _ in cells})
    providers = sorted({p for _, _, p in cells} - {"totaal"})
    unknown = sorted(key for key, value in cells.items() if value is None)
    if not unknown:
        return Attack()
    index = {key: i for i, key in enumerate(unknown)}
    rows: list[np.ndarray] = []
    lows: list[float] = []
    highs: list[float] = []

    def relation(terms: Mapping[Key, float], equal: bool) -> None:
        row = np.zeros(len(unknown))
        constant = 0.0
        for key, coefficient in terms.items():
            if key in index:
                row[index[key]] += coefficient
            else:
                constant += coefficient * (cells.get(key) or 0)
        if row.any():
            rows.append(row)
            lows.append(-constant if equal else -np.inf)
            highs.append(-constant)

    slices = [s for s in scopes if s != NATIONAL]
    for column in present:
        for provider in [*providers, "totaal"]:  # one insurer per person: the slices add up
            relation({(column, NATIONAL, provider): 1, **{(column, s, provider): -1 for s in slices}}, True)
        for scope in scopes:
            total = (column, scope, "totaal")
            rows_of = {(column, scope, p): -1.0 for p in providers}
            if column in ENTRY_COUNTS:
                relation({**rows_of, total: 1}, True)
            else:
                relation({**rows_of, total: 2.0 if column in TWICE else 1.0}, False)
                if column not in OUTCOMES:
                    for p in providers:
                        relation({(column, scope, p): 1, total: -1}, False)
    for terms, equal in PER_CELL:
        if set(terms) <= set(present):
            for scope in scopes:
                for provider in [*providers, "totaal"]:
                    relation({(c, scope, provider): k for c, k in terms.items()}, equal)
    matrix = np.array(rows)
    constraint = [LinearConstraint(matrix, lows, highs)] if rows else []
    bounds = Bounds(np.ones(len(unknown)), np.full(len(unknown), 10.0**6))
    integral = np.ones(len(unknown))

    def solve(objective: np.ndarray, integer: bool = True) -> np.ndarray:
        result = milp(objective, integrality=integral if integer else None, bounds=bounds, constraints=constraint)
        assert result.status == 0, f"the published release is inconsistent with the relations: {result.message}"
        return np.asarray(result.x)

    # Cells seen at two values in two integer solutions are not pinned. For the rest, the linear
    # relaxation's range contains the integer one: a range narrower than one pins the cell; a
    # wider one is asked of the integer program.
    rng = np.random.default_rng(seed)
    seen = [np.round(solve(rng.normal(size=len(unknown)))) for _ in range(rounds)]
    spread = np.ptp(np.array(seen), axis=0) > 0
    found = Attack()
    for key, i in index.items():
        if spread[i]:
            continue
        unit = np.zeros(len(unknown))
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


def read_release(folder: Path) -> dict[str, tuple[pl.DataFrame, pl.DataFrame]]:
    """Return {scope: (table, totals row)} of a published insurer folder (CSV files)."""

    def read(path: Path) -> pl.DataFrame:
        data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
        return pl.read_csv(data, separator=";", schema_overrides={"agb_code": pl.Utf8, "uzovi": pl.Utf8})

    totals = read(folder / "totalen.csv")
    tables = {}
    for scope in totals["uzovi"].to_list():
        table = read(folder / ("national.csv" if scope == NATIONAL else f"{scope}.csv"))
        scope_totals = totals.filter(pl.col("uzovi") == scope).rename({"uzovi": "agb_code"})
        tables[scope] = (
            table.drop("naam", strict=False),
            scope_totals.with_columns(pl.lit("totaal").alias("agb_code")),
        )
    return tables
