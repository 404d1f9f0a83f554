"""The data-quality report per provider: what came in, what was rejected and why, how much
lacks a usable BSN, stale entries, optional or unknown columns, the date notations used, and
the provider's feedback, accounted apart from its extract rows."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl

from ingest.feedback import FeedbackReport
from ingest.file_report import FileReport
from linkage.frames import query_frame
from linkage.store import sql_text

QUALITY_COLUMNS: tuple[str, ...] = (
    "agb_code", "bestanden", "bestanden_afgewezen", "rijen_ontvangen", "rijen_geaccepteerd", "rijen_afgewezen",
    "afgewezen_per_reden", "aandeel_zonder_bruikbaar_bsn", "bsn_ontbrekend", "bsn_ongeldig", "verouderd",
    "behandeling_zonder_intakedatum", "niet_aangeleverde_optionele_kolommen", "onbekende_kolommen", "datumnotaties",
    "terugmelding_bestanden", "terugmelding_bestanden_afgewezen", "terugmelding_rijen_ontvangen",
    "terugmelding_rijen_verwerkt", "terugmelding_rijen_afgewezen", "terugmelding_afgewezen_per_reden",
)  # fmt: skip
EXTRACT = "aanlevering"
FEEDBACK = "terugmelding"
"""The two kinds of rejected row (``soort``): from a waiting-list extract or from a feedback file."""
REJECTED_ROWS_SCHEMA: dict[str, pl.DataType] = {
    "source_row": pl.Int64(), "client_id": pl.Utf8(), "agb_code": pl.Utf8(), "reden": pl.Utf8(),
    "source_file": pl.Utf8(), "file_sha256": pl.Utf8(), "sender": pl.Utf8(), "soort": pl.Utf8(),
}  # fmt: skip
"""The round's rejected rows: ``sender`` is the organisation they go back to; a file rejected
whole is one row without ``source_row``, with the file's reason code."""


def rejected_rows(
    extract_rows: Sequence[pl.DataFrame],
    feedback_rows: pl.DataFrame | None,
    file_reports: Sequence[FileReport],
    feedback_reports: Sequence[FeedbackReport] = (),
) -> pl.DataFrame:
    """Return the round's rejected rows (:data:`REJECTED_ROWS_SCHEMA`): the rejected rows of the
    accepted extracts and feedback files, and one row per file rejected whole that came from a
    sender folder, so that its sender learns why (a file without a verified sender is reported
    to the operator only: nothing in it can be trusted to say whose it is)."""
    whole = [
        {"reden": r.reason, "source_file": r.file, "file_sha256": r.sha256, "sender": r.sender, "soort": kind}
        for kind, reports in ((EXTRACT, file_reports), (FEEDBACK, feedback_reports))
        for r in reports
        if r.status == "rejected" and r.sender is not None
    ]
    parts = [
        pl.DataFrame(schema=REJECTED_ROWS_SCHEMA),
        *(frame.with_columns(pl.lit(EXTRACT).alias("soort")) for frame in extract_rows),
        *(
            [feedback_rows.filter(pl.col("reden").is_not_null()).with_columns(pl.lit(FEEDBACK).alias("soort"))]
            if feedback_rows is not None
            else []
        ),
        pl.DataFrame(whole, schema=REJECTED_ROWS_SCHEMA),
    ]
    return pl.concat(parts, how="diagonal_relaxed").select(list(REJECTED_ROWS_SCHEMA))


def months_before(day: dt.date, months: int) -> dt.date:
    """Return the date ``months`` calendar months before ``day`` (clamped to the month's end)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def routed_rejections(rejected: pl.DataFrame, locations: Mapping[str, str]) -> pl.DataFrame:
    """Return the rejected rows that go back to a provider, with its code as ``provider``: the
    sender organisation of a file in a sender folder, else the organisation of the row's own
    ``agb_code`` (a file without a verified sender). Rows with neither are not routed."""
    sender = pl.col("sender") if "sender" in rejected.columns else pl.lit(None, dtype=pl.Utf8)
    return rejected.with_columns(
        pl.coalesce(sender, pl.col("agb_code").replace(dict(locations))).alias("provider")
    ).filter(pl.col("provider").is_not_null())


def unrouted_extract_rows(rejected: pl.DataFrame, locations: Mapping[str, str]) -> int:
    """Return how many rejected extract rows go back to no provider (no sender, no valid AGB)."""
    rows = rejected.filter((pl.col("soort") == EXTRACT) & pl.col("source_row").is_not_null())
    return rows.height - routed_rejections(rows, locations).height


def operator_quality(quality: pl.DataFrame) -> pl.DataFrame:
    """Return the data-quality table for the operator's own file: unknown headers as a count
    only, since a provider may write anything (person data too) into a header; the names reach
    only that provider's own encrypted package."""
    return quality.with_columns(
        pl.col("onbekende_kolommen")
        .map_elements(lambda names: len(names.split(", ")) if names else 0, return_dtype=pl.Int64)
        .alias("onbekende_kolommen")
    )


def _joined(counter: Mapping[str, int]) -> str:
    return "; ".join(f"{key}: {value}" for key, value in sorted(counter.items()))


