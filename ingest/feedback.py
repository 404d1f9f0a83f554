"""Provider feedback (terugmelding): per client on the previous round's contact list, what came
of the contact. Read and validated like an extract, every row accounted for.

Feedback files sit in the round's input folder under ``<organisatie>/terugmelding/`` (bound to
that sender, like its extracts) or ``terugmelding/`` (no verified sender). Each row names the
provider's own ``agb_code`` and ``client_id`` and an ``uitkomst``; the client is pseudonymised
into its entry key at once, so that only keys and outcomes reach the store. Rows that fail
here keep their ``client_id`` to go back to their provider in ``afgewezen.csv``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from hashing.files import parquet_bytes, write_atomic
from hashing.keys import PseudonymKey
from hashing.pseudonyms import entry_keys
from ingest.inventory import FEEDBACK_DIR, InputFile, is_feedback, visible_files
from ingest.read import ROW_NUMBER, ExtractRejected, header_key, read_table

FEEDBACK_COLUMNS: tuple[str, ...] = ("agb_code", "client_id", "uitkomst")
OUTCOMES: tuple[str, ...] = ("verwijderd", "in_behandeling", "blijft_wachten", "onbereikbaar")
"""In order of precedence: a person with two outcomes at one provider counts under the first."""
HEADER_ALIASES: dict[str, str] = {
    "agb": "agb_code",
    "agbcode": "agb_code",
    "clientnummer": "client_id",
    "cliëntnummer": "client_id",
    "client": "client_id",
    "resultaat": "uitkomst",
    "status": "uitkomst",
}
FEEDBACK_REASONS: dict[str, str] = {
    "agb_code_missing": "agb_code is empty",
    "agb_code_invalid": "agb_code is not 8 digits",
    "agb_code_not_sender": "agb_code is not a code of the organisation that sent the file",
    "client_id_missing": "client_id is empty",
    "client_id_invalid": "client_id is longer than 64 characters",
    "uitkomst_missing": "uitkomst is empty",
    "uitkomst_invalid": "uitkomst is not one of " + ", ".join(OUTCOMES),
    "feedback_duplicate": "the same client was already reported in this round's feedback",
    "feedback_not_on_contact_list": "the client was not on the provider's contact list of the previous round",
}
"""Reason codes of rejected feedback rows, in the order they are checked."""
FEEDBACK_REASONS_NL: dict[str, str] = {
    "agb_code_missing": "agb_code is leeg",
    "agb_code_invalid": "agb_code bestaat niet uit 8 cijfers",
    "agb_code_not_sender": "agb_code hoort niet bij de organisatie die het bestand aanleverde",
    "client_id_missing": "client_id is leeg",
    "client_id_invalid": "client_id is langer dan 64 tekens",
    "uitkomst_missing": "uitkomst is leeg",
    "uitkomst_invalid": "uitkomst is niet " + ", ".join(OUTCOMES[:-1]) + " of " + OUTCOMES[-1],
    "feedback_duplicate": "deze cliënt staat al eerder in de terugmelding van deze ronde",
    "feedback_not_on_contact_list": "deze cliënt stond niet op uw contactlijst van de vorige ronde",
}
STAGED_SCHEMA: dict[str, Any] = {
    "source_file": pl.Utf8,
    "source_row": pl.Int64,
    "agb_code": pl.Utf8,
    "client_id": pl.Utf8,
    "entry_key": pl.Utf8,
    "uitkomst": pl.Utf8,
    "sender": pl.Utf8,
}


@dataclass(frozen=True)
class FeedbackReport:
    """What happened to one feedback file (counts and codes only). Rows accepted here may still
    be rejected when matched against the previous round (see :func:`linkage.history`)."""

    file: str
    sha256: str
    status: str  # accepted | rejected
    reason: str | None = None
    detail: str | None = None
    rows_received: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    sender: str | None = None
    """The organisation whose sender folder held the file; None: a file without a verified sender."""

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-ready data."""
        return asdict(self)


def feedback_files(input_dir: Path) -> list[InputFile]:
    """Return the feedback files of a round's input, sorted: those of ``terugmelding/`` (no
    verified sender) and of ``<organisatie>/terugmelding/`` (``folder``: that organisation).
    Their hashes are left empty; the stage computes them."""
    found = []
    for path in visible_files(input_dir):
        relative = path.relative_to(input_dir)
        if is_feedback(relative):
            folder = relative.parts[0] if relative.parts[0] != FEEDBACK_DIR else None
            found.append(InputFile(path, "", path.stat().st_size, name=relative.as_posix(), folder=folder))
    return found


