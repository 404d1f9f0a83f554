"""``wachtlijst keys ...``: the TTP's keys, providers' delivery keys and their pins."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from flows.cli.common import EXIT_INPUT, EXIT_KEY, EXIT_USAGE, fail, keys_app, out


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

