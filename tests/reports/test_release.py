"""Differencing attacks on a release: the attacker holds every insurer file and solves for the
suppressed cells with an integer program of its own; no small count may come out exactly."""

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from reports.disclosure import COUNT_COLUMNS
from reports.ledger import forced_suppressions, read_ledger, record_release
from reports.release import (
    NATIONAL,
    OUTCOME_COLUMNS,
    PREVIOUS_DOUBLE,
    TREND_COLUMNS,
    add_fixed_column,
    audit_release,
    build_release,
    protect_release,
    release_tables,
    round_published,
)
from tests.conftest import RoundRun

THRESHOLD = 10
ADDITIVE = ("wachtenden", "boven_norm", "boven_norm_geschoond")


def attack(
    published: dict[str, tuple[pl.DataFrame, pl.DataFrame]], column: str
) -> dict[tuple[str, str], tuple[int, int]]:
    """Return {(scope, provider): (lowest, highest)} integer values each empty cell of ``column``
    can take, given every published cell, the row sums and national = sum of the slices."""
    scopes = [NATIONAL, *sorted(s for s in published if s != NATIONAL)]
    providers = sorted({p for table, _ in published.values() for p in table["agb_code"]})
    cells: dict[tuple[str, str], int | None] = {}
    for scope in scopes:
        table, totals = published[scope]
        known = dict(zip(table["agb_code"], table[column], strict=True))
        for provider in providers:
            cells[(scope, provider)] = known.get(provider, 0)  # absent from a slice: 0
        cells[(scope, "totaal")] = totals[column][0]
    unknown = [key for key, value in cells.items() if value is None]
    if not unknown:
        return {}
    position = {key: i for i, key in enumerate(unknown)}
    rows, bounds_low, bounds_high = [], [], []
    relations = [[(s, p) for p in providers] + [(s, "totaal")] for s in scopes]  # row sum minus total = 0
    signs = [[1] * len(providers) + [-1] for _ in scopes]
    for provider in [*providers, "totaal"]:
        relations.append([(NATIONAL, provider)] + [(s, provider) for s in scopes[1:]])
        signs.append([1] + [-1] * (len(scopes) - 1))
    for relation, sign in zip(relations, signs, strict=True):
        row = np.zeros(len(unknown))
        constant = 0
        for key, coefficient in zip(relation, sign, strict=True):
            if key in position:
                row[position[key]] = coefficient
            else:
                constant += coefficient * cells[key]
        if row.any():
            rows.append(row)
            bounds_low.append(-constant)
            bounds_high.append(-constant)
    constraint = LinearConstraint(np.array(rows), bounds_low, bounds_high) if rows else None
    result = {}
    for key, i in position.items():
        objective = np.zeros(len(unknown))
        objective[i] = 1
        ends = []
        for direction in (1, -1):
            solved = milp(
                direction * objective, constraints=constraint, integrality=np.ones(len(unknown)),
                bounds=Bounds(np.ones(len(unknown)), np.full(len(unknown), 10**7)),
            )  # fmt: skip
            assert solved.status == 0, "the published release must be consistent"
            ends.append(round(solved.x[i]))
        result[key] = (ends[0], ends[1])
    return result


def small_counts_revealed(published: dict[str, tuple[pl.DataFrame, pl.DataFrame]]) -> list[tuple]:
    revealed = []
    for column in ADDITIVE:
        for key, (low, high) in attack(published, column).items():
            if low == high and 1 <= low < THRESHOLD:
                revealed.append((column, *key, low))
    return revealed


