"""The operator's run summary (``run_summary.json``): totals of files, rows, persons, links and
deliveries. Its Dutch page is :mod:`reports.operator_page`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from ingest.file_report import FileReport
from reports.package_delivery import DeliveryResult


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FileCounts(_Part):
    """Files of the round: received = accepted + rejected, with every file's report."""

    received: int
    accepted: int
    rejected: int
    rejected_by_reason: dict[str, int]
    details: list[dict[str, Any]]


class RowCounts(_Part):
    """Rows of the accepted files: received = accepted + rejected."""

    received: int
    accepted: int
    rejected: int
    rejected_by_reason: dict[str, int]
    warnings: dict[str, int]
    rejected_unrouted: int
    duplicate_rows: int


class LinkCounts(_Part):
    """Entries linked by BSN and probabilistically, entries without a BSN left unlinked, and the
    pairs in the review band."""

    bsn: int
    probabilistic: int
    unlinked_without_bsn: int
    review_pairs: int


class Undelivered(_Part):
    """A provider that got no package, and why."""

    agb_code: str
    reason: str


class SenderCounts(_Part):
    """Accepted files from a sender folder (verified) and without one."""

    verified_files: int
    unverified_files: int


class RunSummary(_Part):
    """The run summary, typed: what the round returns to the CLI and writes as
    ``run_summary.json`` (:meth:`document`). Totals only, never a data value."""

    round: str
    reference_date: str
    key_version: str
    files: FileCounts
    rows: RowCounts
    entries: int
    persons: int
    double_waiters: int
    internal_duplicates: int
    providers: int
    insurers: int
    links: LinkCounts
    linkage: dict[str, Any]
    delivered: dict[str, list[str]]
    recipients_pinned: bool
    undelivered: list[Undelivered]
    senders: SenderCounts
    registry: dict[str, Any] | None
    settings: dict[str, Any]
    duration_s: float
    stage_seconds: dict[str, float]
    history: dict[str, Any] = {}
    disclosure: dict[str, Any] = {}
    stage_bytes_written: dict[str, int] = {}

    def document(self) -> dict[str, Any]:
        """Return ``run_summary.json`` as a JSON-ready dict (the contract of docs/outputs.md)."""
        return self.model_dump(mode="json")


def _file_counts(file_reports: Sequence[FileReport]) -> dict[str, Any]:
    """Return the summary's ``files``: received, accepted and rejected (by reason) with each
    file's report."""
    accepted = sum(1 for r in file_reports if r.status == "accepted")
    files_by_reason = Counter(r.reason for r in file_reports if r.status == "rejected")
    return {
        "received": len(file_reports),
        "accepted": accepted,
        "rejected": len(file_reports) - accepted,
        "rejected_by_reason": dict(sorted((str(k), v) for k, v in files_by_reason.items())),
        "details": [r.to_dict() for r in sorted(file_reports, key=lambda r: r.file)],
    }


def _row_counts(accepted_files: Sequence[FileReport], unrouted: int, duplicates: int) -> dict[str, Any]:
    """Return the rows of the accepted files: received, accepted, rejected (by reason), the
    warnings, the rejected rows that reach no provider (``unrouted``) and the duplicate rows."""
    by_reason: Counter[str] = Counter()
    warnings: Counter[str] = Counter()
    for report in accepted_files:
        by_reason.update(report.rejected_by_reason)
        warnings.update(report.warnings)
    return {
        "received": sum(r.rows_received for r in accepted_files),
        "accepted": sum(r.rows_accepted for r in accepted_files),
        "rejected": sum(r.rows_rejected for r in accepted_files),
        "rejected_by_reason": dict(sorted(by_reason.items())),
        "warnings": dict(sorted(warnings.items())),
        "rejected_unrouted": unrouted,
        "duplicate_rows": duplicates,
    }


def build_summary(
    *,
    round_id: str,
    reference_date: str,
    key_id: str,
    file_reports: Sequence[FileReport],
    totals: Mapping[str, int],
    linkage: Mapping[str, Any],
    delivery: DeliveryResult,
    unrouted_rejections: int,
    settings_used: Mapping[str, Any],
    duration_s: float,
    stage_seconds: Mapping[str, float] | None = None,
    provider_names: Mapping[str, str] | None = None,
    history: Mapping[str, Any] | None = None,
    disclosure: Mapping[str, Any] | None = None,
    stage_bytes_written: Mapping[str, int] | None = None,
) -> RunSummary:
    """Return the run summary: the spec's keys plus per-file details.

    ``links.bsn`` counts entries with a valid BSN, ``links.probabilistic`` entries without one
    that were linked to another entry, ``links.review_pairs`` pairs scored in the review band
    (reported, not linked); ``linkage`` holds the probabilistic stage's counts and estimates.
    ``senders`` counts accepted files in a sender folder (rows bound to that organisation) and
    accepted files without a verified sender; ``registry`` the registered codes (None without a registry).
    """
    accepted_files = [r for r in file_reports if r.status == "accepted"]
    return RunSummary.model_validate({
        "round": round_id,
        "reference_date": reference_date,
        "key_version": key_id,
        "files": _file_counts(file_reports),
        "rows": _row_counts(accepted_files, unrouted_rejections, totals.get("duplicate_rows", 0)),
        "entries": totals["entries"],
        "persons": totals["persons"],
        "double_waiters": totals["double_waiters"],
        "internal_duplicates": totals["internal_duplicates"],
        "providers": totals["providers"],
        "insurers": totals["insurers"],
        "links": {
            "bsn": totals["links_bsn"], "probabilistic": totals["links_probabilistic"],
            "unlinked_without_bsn": totals["unlinked_without_bsn"], "review_pairs": linkage["review_pairs"],
        },
        "linkage": dict(linkage),
        "delivered": {agb: files for agb, files in sorted(delivery.delivered.items())},
        "recipients_pinned": delivery.recipients_pinned,
        "undelivered": [{"agb_code": agb, "reason": reason} for agb, reason in sorted(delivery.undelivered.items())],
        "senders": {
            "verified_files": sum(1 for r in accepted_files if r.sender is not None),
            "unverified_files": sum(1 for r in accepted_files if r.sender is None),
        },
        "registry": None if provider_names is None else {"names": dict(sorted(provider_names.items()))},
        "settings": dict(settings_used),
        "duration_s": round(duration_s, 3),
        "stage_seconds": dict(stage_seconds or {}),
        "history": dict(history or {}),
        "disclosure": dict(disclosure or {}),
        "stage_bytes_written": dict(stage_bytes_written or {}),
    })
