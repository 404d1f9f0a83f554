"""The round's core steps without Prefect, in one process: for benchmarks and evaluation.

The Prefect flow in ``flows.cleanup_round`` wires the same functions into tasks.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

from flows.settings import Settings
from hashing.keys import PseudonymKey
from ingest.feedback import OUTCOMES, load_feedback
from ingest.inventory import inventory
from ingest.stage import FileReport, stage_extract, staged_paths
from linkage.history import compare_with_history
from linkage.parameters import LinkageParameters, LinkageReport
from linkage.store import link_round, open_store


@dataclass
class CoreRound:
    """What the core steps produced: file reports, the store's path, the linkage report."""

    reports: list[FileReport]
    store_path: Path
    linkage: LinkageReport
    staged_files: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def stage_and_link(
    input_dir: Path, work_dir: Path, settings: Settings, key: PseudonymKey, reference_date: dt.date
) -> CoreRound:
    """Stage every file of ``input_dir`` and link the round into ``work_dir/round.duckdb``."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    files = [f for f in inventory(input_dir) if f.duplicate_of is None]
    staging = work_dir / "staging"
    reports = [
        stage_extract(
            f.path, f.sha256, aliases=settings.merged_aliases(), reference_date=reference_date, key=key,
            staging_dir=staging, csv_encoding=settings.csv_encoding,
        )
        for f in files
    ]  # fmt: skip
    seconds["read + validate + pseudonymise"] = round(time.perf_counter() - started, 3)
    mark = time.perf_counter()
    store_path = work_dir / "round.duckdb"
    store_path.unlink(missing_ok=True)
    staged_files = [staged_paths(staging, r.sha256)[0] for r in reports if r.status == "accepted"]
    with open_store(store_path, settings.store.resources()) as con:
        linkage = link_round(
            con,
            staged_files,
            match_scope=settings.match_scope,
            norm_days=settings.norm_days(),
            locations=settings.locations,
            reference_date=reference_date,
            parameters=LinkageParameters(**settings.linkage.model_dump()),
        )
        seconds["link (DuckDB)"] = round(time.perf_counter() - mark, 3)
        mark = time.perf_counter()
        compare_with_history(
            con, work_dir / "history.duckdb", round_id="core", reference_date=reference_date, key=key,
            outcomes=OUTCOMES, feedback=load_feedback([]),
        )  # fmt: skip
    seconds["compare with previous round + record history"] = round(time.perf_counter() - mark, 3)
    return CoreRound(reports=reports, store_path=store_path, linkage=linkage, staged_files=staged_files,
                     seconds=seconds)  # fmt: skip
