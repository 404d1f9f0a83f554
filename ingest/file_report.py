"""What happened to each delivered file: the report that reaches the operator and the
provider (counts and codes only), and which of a provider's deliveries stays accepted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class FileReport:
    """What happened to one delivered file. Holds counts and codes, never row content."""

    file: str
    sha256: str
    size: int
    status: str  # accepted | rejected
    reason: str | None = None
    detail: str | None = None
    rows_received: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    warnings: dict[str, int] = field(default_factory=dict)
    unknown_columns: list[str] = field(default_factory=list)
    encoding: str = ""
    delimiter: str = ""
    agb_codes: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    date_formats: dict[str, int] = field(default_factory=dict)
    sender: str | None = None
    """The organisation whose sender folder held the file; None: a file without a verified sender."""

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-ready data for the operator: unknown headers only as a
        count, since a provider may write anything into a header (they reach only its own
        encrypted package)."""
        document = asdict(self)
        document["unknown_columns"] = len(self.unknown_columns)
        return document


def supersede_earlier_deliveries(
    reports: list[FileReport], modified: Mapping[str, float], locations: Mapping[str, str]
) -> list[FileReport]:
    """Return ``reports`` where, per provider, only the newest delivered file stays accepted.

    ``modified`` maps file names to modification times (ties: the later name wins). A file
    whose rows belong to several providers is never superseded nor supersedes.
    """
    newest: dict[str, FileReport] = {}
    single_provider: dict[str, str] = {}
    for report in reports:
        providers = {locations.get(code, code) for code in report.agb_codes}
        if report.status != "accepted" or len(providers) != 1:
            continue
        only = providers.pop()
        single_provider[report.file] = only
        current = newest.get(only)
        if current is None or (modified[report.file], report.file) > (modified[current.file], current.file):
            newest[only] = report
    result = []
    for report in reports:
        provider = single_provider.get(report.file)
        if provider is not None and newest[provider] is not report:
            report = replace(
                report, status="rejected", reason="superseded", detail=f"replaced by {newest[provider].file}"
            )
        result.append(report)
    return result


def rejected_file(
    name: str, sha256: str, size: int, reason: str, detail: str | None, sender: str | None = None
) -> FileReport:
    """Return the report of a file rejected whole."""
    return FileReport(file=name, sha256=sha256, size=size, status="rejected", reason=reason, detail=detail,
                      sender=sender)  # fmt: skip
