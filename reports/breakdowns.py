"""The insurer release's national tables by sector and by zorgvraag (specialism for msz).

Each category (a sector, or a sector's zorgvraag) is a set of count columns of the release:
``<sector>|<zorgvraag>|<measure>``, with ``*`` as the zorgvraag of the sector's own row. Only
their totals rows are published (the tables by sector and zorgvraag, national and per insurer);
their provider cells are never published, but they are cells of the release all the same: the
relations an attacker knows tie them to the published provider table (a provider's categories add
up to its ``wachtenden``; a zorgvraag delivered by one provider only is that provider's count),
so protection treats them as suppressed cells, and a small one among them needs a witness like
any other small count.

A zorgvraag is a free text code in the extract, so a careless or hostile provider could put
anything there. A category is shown by its own code only when the code looks like a code
(:data:`CODE_PATTERN`), at least ``min_providers`` providers delivered it, and it is among the
sector's ``per_sector`` largest; the rest count as ``overig``. So the number of columns is bounded
whatever the files hold, and no one provider's text reaches an insurer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from ingest.columns import SECTORS

MEASURES: tuple[str, ...] = ("wachtenden", "dubbel_inschrijvingen", "boven_norm")
"""Entry counts per category; each adds up over providers, over categories and over insurers."""
SECTOR_ROW = "*"
"""The zorgvraag of a sector's own row (all its zorgvraag together)."""
OTHER = "overig"
"""Every zorgvraag of a sector that is not shown by its own code (also a missing one)."""
ALL = "alle"
"""How the published table names a sector's own row."""
CODE_PATTERN = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.-]{0,23}")
"""What a zorgvraag must look like to be shown by its code."""
SEPARATOR = "|"

MSZ_SPECIALISM_NAMES: dict[str, str] = {
    "0301": "oogheelkunde", "0302": "keel-, neus- en oorheelkunde", "0303": "chirurgie",
    "0305": "orthopedie", "0306": "urologie", "0307": "gynaecologie", "0310": "dermatologie",
    "0313": "interne geneeskunde", "0316": "kindergeneeskunde", "0318": "maag-, darm- en leverziekten",
    "0320": "cardiologie", "0322": "longziekten", "0324": "reumatologie", "0330": "neurologie",
}  # fmt: skip
"""Vektis specialism codes (COD016) with their Dutch names, for readers of the msz rows."""


def column_name(sector: str, zorgvraag: str, measure: str) -> str:
    """Return the release column of one category's measure."""
    return SEPARATOR.join((sector, zorgvraag, measure))


def split_column(column: str) -> tuple[str, str, str] | None:
    """Return (sector, zorgvraag, measure) of a category column, or None for any other column."""
    parts = column.split(SEPARATOR)
    if len(parts) != 3 or parts[0] not in SECTORS or parts[2] not in MEASURES:
        return None
    return parts[0], parts[1], parts[2]


def is_category_column(column: str) -> bool:
    """Return whether ``column`` is a category column (published in its totals row only)."""
    return split_column(column) is not None


def choose_categories(counts: pl.DataFrame, per_sector: int, min_providers: int) -> dict[tuple[str, str], str]:
    """Return {(sector, zorgvraag as delivered): shown zorgvraag} for every pair in ``counts``
    (columns ``agb_code``, ``sector``, ``zorgvraag``, ``wachtenden``): a code is shown as itself
    when it looks like a code, ``min_providers`` providers or more delivered it and it is among
    its sector's ``per_sector`` largest by entries (ties: the lower code); else as ``overig``."""
    pairs = counts.group_by("sector", "zorgvraag").agg(
        pl.col("wachtenden").sum().alias("entries"), pl.col("agb_code").n_unique().alias("providers")
    )
    eligible = pairs.filter(
        pl.col("zorgvraag").str.contains(f"^(?:{CODE_PATTERN.pattern})$")
        & ~pl.col("zorgvraag").is_in([OTHER, ALL])
        & (pl.col("providers") >= min_providers)
    )
    shown: dict[tuple[str, str], str] = {}
    for (sector,), group in eligible.sort("entries", "zorgvraag", descending=[True, False]).group_by(
        "sector", maintain_order=True
    ):
        for code in group["zorgvraag"].head(per_sector).to_list():
            shown[(str(sector), code)] = code
    return {
        (sector, code): shown.get((sector, code), OTHER)
        for sector, code in pairs.select("sector", "zorgvraag").iter_rows()
    }


@dataclass(frozen=True)
class CategoryCounts:
    """The category columns of a release: true counts on the release's grid."""

    counts: dict[str, np.ndarray]
    """column -> int array (scopes, providers + 1); the last column is the totals row."""

    @property
    def columns(self) -> tuple[str, ...]:
        """Return the category columns in a fixed order: sector by sector, its own row first."""
        return tuple(self.counts)