def _feedback_figures(provider: str, own: pl.DataFrame, reports: Sequence[FeedbackReport]) -> dict[str, int | str]:
    """Return one provider's feedback columns from its feedback rows ``own``: files, rows received,
    processed and rejected."""
    reasons = Counter(own["reden"].drop_nulls().to_list())
    return {
        "terugmelding_bestanden": own["source_file"].n_unique(),
        "terugmelding_bestanden_afgewezen": sum(1 for r in reports if r.status == "rejected" and r.sender == provider),
        "terugmelding_rijen_ontvangen": own.height,
        "terugmelding_rijen_verwerkt": own.height - sum(reasons.values()),
        "terugmelding_rijen_afgewezen": sum(reasons.values()),
        "terugmelding_afgewezen_per_reden": _joined(reasons),
    }


@dataclass
class _FileFindings:
    """Per provider: the accepted files holding its rows and their file-level findings."""

    files: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    missing: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    unknown: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    notations: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    @classmethod
    def of(cls, reports: Sequence[FileReport], locations: Mapping[str, str]) -> _FileFindings:
        """Collect the findings of the accepted files; a file with rows of several providers
        counts for each of them."""
        found = cls()
        for report in reports:
            if report.status != "accepted":
                continue
            for provider in {locations.get(code, code) for code in report.agb_codes}:
                found.files[provider].add(report.file)
                found.missing[provider].update(report.missing_columns)
                found.unknown[provider].update(report.unknown_columns)
                found.notations[provider].update(report.date_formats)
        return found


def _split(frame: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Return ``frame`` split by its ``provider`` column, in one pass."""
    if frame.is_empty():
        return {}
    return {str(key[0]): part for key, part in frame.partition_by("provider", as_dict=True).items()}


def _quality_row(
    provider: str,
    own: Mapping[str, Any],
    own_rows: pl.DataFrame | None,
    whole_files: Mapping[str, pl.DataFrame],
    findings: _FileFindings,
) -> dict[str, object]:
    """Return a provider's figures of its extract rows and files (``own``: its row of
    ``quality.sql``; ``own_rows``: its rejected extract rows)."""
    taken = int(own.get("rijen_geaccepteerd", 0))
    reasons = Counter(own_rows["reden"].to_list() if own_rows is not None else [])
    missing_bsn, invalid_bsn = int(own.get("bsn_ontbrekend", 0)), int(own.get("bsn_ongeldig", 0))
    return {
        "agb_code": provider,
        "bestanden": len(findings.files[provider]),
        "bestanden_afgewezen": whole_files[provider].height if provider in whole_files else 0,
        "rijen_ontvangen": taken + sum(reasons.values()),
        "rijen_geaccepteerd": taken,
        "rijen_afgewezen": sum(reasons.values()),
        "afgewezen_per_reden": _joined(reasons),
        "aandeel_zonder_bruikbaar_bsn": round((missing_bsn + invalid_bsn) / taken, 4) if taken else None,
        "bsn_ontbrekend": missing_bsn,
        "bsn_ongeldig": invalid_bsn,
        "verouderd": int(own.get("verouderd", 0)),
        "behandeling_zonder_intakedatum": int(own.get("behandeling_zonder_intakedatum", 0)),
        "niet_aangeleverde_optionele_kolommen": ", ".join(sorted(findings.missing[provider])),
        "onbekende_kolommen": ", ".join(sorted(findings.unknown[provider])),
        "datumnotaties": _joined(findings.notations[provider]),
    }


def quality_table(
    con: duckdb.DuckDBPyConnection,
    reports: Sequence[FileReport],
    rejected: pl.DataFrame,
    locations: Mapping[str, str],
    reference_date: dt.date,
    stale_after_months: int,
    feedback_rows: pl.DataFrame | None = None,
    feedback_reports: Sequence[FeedbackReport] = (),
) -> pl.DataFrame:
    """Return one row per provider with the data-quality figures of its delivery.

    File-level findings (optional columns not delivered, unknown columns, date notations) of a
    file that holds rows of several providers count for each of them. Extract rows and feedback
    rows are counted apart: ``rijen_*`` are extract rows only (received = accepted + rejected),
    ``terugmelding_*`` the feedback file rows (received = processed + rejected), from
    ``feedback_rows`` (every row of the accepted feedback files, with ``reden``). Every table is
    split by provider once.
    """
    findings = _FileFindings.of(reports, locations)
    stale_from = months_before(reference_date, stale_after_months)
    accepted = {
        row["agb_code"]: row for row in query_frame(con, sql_text("quality.sql"), {"stale_from": stale_from}).to_dicts()
    }
    routed = routed_rejections(rejected, locations)
    extract_rows = _split(routed.filter((pl.col("soort") == EXTRACT) & pl.col("source_row").is_not_null()))
    whole_files = _split(routed.filter((pl.col("soort") == EXTRACT) & pl.col("source_row").is_null()))
    every_feedback_row = feedback_rows if feedback_rows is not None else pl.DataFrame(schema=REJECTED_ROWS_SCHEMA)
    all_feedback = routed_rejections(every_feedback_row, locations)
    feedback, no_feedback = _split(all_feedback), all_feedback.clear()
    providers = set(findings.files) | set(accepted) | set(whole_files) | set(feedback)
    providers |= {r.sender for r in feedback_reports if r.status == "rejected" and r.sender is not None}
    rows = [
        _quality_row(provider, accepted.get(provider, {}), extract_rows.get(provider), whole_files, findings)
        | _feedback_figures(provider, feedback.get(provider, no_feedback), feedback_reports)
        for provider in sorted(providers)
    ]
    if not rows:
        return pl.DataFrame(schema=dict.fromkeys(QUALITY_COLUMNS, pl.Utf8))
    return pl.DataFrame(rows, schema_overrides={"aandeel_zonder_bruikbaar_bsn": pl.Float64}).select(QUALITY_COLUMNS)
