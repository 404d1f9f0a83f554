"""The operator's run summary: totals of files, rows, persons, links and deliveries."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from ingest.stage import FileReport
from reports.providers import DeliveryResult


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
) -> dict[str, Any]:
    """Return ``run_summary.json`` as a dict: the spec's keys plus per-file details.

    ``links.bsn`` counts entries with a valid BSN, ``links.probabilistic`` entries without one
    that were linked to another entry, ``links.review_pairs`` pairs scored in the review band
    (reported, not linked); ``linkage`` holds the probabilistic stage's counts and estimates.
    ``senders`` counts accepted files in a sender folder (rows bound to that organisation) and
    accepted files without a verified sender; ``registry`` the registered codes (None without a registry).
    """
    accepted_files = [r for r in file_reports if r.status == "accepted"]
    by_reason: Counter[str] = Counter()
    warnings: Counter[str] = Counter()
    for report in accepted_files:
        by_reason.update(report.rejected_by_reason)
        warnings.update(report.warnings)
    files_by_reason = Counter(r.reason for r in file_reports if r.status == "rejected")
    rows_received = sum(r.rows_received for r in accepted_files)
    rows_accepted = sum(r.rows_accepted for r in accepted_files)
    rows_rejected = sum(r.rows_rejected for r in accepted_files)
    return {
        "round": round_id,
        "reference_date": reference_date,
        "key_version": key_id,
        "files": {
            "received": len(file_reports),
            "accepted": len(accepted_files),
            "rejected": len(file_reports) - len(accepted_files),
            "rejected_by_reason": dict(sorted((str(k), v) for k, v in files_by_reason.items())),
            "details": [r.to_dict() for r in sorted(file_reports, key=lambda r: r.file)],
        },
        "rows": {
            "received": rows_received,
            "accepted": rows_accepted,
            "rejected": rows_rejected,
            "rejected_by_reason": dict(sorted(by_reason.items())),
            "warnings": dict(sorted(warnings.items())),
            "rejected_unrouted": unrouted_rejections,
            "duplicate_rows": totals.get("duplicate_rows", 0),
        },
        "entries": totals["entries"],
        "persons": totals["persons"],
        "double_waiters": totals["double_waiters"],
        "internal_duplicates": totals["internal_duplicates"],
        "providers": totals["providers"],
        "insurers": totals["insurers"],
        "links": {
            "bsn": totals["links_bsn"],
            "probabilistic": totals["links_probabilistic"],
            "unlinked_without_bsn": totals["unlinked_without_bsn"],
            "review_pairs": linkage["review_pairs"],
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
    }


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], row_classes: Sequence[str] = ()) -> str:
    if not rows:
        return "<p class='empty'>none</p>"
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    classes = list(row_classes) or [""] * len(rows)
    body = "".join(
        f"<tr class='{css}'>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
        for row, css in zip(rows, classes, strict=True)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


SECTION_NOTES = {
    "Needs attention": "Chase these before the figures go out: a rejected file's rows are not in any count, and an "
    "undelivered provider has not received its contact list.",
    "Totals": "Rows received = accepted + rejected, for every accepted file; rows of a file rejected whole are not "
    "counted as rows.",
    "Files": "Every file found in the input folder, with what happened to it.",
    "Rejected rows by reason": "Rows left out; each provider gets its own in afgewezen.csv with a Dutch explanation, "
    "and datakwaliteit.csv has the same per provider.",
    "Warnings (rows kept)": "Rows that were kept, but linked without a usable BSN, postcode or geslacht.",
    "Delivered": "Encrypted to each provider's own pinned key.",
    "Undelivered": "Providers whose files were not written, and why (no key, key not pinned, changed key).",
    "Compared with the previous round": "The round this one is compared with (trend columns in the insurer "
    "tables); none for a first round, or when the previous round was made under another key.",
    "Feedback files": "Providers' feedback (terugmelding/) on the previous round's contact lists: rows received = "
    "accepted + rejected per file; rejected rows go back to the provider in afgewezen.csv.",
    "Seconds per stage": "Wall-clock time of each stage of this run.",
    "Linkage: candidate pairs per blocking pass": "How many entry pairs each blocking pass proposed for comparison.",
    "Linkage: seconds per step": "Time of each step of the probabilistic linkage.",
    "Linkage: skipped blocking keys": "Keys shared by more entries than max_block_entries (placeholder names or "
    "dates, a care home's postcode) propose no pairs, so that no value that identifies no one links entries.",
}


def summary_html(summary: Mapping[str, Any]) -> bytes:
    """Return the operator's view of a round as one self-contained HTML page (no scripts, no
    network): what needs attention, what came in, what was rejected, what was delivered to whom,
    timings."""
    files = summary["files"]["details"]
    rejected_files = [f for f in files if f["status"] == "rejected"]
    attention = [("file " + f["file"], f"rejected: {f['reason']}" + (f" ({f['detail']})" if f["detail"] else ""))
                 for f in rejected_files]  # fmt: skip
    attention += [(f"provider {u['agb_code']}", f"undelivered: {u['reason']}") for u in summary["undelivered"]]
    blocking = summary.get("linkage", {})
    if blocking.get("frequent_value_entries") or any(blocking.get("skipped_blocks", {}).values()):
        attention.append(
            (
                "linkage",
                f"{blocking.get('frequent_value_entries', 0)} entries share surname, birth date "
                "and postcode with too many others (placeholders) and were not linked probabilistically; "
                f"{sum(blocking.get('skipped_blocks', {}).values())} oversized blocking keys were skipped",
            )
        )
    history = summary.get("history", {})
    feedback_files = history.get("feedback_files", [])
    attention += [(f"feedback file {f['file']}", f"rejected: {f['reason']}") for f in feedback_files
                  if f["status"] == "rejected"]  # fmt: skip
    unverified = summary.get("senders", {}).get("unverified_files", 0)
    if unverified:
        attention.append(
            (
                f"{unverified} file(s)",
                "no verified sender: delivered outside a sender folder, so their "
                "rows were not checked against the organisation that sent them",
            )
        )
    disclosure = summary.get("disclosure") or {}
    exposed = disclosure.get("exposed_by_previous_release", [])
    if exposed:
        attention.append(
            (
                f"{len(exposed)} insurer cell(s)",
                "a small count that the previous round's published figures bound, so no suppression in this "
                "release can protect it (listed in the release ledger with column, scope and provider)",
            )
        )
    names = (summary.get("registry") or {}).get("names", {})

    def named(code: str) -> str:
        return f"{code} ({names[code]})" if code in names else code

    if history.get("previous_key_differs"):
        attention.append(("history", "the previous round was made under another key: no trend this round"))
    rows = history.get("feedback_rows", {})
    previous = [
        ("previous round", history.get("previous_round") or "none"),
        ("feedback rows received / accepted / rejected",
         f"{rows.get('received', 0)} / {rows.get('accepted', 0)} / {rows.get('rejected', 0)}"),
        *[(f"feedback: {outcome}", n) for outcome, n in sorted(rows.get("by_outcome", {}).items())],
        *[(f"feedback rejected: {reason}", n) for reason, n in sorted(rows.get("rejected_by_reason", {}).items())],
    ]  # fmt: skip
    totals = [
        ("files received / accepted / rejected",
         f"{summary['files']['received']} / {summary['files']['accepted']} / {summary['files']['rejected']}"),
        ("rows received / accepted / rejected",
         f"{summary['rows']['received']} / {summary['rows']['accepted']} / {summary['rows']['rejected']}"),
        ("entries", summary["entries"]), ("persons", summary["persons"]),
        ("double waiters", summary["double_waiters"]), ("internal duplicates", summary["internal_duplicates"]),
        ("links by BSN / probabilistic / pairs for review",
         f"{summary['links']['bsn']} / {summary['links']['probabilistic']} / {summary['links']['review_pairs']}"),
        ("files in sender folders / without a verified sender",
         f"{summary.get('senders', {}).get('verified_files', 0)} / {unverified}"),
        ("registered codes", len(names) if summary.get("registry") else "no registry: codes not checked"),
        ("insurer cells suppressed: small / further, to protect them",
         f"{disclosure.get('primary', 0)} / {disclosure.get('secondary', 0)}"),
        ("key version", summary["key_version"]), ("recipients pinned", summary.get("recipients_pinned")),
        ("duration (s)", summary["duration_s"]),
    ]  # fmt: skip
    linkage = summary.get("linkage", {})
    sections = [
        ("Needs attention", _table(("what", "why"), attention)),
        ("Totals", _table(("", "count"), totals)),
        ("Files", _table(
            ("file", "status", "reason", "detail", "rows", "accepted", "rejected"),
            [(f["file"], f["status"], f["reason"], f["detail"], f["rows_received"], f["rows_accepted"],
              f["rows_rejected"]) for f in files],
            ["rejected" if f["status"] == "rejected" else "" for f in files])),
        ("Rejected rows by reason", _table(("reason", "rows"), sorted(summary["rows"]["rejected_by_reason"].items()))),
        ("Warnings (rows kept)", _table(("warning", "rows"), sorted(summary["rows"]["warnings"].items()))),
        ("Delivered", _table(("provider", "files"),
                             [(named(k), ", ".join(v)) for k, v in summary["delivered"].items()])),
        ("Undelivered", _table(("provider", "reason"),
                               [(named(u["agb_code"]), u["reason"]) for u in summary["undelivered"]],
                               ["rejected"] * len(summary["undelivered"]))),
        ("Compared with the previous round", _table(("", "count"), previous)),
        ("Feedback files", _table(
            ("file", "status", "reason", "rows", "accepted", "rejected"),
            [(f["file"], f["status"], f["reason"], f["rows_received"], f["rows_accepted"], f["rows_rejected"])
             for f in feedback_files],
            ["rejected" if f["status"] == "rejected" else "" for f in feedback_files])),
        ("Seconds per stage", _table(("stage", "seconds"), list(summary.get("stage_seconds", {}).items()))),
        ("Linkage: candidate pairs per blocking pass",
         _table(("pass", "pairs"), sorted(linkage.get("pairs_per_pass", {}).items()))),
        ("Linkage: seconds per step", _table(("step", "seconds"), sorted(linkage.get("seconds", {}).items()))),
        ("Linkage: skipped blocking keys", _table(
            ("pass", "keys skipped", "entries in them"),
            [(name, n, linkage.get("skipped_block_entries", {}).get(name, 0))
             for name, n in sorted(linkage.get("skipped_blocks", {}).items()) if n])),
    ]  # fmt: skip
    body = "".join(
        f"<section><h2>{html.escape(title)}</h2><p class='note'>{html.escape(SECTION_NOTES[title])}</p>{content}"
        "</section>"
        for title, content in sections
    )
    status = (
        f"{len(rejected_files)} file(s) rejected and {len(summary['undelivered'])} provider(s) undelivered: "
        "see 'Needs attention'."
        if attention
        else "Every file was accepted and every provider received its files."
    )
    title = f"Round {summary['round']} (peildatum {summary['reference_date']})"
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>{html.escape(title)}</title><style>body{{font-family:system-ui,sans-serif;margin:2em;"
        "max-width:1100px;color:#1b1b1b}table{border-collapse:collapse;margin-bottom:.5em}"
        "td,th{border:1px solid #ccc;padding:2px 8px}th{background:#e8eef6}tr.rejected td{background:#fdecea}"
        ".note{color:#555;margin:.2em 0 .6em}.status{font-size:1.1em;padding:.6em 1em;background:#fff8e1;"
        "border-left:4px solid #e0a800}.empty{color:#777;font-style:italic}h2{margin-top:1.4em}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='status'>Completed in {summary['duration_s']} s. "
        f"{html.escape(status)}</p>"
        "<p class='note'>This page is for the TTP's operator: totals only, no person-level data. The insurer report "
        "is insurers/national.html; each provider's data quality is in datakwaliteit.csv.</p>"
        f"{body}</body></html>"
    )
    return page.encode("utf-8")