def category_counts(
    counts: pl.DataFrame,
    scopes: Sequence[str],
    providers: Sequence[str],
    shown: Mapping[tuple[str, str], str],
    national: str,
) -> CategoryCounts:
    """Return the category columns of the release with ``scopes`` (the national one first) and
    ``providers``, from ``counts`` (one row per ``uzovi`` slice, ``agb_code``, ``sector`` and
    ``zorgvraag``, with the :data:`MEASURES`) and the categories ``shown``."""
    mapped = counts.with_columns(
        pl.struct("sector", "zorgvraag")
        .map_elements(lambda row: shown[(row["sector"], row["zorgvraag"])], return_dtype=pl.Utf8)
        .alias("zorgvraag")
    )
    by_sector = mapped.with_columns(pl.lit(SECTOR_ROW).alias("zorgvraag"))
    long = (
        pl.concat([by_sector, mapped])
        .group_by("uzovi", "agb_code", "sector", "zorgvraag")
        .agg(pl.col(m).sum() for m in MEASURES)
    )
    categories = sorted(
        {(sector, code) for sector, code in long.select("sector", "zorgvraag").unique().iter_rows()},
        key=lambda pair: (SECTORS.index(pair[0]), pair[1] != SECTOR_ROW, pair[1] == OTHER, pair[1]),
    )
    scope_index = {scope: i for i, scope in enumerate(scopes)}
    provider_index = {p: i for i, p in enumerate(providers)}
    width = len(providers) + 1
    result: dict[str, np.ndarray] = {}
    category_of = {pair: i for i, pair in enumerate(categories)}
    arrays = np.zeros((len(categories), len(MEASURES), len(scopes), width), dtype=np.int64)
    cat = np.array([category_of[(s, z)] for s, z in long.select("sector", "zorgvraag").iter_rows()], dtype=np.int64)
    scope = np.array([scope_index[u] for u in long["uzovi"].to_list()], dtype=np.int64)
    provider = np.array([provider_index[p] for p in long["agb_code"].to_list()], dtype=np.int64)
    for m, measure in enumerate(MEASURES):
        values = long[measure].to_numpy().astype(np.int64)
        np.add.at(arrays[:, m], (cat, scope, provider), values)
    arrays[:, :, :, -1] = arrays[:, :, :, :-1].sum(axis=3)  # the totals row: every provider
    arrays[:, :, scope_index[national]] = arrays.sum(axis=2)  # the national table: every slice
    arrays[:, :, [i for s, i in scope_index.items() if s != national]] = 0  # published nationally only
    for c, (sector, code) in enumerate(categories):
        for m, measure in enumerate(MEASURES):
            result[column_name(sector, code, measure)] = arrays[c, m]
    return CategoryCounts(result)


def category_relations(columns: Sequence[str]) -> list[tuple[dict[str, int], str]]:
    """Return the relations within every cell that tie the category ``columns`` to each other
    and to the provider table: per measure, the sectors add up to the measure's own column and
    a sector's zorgvraag add up to the sector; per category, double and over-the-norm entries
    are at most its entries. Same form as :data:`reports.release.CELL_RELATIONS`."""
    parts = [p for p in (split_column(c) for c in columns) if p is not None]
    if not parts:
        return []
    relations: list[tuple[dict[str, int], str]] = []
    sectors = sorted({sector for sector, zorgvraag, _ in parts if zorgvraag == SECTOR_ROW})
    for measure in MEASURES:
        relations.append(({**{column_name(s, SECTOR_ROW, measure): 1 for s in sectors}, measure: -1}, "eq"))
        for sector in sectors:
            codes = sorted({z for s, z, m in parts if s == sector and m == measure and z != SECTOR_ROW})
            if codes:
                terms = {column_name(sector, z, measure): 1 for z in codes}
                relations.append(({**terms, column_name(sector, SECTOR_ROW, measure): -1}, "eq"))
    for sector, zorgvraag in sorted({(s, z) for s, z, _ in parts}):
        entries = column_name(sector, zorgvraag, "wachtenden")
        for measure in MEASURES[1:]:
            relations.append(({column_name(sector, zorgvraag, measure): 1, entries: -1}, "le"))
    return relations


def category_description(sector: str, zorgvraag: str) -> str:
    """Return what a category's zorgvraag means to readers: a specialism's Dutch name, or empty."""
    if zorgvraag == ALL:
        return "alle zorgvragen samen"
    if zorgvraag == OTHER:
        return "andere en ontbrekende zorgvragen"
    return (MSZ_SPECIALISM_NAMES.get(zorgvraag) or "") if sector == "msz" else ""


def category_table(totals: Mapping[str, int | None]) -> pl.DataFrame:
    """Return the published table by sector and zorgvraag from the national totals cells of the
    category columns (``{column: count or None}``, None suppressed): one row per category with
    ``sector``, ``zorgvraag`` (``alle`` for the sector's own row), ``omschrijving`` and the
    :data:`MEASURES`."""
    rows: dict[tuple[str, str], dict[str, int | None]] = {}
    for column, value in totals.items():
        parts = split_column(column)
        if parts is not None:
            code = ALL if parts[1] == SECTOR_ROW else parts[1]
            rows.setdefault((parts[0], code), {})[parts[2]] = value
    return pl.DataFrame(
        [
            {"sector": sector, "zorgvraag": code, "omschrijving": category_description(sector, code), **values}
            for (sector, code), values in rows.items()
        ],
        schema={"sector": pl.Utf8, "zorgvraag": pl.Utf8, "omschrijving": pl.Utf8, **dict.fromkeys(MEASURES, pl.Int64)},
    )
