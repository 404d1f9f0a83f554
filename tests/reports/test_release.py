"""Differencing attacks on a release: an attacker holding every insurer file (and the previous
round's) solves for the suppressed cells with an integer program of its own
(``tests/reports/attacker.py``); no count from 1 to 9 may come out exactly."""

from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reports.release as release_module
from benchmarks.attacker import Attack, Tables, attack, differenced
from benchmarks.legacy_protection import legacy_protect_release
from benchmarks.published_release import read_categories, read_release
from reports.insurers import protected_release
from reports.ledger import forced_suppressions, read_ledger, record_release
from reports.protection import audit_release, protect_release
from reports.release import (
    NATIONAL,
    PREVIOUS_DOUBLE,
    InconsistentRelease,
    Release,
    category_totals,
    check_relations,
    release_relations,
    release_tables,
    round_published,
)
from sample_data.populations import PopulationSpec, load_population
from tests.conftest import RoundRun

THRESHOLD = 10


def population_release(spec: PopulationSpec, protect=protect_release, edit: str | None = None) -> Release:
    """Return the protected release of a random population (``edit``: SQL run on it first)."""
    con = duckdb.connect()
    load_population(con, spec)
    if edit:
        con.execute(edit)
    import reports.insurers as insurers

    original = insurers.protect_release
    insurers.protect_release = protect
    try:
        return protected_release(con, THRESHOLD)
    finally:
        insurers.protect_release = original


def published_of(release: Release) -> Tables:
    """Return what the release publishes: {scope: (table, totals row)}."""
    return {scope: release_tables(release, scope) for scope in release.scopes}


def previous_of(release: Release) -> Tables:
    """Return the previous round's published double waiters on this release's grid."""
    counts, hidden = release.counts[PREVIOUS_DOUBLE], release.hidden[PREVIOUS_DOUBLE]
    tables = {}
    for s, scope in enumerate(release.scopes):
        values = [None if h else int(v) for v, h in zip(counts[s], hidden[s], strict=True)]
        table = pl.DataFrame({"agb_code": release.providers, "dubbel_wachtenden": values[:-1]},
                             schema={"agb_code": pl.Utf8, "dubbel_wachtenden": pl.Int64})  # fmt: skip
        totals = pl.DataFrame({"agb_code": ["totaal"], "dubbel_wachtenden": [values[-1]]},
                              schema={"agb_code": pl.Utf8, "dubbel_wachtenden": pl.Int64})  # fmt: skip
        tables[scope] = (table, totals)
    return tables


def attack_release(release: Release, with_previous: bool = True) -> Attack:
    """Return the attack on everything the release publishes (the national table by sector and
    zorgvraag included), by an attacker who also knows which of the never-published provider
    cells of that table are not 0, and (``with_previous``) holds the previous round's release."""
    categories = {tuple(c.split("|")): v for c, v in category_totals(release, NATIONAL).items()}
    support = {(f"cat:{column}", provider) for column in release.totals_only
               for i, provider in enumerate(release.providers) if release.counts[column][0, i] > 0}  # fmt: skip
    previous = previous_of(release) if with_previous else None
    published = published_of(release)
    return attack(published, previous, categories=categories, support=support, only_below=THRESHOLD)


PREVIOUS_BOUND = {"dubbel_opgelost", *release_module.OUTCOME_COLUMNS, PREVIOUS_DOUBLE}
"""Columns that the previous release bounds (resolved <= double then): the only ones whose small
count the previous release can give away, whatever this release does."""


def unprotected(release: Release, found: list) -> list:
    """Return the attacker's pinned small counts that the protection did not report as given
    away by the previous release; every reported one must be in a column it bounds."""
    reported = {(e.column, e.scope, e.provider) for e in release.stats.exposed}
    assert {column for column, _, _ in reported} <= PREVIOUS_BOUND
    names = {"vorig": PREVIOUS_DOUBLE}
    return [(key, value) for key, value in found if (names.get(key[0], key[0]), *key[1:]) not in reported]


LEAKY = PopulationSpec(providers=12, insurers=4, seed=3)


@pytest.mark.slow
def test_the_previous_release_model_leaks_under_the_attacker():
    """Negative control: stop 17's protection (person slices as inequalities) gives small counts
    away to an attacker who knows that every person has one insurer; this one does not."""
    legacy = population_release(LEAKY, legacy_protect_release)
    assert attack_release(legacy, with_previous=False).small_counts_pinned(THRESHOLD)
    protected = population_release(LEAKY)
    assert attack_release(protected).small_counts_pinned(THRESHOLD) == []
    assert protected.stats.exposed == []
    assert audit_release(protected, THRESHOLD) == []