def read_feedback(path: Path, csv_encoding: str = "auto") -> pl.DataFrame:
    """Return the feedback rows of ``path`` as text columns ``source_row``, ``agb_code``,
    ``client_id``, ``uitkomst``. Raises :class:`ExtractRejected` when the file is unusable; the
    message never quotes file content."""
    try:
        table = read_table(path, csv_encoding)
    except ExtractRejected:
        raise
    except Exception:  # parser messages can quote rows
        raise ExtractRejected("unreadable", f"not a readable {path.suffix.lower()} file") from None
    if table.malformed_rows:
        shown = ", ".join(str(n) for n in table.malformed_rows[:10])
        raise ExtractRejected("unreadable", f"rows {shown} have more or fewer fields than the header")
    frame = table.frame
    mapping: dict[str, str] = {}
    for header in frame.columns:
        key = header_key(header)
        target = key if key in FEEDBACK_COLUMNS else HEADER_ALIASES.get(key)
        if target is None:
            continue
        if target in mapping.values():
            raise ExtractRejected("ambiguous_columns", target)
        mapping[header] = target
    missing = [c for c in FEEDBACK_COLUMNS if c not in mapping.values()]
    if missing:
        raise ExtractRejected("missing_columns", ", ".join(missing))
    frame = frame.select([pl.col(source).cast(pl.Utf8).alias(target) for source, target in mapping.items()])
    frame = frame.with_columns(pl.col(c).str.strip_chars().replace("", None) for c in FEEDBACK_COLUMNS)
    frame = frame.with_row_index(ROW_NUMBER, offset=1).with_columns(pl.col(ROW_NUMBER).cast(pl.Int64))
    frame = frame.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in FEEDBACK_COLUMNS))
    if frame.height == 0:
        raise ExtractRejected("empty", "no data rows")
    return frame.select(ROW_NUMBER, *FEEDBACK_COLUMNS)


def validate_feedback(frame: pl.DataFrame, sender_codes: frozenset[str] | None = None) -> pl.DataFrame:
    """Return ``frame`` with the outcome normalised (lower case, ``_`` for spaces) and a
    ``reden`` column: the first reason code that rejects the row, or null. With
    ``sender_codes`` (a sender folder's), a row for another organisation's code is rejected."""
    outcome = pl.col("uitkomst").str.to_lowercase().str.replace_all(r"[\s-]+", "_")
    agb = pl.col("agb_code").str.replace_all(r"\s", "")
    not_sender = pl.lit(False) if sender_codes is None else ~agb.is_in(list(sender_codes))
    checks = [
        (pl.col("agb_code").is_null(), "agb_code_missing"),
        (~agb.str.contains(r"^[0-9]{8}$"), "agb_code_invalid"),
        (not_sender, "agb_code_not_sender"),
        (pl.col("client_id").is_null(), "client_id_missing"),
        (pl.col("client_id").str.len_chars() > 64, "client_id_invalid"),
        (pl.col("uitkomst").is_null(), "uitkomst_missing"),
        (~outcome.is_in(OUTCOMES), "uitkomst_invalid"),
    ]
    reason: pl.Expr = pl.lit(None, dtype=pl.Utf8)
    for condition, code in reversed(checks):
        reason = pl.when(condition).then(pl.lit(code)).otherwise(reason)
    return frame.with_columns(agb.alias("agb_code"), outcome.alias("uitkomst"), reason.alias("reden"))


def staged_feedback_path(staging_dir: Path, sha256: str) -> Path:
    """Return where the staged rows of one feedback file go."""
    return staging_dir / f"feedback_{sha256}.parquet"


def stage_feedback(
    path: Path,
    sha256: str,
    *,
    key: PseudonymKey,
    staging_dir: Path,
    csv_encoding: str = "auto",
    file_name: str | None = None,
    sender: str | None = None,
    sender_codes: frozenset[str] | None = None,
) -> FeedbackReport:
    """Read and validate one feedback file and write its rows, each with its entry key, its
    ``reden`` (null when accepted so far) and the ``sender`` its rejections go back to, to the
    staging folder. Returns its report, named ``file_name`` (default: the file's name)."""
    name = file_name or path.name
    try:
        frame = validate_feedback(read_feedback(path, csv_encoding), sender_codes)
    except ExtractRejected as error:
        return FeedbackReport(
            file=name, sha256=sha256, status="rejected", reason=error.reason, detail=error.detail, sender=sender
        )
    keyed = frame.with_columns(
        pl.when(pl.col("reden").is_null())
        .then(entry_keys(frame["agb_code"], frame["client_id"], key))
        .otherwise(None)
        .alias("entry_key"),
        pl.lit(name).alias("source_file"),
        pl.lit(sender, dtype=pl.Utf8).alias("sender"),
    )
    staged = keyed.select(*STAGED_SCHEMA, "reden")
    write_atomic(staged_feedback_path(staging_dir, sha256), parquet_bytes(staged))
    return feedback_report(name, sha256, staged, sender)


def feedback_report(file: str, sha256: str, rows: pl.DataFrame, sender: str | None = None) -> FeedbackReport:
    """Return the report of one feedback file from its rows and their ``reden``."""
    reasons = rows.filter(pl.col("reden").is_not_null()).group_by("reden").len().sort("reden")
    rejected = int(reasons["len"].sum()) if reasons.height else 0
    return FeedbackReport(
        file=file,
        sha256=sha256,
        status="accepted",
        rows_received=rows.height,
        rows_accepted=rows.height - rejected,
        rows_rejected=rejected,
        rejected_by_reason=dict(zip(reasons["reden"].to_list(), reasons["len"].to_list(), strict=True)),
        sender=sender,
    )


def load_feedback(staged_files: Sequence[Path]) -> pl.DataFrame:
    """Return the staged feedback rows of the round, in file and row order."""
    if not staged_files:
        return pl.DataFrame(schema={**STAGED_SCHEMA, "reden": pl.Utf8, "file_sha256": pl.Utf8})
    frames = [
        pl.read_parquet(path).with_columns(pl.lit(path.stem.removeprefix("feedback_")).alias("file_sha256"))
        for path in staged_files
    ]
    return pl.concat(frames, how="vertical_relaxed").sort("source_file", "source_row")
