"""The providers' side: ``prepseudonymise`` (two-stage mode), ``decrypt`` and ``verify`` a package."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from flows.cli.common import EXIT_CONFIG, EXIT_DECRYPT, EXIT_INPUT, EXIT_KEY, EXIT_USAGE, app, console, fail, out
from flows.settings import SettingsError, load_settings

if TYPE_CHECKING:
    from reports.packages import OpenedPackage

@app.command()
def prepseudonymise(
    inputs: Annotated[list[Path], typer.Argument(help="Extract files, or folders of them.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the <name>.pre.parquet files to send.")],
    key_file: Annotated[
        Path | None, typer.Option("--key", envvar="WACHTLIJST_STAGE1_KEY_FILE", help="The shared stage-1 key file.")
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="TOML with column_aliases for this EHR.")] = None,
    reference_date: Annotated[
        str | None, typer.Option("--reference-date", help="The round's peildatum YYYY-MM-DD (default: today).")
    ] = None,
) -> None:
    """Provider side of two-stage pseudonymisation: validate each extract and replace BSN, names,
    birth date and postcode by stage-1 pseudonyms, so that no plain identifier leaves the provider.

    Send the .pre.parquet files to the TTP instead of the extracts. Exit 5 when a file could not
    be used (the others are still written).
    """
    from hashing.keys import PURPOSE_STAGE_ONE, KeyFileError, load_key
    from ingest.prepseudonymised import prepseudonymise_extract
    from ingest.read import ExtractRejected

    try:
        key = load_key(key_file, purpose=PURPOSE_STAGE_ONE)
    except KeyFileError as error:
        fail(str(error), EXIT_KEY)
    try:
        settings = load_settings(config)
        aliases = settings.merged_aliases()
    except SettingsError as error:
        fail(str(error), EXIT_CONFIG)
    try:
        peildatum = dt.date.fromisoformat(reference_date) if reference_date else dt.date.today()
    except ValueError:
        fail(f"--reference-date {reference_date!r} is not a date YYYY-MM-DD", EXIT_USAGE)
    files = sorted(f for item in inputs for f in ([item] if item.is_file() else item.rglob("*")) if f.is_file())
    if not files:
        fail("no extract files given", EXIT_INPUT)
    failed = 0
    for source in files:
        target = out_dir / f"{source.name}.pre.parquet"  # x.csv and x.xlsx must not collide
        try:
            report = prepseudonymise_extract(
                source, target, key=key, aliases=aliases, reference_date=peildatum, csv_encoding=settings.csv_encoding
            )
        except ExtractRejected as rejection:
            failed += 1
            console.print(f"[red]{source.name}: not usable ({rejection.reason}"
                          + (f": {rejection.detail}" if rejection.detail else "") + ")[/]")  # fmt: skip
            continue
        out.print(
            f"{source.name} -> {target}: {report.rows_received} rows, {report.rows_accepted} accepted, "
            f"{report.rows_rejected} rejected (stage-1 key {report.stage_one_key_id})"
        )
    if failed:
        fail(f"{failed} of {len(files)} file(s) could not be pre-pseudonymised", EXIT_INPUT)


def _open_for_provider(
    path: Path, key: Path, signer: Path | None, expected_round: str | None, audit_log: Path | None
) -> OpenedPackage:
    """Open and verify what a provider received (see :func:`reports.packages.open_delivery`),
    recording it in the audit log when given; fail with a Dutch message when it is refused."""
    from reports.delivery import DeliveryError
    from reports.files import AuditLog
    from reports.packages import load_signer, open_delivery

    if not path.exists():
        fail(f"{path} bestaat niet", EXIT_INPUT)
    audit = AuditLog(audit_log) if audit_log else None
    try:
        opened = open_delivery(path, key, load_signer(signer) if signer else None, expected_round=expected_round)
    except DeliveryError as error:
        if audit:
            audit.append("decrypt_failed", object=path.name, reason=str(error))
        fail(f"{path}: {error}", EXIT_DECRYPT)
    if audit:
        audit.append("file_decrypted", object=path.name, files=sorted(opened.files), key=key.name)
    return opened


KEY_OPTION = typer.Option("--key", help="The provider's private key (<agb>.key).")


SIGNER_OPTION = typer.Option(
    "--signer", help="The TTP's public signing key (ondertekening.pub); needed for a package (.age)."
)


ROUND_OPTION = typer.Option("--round", help="Refuse a package of any other round (e.g. 2026-11).")


AUDIT_OPTION = typer.Option("--audit-log", envvar="WACHTLIJST_AUDIT_LOG", help="Record the decryption here.")


@app.command()
def decrypt(
    file: Annotated[Path, typer.Argument(help="A package (<round>.age), a version 1 file, or a folder of either.")],
    key: Annotated[Path, KEY_OPTION],
    out_dir: Annotated[Path | None, typer.Option("--out", help="Folder to unpack into (0600 files).")] = None,
    signer: Annotated[Path | None, SIGNER_OPTION] = None,
    round_id: Annotated[str | None, ROUND_OPTION] = None,
    audit_log: Annotated[Path | None, AUDIT_OPTION] = None,
) -> None:
    """Open, verify and unpack a delivery into --out; a single version 1 file without --out goes
    to standard output. A package for another recipient or round, renamed, or not signed by the
    TTP is refused. Messages are Dutch: a provider reads them."""
    from reports.packages import write_files

    if out_dir is None and (file.is_dir() or file.suffix == ".age"):
        fail("geef met --out een map op om het pakket in uit te pakken", EXIT_USAGE)
    opened = _open_for_provider(file, key, signer, round_id, audit_log)
    if out_dir is None:
        sys.stdout.buffer.write(next(iter(opened.files.values())))
        sys.stdout.buffer.flush()
        return
    written = write_files(opened.files, out_dir)
    out.print(f"{len(written)} bestand(en) van ronde {opened.round_id} uitgepakt in {out_dir}")


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="A package (<round>.age) or a provider folder.")],
    key: Annotated[Path, KEY_OPTION],
    signer: Annotated[Path, SIGNER_OPTION],
    round_id: Annotated[str | None, ROUND_OPTION] = None,
) -> None:
    """Check a package without unpacking it: for this recipient, signed by the TTP, of the round
    given, every file as the manifest lists it. Exit 0 and a Dutch summary when it is sound."""
    from reports.packages import load_signer, signer_fingerprint
    from reports.recipients import spoken_fingerprint

    opened = _open_for_provider(file, key, signer, round_id, None)
    if not opened.signer:
        fail(f"{file}: dit zijn bestanden van versie 1, zonder handtekening van de TTP", EXIT_DECRYPT)
    fingerprint = spoken_fingerprint(signer_fingerprint(load_signer(signer)))
    out.print(f"pakket van ronde {opened.round_id} voor AGB {opened.recipient}: in orde")
    out.print(f"ondertekend door de TTP (vingerafdruk {fingerprint})")
    for name, data in sorted(opened.files.items()):
        out.print(f"  {name} ({len(data)} bytes)")