@pytest.mark.slow
def test_protection_that_ignores_relations_between_columns_leaks(monkeypatch: pytest.MonkeyPatch):
    """Negative control: without dubbel_nieuw + dubbel_blijvend = dubbel_wachtenden and the other
    relations within a cell, the attacker (who knows them) pins small counts."""
    monkeypatch.setattr(release_module, "CELL_RELATIONS", ())
    naive = population_release(LEAKY)
    assert attack_release(naive).small_counts_pinned(THRESHOLD)


@pytest.mark.slow
def test_a_table_by_sector_and_zorgvraag_protected_apart_gives_small_counts_away(monkeypatch: pytest.MonkeyPatch):
    """Negative control: the release protected without its table by sector and zorgvraag, that
    table then published with only its small counts hidden: an attacker who knows which provider
    delivers which zorgvraag pins small counts of the provider table through it. Protected as
    part of the release (as published), nothing is pinned."""
    spec = PopulationSpec(providers=12, insurers=4, seed=3)
    con = duckdb.connect()
    load_population(con, spec)
    import reports.insurers as insurers

    with monkeypatch.context() as patched:
        patched.setattr(insurers, "add_categories", lambda con, release, *_: release)
        apart = insurers.protected_release(con, THRESHOLD)
    whole = population_release(spec, lambda release, *_: release)  # true counts, categories included
    totals = {column: int(whole.counts[column][0, -1]) for column in whole.totals_only}
    categories = {tuple(c.split("|")): None if 1 <= v < THRESHOLD else v for c, v in totals.items()}
    support = {(f"cat:{column}", provider) for column in whole.totals_only
               for i, provider in enumerate(whole.providers) if whole.counts[column][0, i] > 0}  # fmt: skip
    found = attack(published_of(apart), previous_of(apart), categories=categories, support=support,  # type: ignore[arg-type]
                   only_below=THRESHOLD).small_counts_pinned(THRESHOLD)  # fmt: skip
    assert any(column == "boven_norm" for (column, _, _), _ in found)
    assert attack_release(population_release(spec)).small_counts_pinned(THRESHOLD) == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    providers=st.integers(2, 7),
    insurers=st.integers(1, 4),
    mean_entries=st.sampled_from([3.0, 12.0, 40.0]),
    seed=st.integers(0, 10_000),
)
@pytest.mark.slow
def test_no_small_count_can_be_solved_for_after_protection(providers, insurers, mean_entries, seed):
    spec = PopulationSpec(providers=providers, insurers=insurers, mean_entries=mean_entries, seed=seed)
    release = population_release(spec)
    published = published_of(release)
    assert unprotected(release, attack_release(release).small_counts_pinned(THRESHOLD)) == []
    reported = {(e.column, e.provider) for e in release.stats.exposed if e.scope != NATIONAL}
    direct = [(c, p, v) for c, p, v in differenced(published) if 1 <= v < THRESHOLD and (c, p) not in reported]
    assert direct == []
    for scope, (table, totals) in published.items():  # zero is published, 1..9 never is
        for column in table.columns[1:]:
            shown = [v for v in [*table[column].to_list(), totals[column][0]] if v is not None]
            assert not any(1 <= v < THRESHOLD for v in shown), (scope, column)
    shown = [v for v in category_totals(release, NATIONAL).values() if v is not None]
    assert not any(1 <= v < THRESHOLD for v in shown)


def test_the_slices_partition_the_national_counts_exactly():
    release = population_release(PopulationSpec(providers=30, insurers=6, seed=5))
    for column in release.all_columns:
        counts = release.counts[column]
        if column in release.totals_only:  # the national table only
            assert not counts[1:].any() and counts[0].any(), column
            continue
        assert (counts[0] == counts[1:].sum(axis=0)).all(), column
    check_relations(release, release_relations(release))


def test_counts_that_break_a_relation_are_refused():
    release = population_release(PopulationSpec(providers=5, insurers=2, seed=2))
    release.counts["unieke_personen"][1, 0] += 1  # the slices no longer add up to the nation
    with pytest.raises(InconsistentRelease, match="unieke_personen: landelijk = som van de verzekeraars"):
        check_relations(release, release_relations(release))