def release_from(counts: np.ndarray) -> dict[str, tuple[pl.DataFrame, pl.DataFrame]]:
    """counts: (slices, providers) of wachtenden per insurer; other columns follow from it, and
    the national table is the sum of the slices."""
    providers = [f"2200000{i}" for i in range(counts.shape[1])]
    per_slice = [{c: counts[s] // (1 + i % 2) for i, c in enumerate(COUNT_COLUMNS)} for s in range(counts.shape[0])]
    national = {c: sum(columns[c] for columns in per_slice) for c in COUNT_COLUMNS}
    tables = {}
    for scope, columns in [(NATIONAL, national), *((f"33{s + 1:02d}", cols) for s, cols in enumerate(per_slice))]:
        frame = pl.DataFrame({"agb_code": providers, **columns}).cast({c: pl.Int64 for c in COUNT_COLUMNS})
        frame = frame.filter(pl.col("wachtenden") > 0) if scope != NATIONAL else frame
        totals = frame.select(pl.lit("totaal").alias("agb_code"), *[pl.col(c).sum() for c in COUNT_COLUMNS])
        tables[scope] = (frame, totals)
    return tables


def published_of(release) -> dict[str, tuple[pl.DataFrame, pl.DataFrame]]:
    return {scope: release_tables(release, scope) for scope in release.scopes}


def test_per_table_suppression_alone_is_broken_by_the_slices():
    counts = np.array([[40, 3, 25], [30, 12, 18]])  # provider 2 has 3 entries of insurer 3301
    naive = build_release(release_from(counts))
    from reports.disclosure import suppress

    published = {}
    for scope, (table, totals) in release_from(counts).items():
        published[scope] = suppress(table, totals, THRESHOLD)
    assert small_counts_revealed(published), "the attack must find what per-table suppression leaves open"
    protected = protect_release(naive, THRESHOLD)
    assert small_counts_revealed(published_of(protected)) == []
    assert audit_release(protected, THRESHOLD) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(1, 3).flatmap(
        lambda slices: st.integers(2, 5).flatmap(
            lambda providers: st.lists(
                st.lists(st.one_of(st.integers(0, 12), st.integers(10, 60)), min_size=providers, max_size=providers),
                min_size=slices, max_size=slices,
            )
        )
    )
)  # fmt: skip
def test_no_small_count_can_be_solved_for_after_protection(values: list[list[int]]):
    counts = np.array(values)
    release = protect_release(build_release(release_from(counts)), THRESHOLD)
    published = published_of(release)
    assert small_counts_revealed(published) == []
    for scope, (table, totals) in published.items():  # zero is published, 1..9 never is
        for column in COUNT_COLUMNS:
            shown = [v for v in [*table[column].to_list(), totals[column][0]] if v is not None]
            assert not any(1 <= v < THRESHOLD for v in shown), (scope, column)


def test_a_corrected_release_of_the_same_round_cannot_be_differenced(tmp_path: Path):
    ledger = tmp_path / "release_ledger.jsonl"
    first = protect_release(build_release(release_from(np.array([[40, 30, 25], [30, 22, 18]]))), THRESHOLD)
    record_release(ledger, "2026-11", first, THRESHOLD, 1, {})
    corrected = build_release(release_from(np.array([[40, 27, 25], [30, 22, 18]])))  # 3 entries removed
    forced = forced_suppressions(read_ledger(ledger), "2026-11", corrected, THRESHOLD)
    assert ("wachtenden", NATIONAL, "22000001") in forced
    second = protect_release(corrected, THRESHOLD, forced)
    before, after = published_of(first), published_of(second)
    for scope in before:
        for column in ADDITIVE:
            old = dict(zip(before[scope][0]["agb_code"], before[scope][0][column], strict=True))
            new = dict(zip(after[scope][0]["agb_code"], after[scope][0][column], strict=True))
            for provider in old.keys() & new.keys():
                if old[provider] is not None and new[provider] is not None:
                    assert not 1 <= abs(old[provider] - new[provider]) < THRESHOLD, (scope, column, provider)
    assert small_counts_revealed(after) == []
    record_release(ledger, "2026-11", second, THRESHOLD, 1, {})
    record_release(ledger, "2026-11", second, THRESHOLD, 1, {})  # a rerun adds nothing
    assert len(read_ledger(ledger)) == 2


def test_rounding_to_five():
    frame = pl.DataFrame(
        {"agb_code": ["a", "b", "c", "d"], "wachtenden": [0, 12, 13, None], "boven_norm": [10, 1, 27, 3]}
    )
    rounded = round_published(frame, 5)
    assert rounded["wachtenden"].to_list() == [0, 10, 15, None]
    assert rounded["boven_norm"].to_list() == [10, 5, 25, 5]


def test_the_published_round_withstands_the_attack(dirty_round: RoundRun):
    insurers = dirty_round.round_dir / "insurers"
    totals = pl.read_csv(insurers / "totalen.csv", separator=";", schema_overrides={"uzovi": pl.Utf8})
    published = {}
    for scope in totals["uzovi"]:
        name = "national" if scope == NATIONAL else scope
        table = pl.read_csv(insurers / f"{name}.csv", separator=";", schema_overrides={"agb_code": pl.Utf8})
        scope_totals = totals.filter(pl.col("uzovi") == scope).rename({"uzovi": "agb_code"})
        published[scope] = (table, scope_totals)
    assert len(published) > 3
    assert any(table[c].null_count() for table, _ in published.values() for c in ADDITIVE)
    assert small_counts_revealed(published) == []


@pytest.mark.parametrize("base", [1, 5])
def test_settings_refuse_rounding_above_the_threshold(base: int, tmp_path: Path):
    from flows.settings import SettingsError, load_settings

    config = tmp_path / "c.toml"
    config.write_text(f"disclosure_threshold = 4\nrounding_base = {base}\n")
    if base <= 4:
        assert load_settings(config).rounding_base == base
    else:
        with pytest.raises(SettingsError, match="rounding_base"):
            load_settings(config)


TREND_GROUP = ("dubbel_wachtenden", "dubbel_nieuw", "dubbel_blijvend", "dubbel_opgelost", *OUTCOME_COLUMNS)


def trend_tables(rows: list[tuple[int, int, int, list[int]]]) -> tuple[dict, np.ndarray]:
    """One national table from (dubbel, nieuw, vorig, outcome split of opgelost) per provider:
    blijvend = dubbel - nieuw, opgelost = sum of the split (its last part: no feedback).
    Returns the tables and the previous round's double waiters (providers + totals)."""
    providers = [f"2200000{i}" for i in range(len(rows))]
    columns: dict[str, list[int]] = {c: [] for c in (*COUNT_COLUMNS, *TREND_COLUMNS)}
    previous = []
    for dubbel, nieuw, vorig, split in rows:
        nieuw = min(nieuw, dubbel)
        opgelost = min(sum(split), vorig)
        outcomes = [min(part, opgelost - sum(split[:i])) if opgelost > sum(split[:i]) else 0
                    for i, part in enumerate(split[:4])]  # fmt: skip
        values = {"wachtenden": 100, "unieke_personen": 90, "dubbel_wachtenden": dubbel, "interne_dubbelingen": 0,
                  "boven_norm": 40, "boven_norm_geschoond": 30, "dubbel_nieuw": nieuw,
                  "dubbel_blijvend": dubbel - nieuw, "dubbel_opgelost": opgelost,
                  **dict(zip(OUTCOME_COLUMNS, outcomes, strict=True))}  # fmt: skip
        for column, value in values.items():
            columns[column].append(value)
        previous.append(vorig)
    frame = pl.DataFrame({"agb_code": providers, **columns}).cast({c: pl.Int64 for c in columns})
    totals = frame.select(pl.lit("totaal").alias("agb_code"), *[pl.col(c).sum() for c in columns])
    return {NATIONAL: (frame, totals)}, np.array([[*previous, sum(previous)]])


def protected_trend_release(rows, previous_hidden_mask=None):
    tables, previous = trend_tables(rows)
    release = build_release(tables, (*COUNT_COLUMNS, *TREND_COLUMNS))
    if previous_hidden_mask is None:
        previous_hidden_mask = (previous >= 1) & (previous < THRESHOLD)
    add_fixed_column(release, PREVIOUS_DOUBLE, previous, previous_hidden_mask)
    return protect_release(release, THRESHOLD), previous, previous_hidden_mask


def trend_attack(release, previous: np.ndarray, previous_hidden: np.ndarray) -> list[tuple]:
    """An attacker holding this release and the previous round's published double waiters solves,
    with integer programming, for every empty cell of the double-waiter columns and the previous
    round's empty cells; returns those pinned to a value from 1 to the threshold - 1."""
    table, totals = release_tables(release, NATIONAL)
    n = table.height
    cells: dict[tuple[str, int], int | None] = {}
    for column in TREND_GROUP:
        for p, value in enumerate([*table[column].to_list(), totals[column][0]]):
            cells[(column, p)] = value
    for p in range(n + 1):
        cells[("vorig", p)] = None if previous_hidden[0, p] else int(previous[0, p])
    unknown = [key for key, value in cells.items() if value is None]
    if not unknown:
        return []
    position = {key: i for i, key in enumerate(unknown)}
    rows, low, high = [], [], []

    def relation(terms: dict[tuple[str, int], int], equal: bool) -> None:
        row, constant = np.zeros(len(unknown)), 0
        for key, coefficient in terms.items():
            if key in position:
                row[position[key]] += coefficient
            else:
                constant += coefficient * cells[key]
        if row.any():
            rows.append(row)
            low.append(-constant if equal else -np.inf)
            high.append(-constant)

    for column in (*TREND_GROUP, "vorig"):  # persons: the total is at most the sum of the rows
        relation({**{(column, p): -1 for p in range(n)}, (column, n): 1}, equal=False)
    for p in range(n + 1):
        relation({("dubbel_nieuw", p): 1, ("dubbel_blijvend", p): 1, ("dubbel_wachtenden", p): -1}, equal=True)
        relation({**{(c, p): 1 for c in OUTCOME_COLUMNS}, ("dubbel_opgelost", p): -1}, equal=False)
        relation({("dubbel_opgelost", p): 1, ("vorig", p): -1}, equal=False)
    constraint = LinearConstraint(np.array(rows), low, high) if rows else None
    revealed = []
    for key, i in position.items():
        ends = []
        for direction in (1, -1):
            objective = np.zeros(len(unknown))
            objective[i] = direction
            solved = milp(objective, constraints=constraint, integrality=np.ones(len(unknown)),
                          bounds=Bounds(np.ones(len(unknown)), np.full(len(unknown), 10**6)))  # fmt: skip
            assert solved.status == 0, "the published release must be consistent"
            ends.append(round(solved.x[i]))
        if ends[0] == ends[1] and 1 <= ends[0] < THRESHOLD:
            revealed.append((*key, ends[0]))
    return revealed


def test_trend_columns_without_their_relations_give_a_small_count_away(monkeypatch: pytest.MonkeyPatch):
    rows = [(15, 12, 30, [12, 3, 0, 0, 0]), (40, 20, 50, [10, 10, 0, 0, 5]), (60, 30, 45, [20, 5, 0, 0, 0])]
    import reports.release as release_module

    monkeypatch.setattr(release_module, "CROSS_RELATIONS", ())
    naive, previous, hidden = protected_trend_release(rows)
    assert trend_attack(naive, previous, hidden), "blijvend = dubbel - nieuw must be found without the relations"
    monkeypatch.undo()
    protected, previous, hidden = protected_trend_release(rows)
    assert trend_attack(protected, previous, hidden) == []
    assert audit_release(protected, THRESHOLD) == []


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.one_of(st.integers(0, 12), st.integers(10, 60)),
            st.integers(0, 40),
            st.one_of(st.integers(0, 12), st.integers(10, 60)),
            st.lists(st.integers(0, 12), min_size=5, max_size=5),
        ),
        min_size=2,
        max_size=5,
    )
)
def test_no_small_count_of_this_or_the_previous_round_can_be_solved_for(rows):
    protected, previous, hidden = protected_trend_release(rows)
    assert trend_attack(protected, previous, hidden) == []
