"""The round's DuckDB store of pseudonymised entries, and the linking SQL run on it.

Only pseudonymised staging files enter the store; no plain identifier ever does.
SQL lives in ``linkage/sql``; values are always bound parameters. The only text put into
SQL is the scope expression, built from a closed set of column names.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb
import polars as pl

from linkage.comparisons import NAME_COLUMNS_SQL
from linkage.frames import query_frame
from linkage.parameters import LinkageParameters, LinkageReport
from linkage.probabilistic import link_probabilistically

SCOPE_COLUMNS: frozenset[str] = frozenset({"sector", "zorgvraag", "wachtfase"})


class KeyVersionMismatch(Exception):
    """Entries pseudonymised under different keys were about to be linked."""


def sql_text(name: str) -> str:
    """Return the text of one SQL file from ``linkage/sql``."""
    return resources.files("linkage").joinpath("sql", name).read_text(encoding="utf-8")


def run_script(con: duckdb.DuckDBPyConnection, text: str, parameters: Mapping[str, object] | None = None) -> None:
    """Run the statements of a SQL script (separated by ``;`` at a line end) one by one, each
    with the named parameters it uses."""
    for statement in text.split(";\n"):
        code = "\n".join(line for line in statement.splitlines() if not line.lstrip().startswith("--")).strip()
        if code:
            used = {name: value for name, value in (parameters or {}).items() if f"${name}" in code}
            con.execute(code, used or None)


def scope_key_sql(match_scope: Mapping[str, Sequence[str]]) -> str:
    """Return a SQL expression giving each entry's scope key from the configured columns.

    Raises ValueError for a column outside :data:`SCOPE_COLUMNS`; sector names are
    checked to be plain lower-case words before they are quoted into the CASE.
    """
    branches = []
    for sector, columns in sorted(match_scope.items()):
        unknown = set(columns) - SCOPE_COLUMNS
        if unknown or not sector.isalpha() or not sector.islower():
            raise ValueError(f"invalid match scope for {sector!r}: {sorted(unknown)}")
        parts = ", ".join(f"coalesce(e.{column}, '')" for column in columns)
        branches.append(f"WHEN '{sector}' THEN concat_ws('|', {parts})")
    return f"CASE e.sector {' '.join(branches)} END"


@dataclass(frozen=True)
class StoreResources:
    """What the round's DuckDB store may use: threads, and memory before it spills to disk
    (into ``<store>.tmp`` beside the store, which holds pseudonyms only)."""

    threads: int = 2
    memory_mb: int = 1024


def machine_resources() -> StoreResources:
    """Return resources from this machine: every core, and half its memory (at least 1 GiB)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 2)
    try:
        memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    except (ValueError, OSError, AttributeError):
        memory_mb = 2048
    return StoreResources(threads=max(1, cores), memory_mb=max(1024, memory_mb // 2))


ROUND_BASE_MB = 256
ROUND_MB_PER_MILLION_ENTRIES = 1024
"""Memory a round's linking works in, from the measured working set (the linking table of
fixed-width encodings and the pair tables): at 10 M entries linking took 305 s and wrote 49 GB of
spill files held to 8 GiB, 173 s and 4 GB held to 11 GiB; at 3 M it spills about 2 GB for 4 s.
The process holds about 0.6 GiB more (Python, the frames of link selection)."""


def round_resources(machine: StoreResources, entries: int) -> StoreResources:
    """Return ``machine``'s resources with the memory limit lowered to what linking a round of
    ``entries`` entries works in (:data:`ROUND_MB_PER_MILLION_ENTRIES`): the store spills beyond
    it instead of holding half the machine, so memory grows with the round, not with the machine."""
    needed = ROUND_BASE_MB + ROUND_MB_PER_MILLION_ENTRIES * entries // 1_000_000
    return StoreResources(threads=machine.threads, memory_mb=min(machine.memory_mb, needed))


def open_store(path: Path, limits: StoreResources | None = None) -> duckdb.DuckDBPyConnection:
    """Return a connection to the DuckDB file at ``path``, created if needed, within ``limits``
    (default: :class:`StoreResources`' small defaults)."""
    limits = limits or StoreResources()
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    con.execute(f"SET threads = {int(limits.threads)}")
    con.execute("SET memory_limit = ?", [f"{int(limits.memory_mb)}MiB"])
    con.execute("SET preserve_insertion_order = false")
    return con


def load_reference_tables(
    con: duckdb.DuckDBPyConnection,
    norm_days: Mapping[tuple[str, str], int],
    locations: Mapping[str, str],
) -> None:
    """Create the ``norms`` and ``locations`` tables from the settings."""
    con.execute("CREATE OR REPLACE TABLE norms (sector VARCHAR, wachtfase VARCHAR, norm_days INTEGER)")
    con.executemany(
        "INSERT INTO norms VALUES (?, ?, ?)",
        [[sector, phase, days] for (sector, phase), days in sorted(norm_days.items())],
    )
    con.execute("CREATE OR REPLACE TABLE locations (location VARCHAR, organisation VARCHAR)")
    if locations:
        con.executemany("INSERT INTO locations VALUES (?, ?)", [[k, v] for k, v in sorted(locations.items())])


def link_round(
    con: duckdb.DuckDBPyConnection,
    staged_files: Sequence[Path],
    *,
    match_scope: Mapping[str, Sequence[str]],
    norm_days: Mapping[tuple[str, str], int],
    locations: Mapping[str, str],
    reference_date: dt.date,
    parameters: LinkageParameters | None = None,
) -> LinkageReport:
    """Load staged entries, link them into persons and compute per-entry facts.

    Leaves the tables ``entries``, ``entry_person`` and ``entry_facts`` in the store and
    returns the report of the probabilistic stage.
    """
    load_reference_tables(con, norm_days, locations)
    files = [str(path) for path in sorted(staged_files)]
    if not files:
        raise ValueError("no staged entries to link")
    con.execute(sql_text("00_entry_order.sql"), {"files": files})
    con.execute(sql_text("02_stored_entries.sql"), {"files": files})
    key_ids = query_frame(con, "SELECT DISTINCT key_id FROM entry_details")["key_id"].to_list()
    if len(key_ids) != 1:
        raise KeyVersionMismatch(
            f"the staged entries carry {len(key_ids)} key ids ({', '.join(sorted(map(str, key_ids)))}); "
            "pseudonyms made under different keys never match, so this round is not linked"
        )
    con.execute(linking_table_sql(), {"files": files})
    con.execute("DROP TABLE entry_order")
    report = link_probabilistically(con, parameters or LinkageParameters())
    report.key_id = str(key_ids[0])
    con.execute("DROP TABLE temp.entries")
    con.execute("DROP TABLE IF EXISTS entries")  # an earlier run's, in a store linked again
    con.execute("ALTER TABLE entry_details RENAME TO entries")
    facts_sql = sql_text("03_entry_facts.sql").replace("{scope_key}", scope_key_sql(match_scope))
    con.execute(facts_sql, {"reference_date": reference_date})
    run_script(con, sql_text("history_empty.sql"))
    con.execute("CHECKPOINT")
    return report


def linking_table_sql() -> str:
    """Return the SQL creating the linking table (``01_entries.sql`` with its name columns)."""
    return sql_text("01_entries.sql").replace("{name_columns}", NAME_COLUMNS_SQL)


def load_linking_table(con: duckdb.DuckDBPyConnection, staged_files: Sequence[Path]) -> None:
    """Create the linking table (temp ``entries``, numbered as in :func:`link_round`) from the
    staged files again: the store keeps no encodings, so a step of linking is rerun on this."""
    files = [str(path) for path in sorted(staged_files)]
    con.execute(sql_text("00_entry_order.sql"), {"files": files})
    con.execute(linking_table_sql(), {"files": files})
    con.execute("DROP TABLE entry_order")


def _split_totals(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (the provider rows, the totals row without ``agb_code``) of a query's rows, told
    apart by ``is_total``."""
    is_total = pl.col("is_total")
    return frame.filter(~is_total).drop("is_total"), frame.filter(is_total).drop("is_total", "agb_code")


def provider_counts(con: duckdb.DuckDBPyConnection, uzovi: str | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return the unsuppressed insurer table (one row per provider) and its totals row,
    for one UZOVI or for all insured."""
    return _split_totals(query_frame(con, sql_text("provider_counts.sql"), {"uzovi": uzovi}))


def insurer_codes(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Return the UZOVI codes present in the round, sorted."""
    return query_frame(con, "SELECT DISTINCT uzovi FROM entries ORDER BY uzovi")["uzovi"].to_list()


def contact_rows(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Return the contact-list rows of every provider, with a ``provider`` column."""
    return query_frame(con, sql_text("contact_rows.sql"))


def entry_warnings(con: duckdb.DuckDBPyConnection, stale_from: dt.date) -> pl.DataFrame:
    """Return, per accepted row with a warning, ``provider``, ``bestand``, ``rij`` (the spreadsheet
    row), ``client_id`` and ``waarschuwing`` (one row per warning)."""
    return query_frame(con, sql_text("entry_warnings.sql"), {"stale_from": stale_from})


def trend_counts(con: duckdb.DuckDBPyConnection, uzovi: str | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return the trend columns per provider and their totals row for one UZOVI or all insured,
    with ``vorig_dubbel`` (previous round's double waiters)."""
    return _split_totals(query_frame(con, sql_text("trend_counts.sql"), {"uzovi": uzovi}))


def round_totals(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Return the round's totals: entries, persons, double waiters, links, ..."""
    row = query_frame(con, sql_text("round_totals.sql")).to_dicts()[0]
    return {name: int(value or 0) for name, value in row.items()}