def test_a_corrected_release_of_the_same_round_cannot_be_differenced(tmp_path: Path):
    ledger = tmp_path / "release_ledger.jsonl"
    spec = PopulationSpec(providers=10, insurers=3, seed=8)
    first = population_release(spec)
    record_release(ledger, "2026-11", first, THRESHOLD, 1, {})
    removal = (
        "DELETE FROM entry_facts WHERE entry_id IN "
        "(SELECT entry_id FROM entry_facts WHERE provider = '22000004' ORDER BY entry_id LIMIT 3)"
    )
    forced_seen: list[tuple[str, str, str]] = []

    def with_forced(release: Release, threshold: int, _forced: object = ()) -> Release:
        forced = forced_suppressions(read_ledger(ledger), "2026-11", release, threshold)
        forced_seen.extend(forced)
        return protect_release(release, threshold, forced)

    second = population_release(spec, with_forced, edit=removal)
    assert ("wachtenden", NATIONAL, "22000004") in forced_seen
    before, after = published_of(first), published_of(second)
    for scope in before:
        old_table, new_table = before[scope][0], after[scope][0]
        for column in old_table.columns[1:]:
            old = dict(zip(old_table["agb_code"], old_table[column], strict=True))
            new = dict(zip(new_table["agb_code"], new_table[column], strict=True))
            for provider in old.keys() & new.keys():
                if old[provider] is not None and new[provider] is not None:
                    assert not 1 <= abs(old[provider] - new[provider]) < THRESHOLD, (scope, column, provider)
    old_categories, new_categories = category_totals(first, NATIONAL), category_totals(second, NATIONAL)
    for column, old_value in old_categories.items():
        new_value = new_categories[column]
        if old_value is not None and new_value is not None:
            assert not 1 <= abs(old_value - new_value) < THRESHOLD, column
    assert unprotected(second, attack_release(second).small_counts_pinned(THRESHOLD)) == []
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
    published = read_release(dirty_round.round_dir / "insurers")
    categories = read_categories(dirty_round.round_dir / "insurers")
    assert len(published) > 3
    assert {sector for sector, _, _ in categories} == {"ggz", "msz"}
    assert any(table[c].null_count() for table, _ in published.values() for c in table.columns[1:])
    assert attack(published, categories=categories, only_below=THRESHOLD).small_counts_pinned(THRESHOLD) == []
    assert [value for *_, value in differenced(published) if 1 <= value < THRESHOLD] == []


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


def _protect_in_a_daemon(release: Release, queue) -> None:
    protect_release(release, THRESHOLD)
    queue.put({column: release.hidden[column].tolist() for column in release.columns})


@pytest.mark.slow
def test_protection_gives_the_same_result_in_workers_in_one_process_and_inside_a_daemon():
    """More than 100 providers: worker processes; inside a daemonic process (a Dask worker) they
    cannot start, and the same work runs in that process with the same result."""
    import copy
    import multiprocessing

    spec = PopulationSpec(providers=110, insurers=3, mean_entries=8.0, seed=4)
    unprotected_release = population_release(spec, lambda release, threshold, forced=(): release)
    in_workers = protect_release(copy.deepcopy(unprotected_release), THRESHOLD)
    alone = protect_release(copy.deepcopy(unprotected_release), THRESHOLD, workers=1)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    daemon = context.Process(target=_protect_in_a_daemon, args=(unprotected_release, queue), daemon=True)
    daemon.start()
    in_daemon = queue.get(timeout=600)
    daemon.join()
    assert in_workers.stats.secondary > 0
    for column in in_workers.columns:
        assert (in_workers.hidden[column] == alone.hidden[column]).all(), column
        assert in_workers.hidden[column].tolist() == in_daemon[column], column


def test_every_own_witness_moves_its_target_and_targets_it_moves_share_it(monkeypatch: pytest.MonkeyPatch):
    """A target that an earlier target's witness moves gets that witness instead of a program
    of its own; every witness handed out moves its target."""
    import reports.protection as protection

    calls = []
    real = protection._TASKS["witness"]

    def recording(problem, open_targets, task):
        result = real(problem, open_targets, task)
        calls.append((task[0], result))
        return result

    monkeypatch.setitem(protection._TASKS, "witness", recording)
    population_release(PopulationSpec(providers=40, insurers=3, mean_entries=12.0, seed=3))
    shared = 0
    for targets, results in calls:
        for target, moved in zip(targets, results, strict=True):
            assert moved is None or target in moved
        found = [id(moved) for moved in results if moved is not None]
        shared += len(found) - len(set(found))
    assert calls and shared > 0
