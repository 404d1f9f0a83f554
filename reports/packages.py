"""Provider packages (outputs version 2): one age-encrypted zip per provider and round.

Inside the zip are the provider's files and ``manifest.json`` (format, round, recipient AGB and
key fingerprint, signer fingerprint, every file's name, size and SHA-256) with
``manifest.sig``, the TTP's Ed25519 signature over the manifest's bytes. age gives
confidentiality only (anyone may encrypt to a public recipient); the signature is what tells a
package from the TTP from one made by someone else, and the manifest's round and recipient what
tells it from an older or another provider's package. The zip is deterministic (sorted names,
fixed times), so a rerun of a round packs the same bytes.

The signing key is derived from the TTP's pseudonymisation key (HKDF, its own purpose), so the
TTP keeps no further secret; its public half is ``ondertekening.pub``, which the TTP hands each
provider once, with its fingerprint read out by phone.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pyrage
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pyrage import x25519

from hashing.files import write_atomic
from hashing.keys import PseudonymKey
from reports.delivery import DeliveryError, decrypt, load_private_key, read_header
from reports.recipients import age_fingerprint, is_age_identity, load_identity

PACKAGE_FORMAT = "wachtlijst-pakket/2"
PACKAGE_SUFFIX = ".age"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
SIGNER_FILE = "ondertekening.pub"
SIGNING_PURPOSE = "delivery-signing/v1"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
MAX_MANIFEST_BYTES = 64 * 1024
MAX_PACKAGE_FILES = 32
MAX_FILE_BYTES = 2 * 1024**3


class PackageError(DeliveryError):
    """A package cannot be opened or is refused; the message is Dutch (a provider reads it)."""


def package_name(round_id: str) -> str:
    """Return the file name of a round's package: ``<round>.age``."""
    return f"{round_id}{PACKAGE_SUFFIX}"


def signing_key(key: PseudonymKey) -> Ed25519PrivateKey:
    """Return the TTP's Ed25519 signing key, derived from its pseudonymisation key."""
    return Ed25519PrivateKey.from_private_bytes(key.subkey(SIGNING_PURPOSE))


def signer_fingerprint(public_key: Ed25519PublicKey) -> str:
    """Return the SHA-256 hex fingerprint of a raw Ed25519 public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def signer_pem(public_key: Ed25519PublicKey) -> bytes:
    """Return the signer's public key as PEM (the content of ``ondertekening.pub``)."""
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_signer(path: Path) -> Ed25519PublicKey:
    """Return the TTP's public signing key in ``path`` (``ondertekening.pub``)."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes()[:MAX_MANIFEST_BYTES])
    except (ValueError, OSError):
        raise PackageError(f"{path} is geen leesbare ondertekeningssleutel van de TTP") from None
    if not isinstance(key, Ed25519PublicKey):
        raise PackageError(f"{path} is geen Ed25519-ondertekeningssleutel")
    return key


def _zip_member(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    """Add ``data`` as ``name`` with a fixed time, so that the same files give the same zip: a
    workbook (a zip itself) stored as it is, other files deflated quickly (level 1)."""
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_STORED if name.endswith(".xlsx") else zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data, compresslevel=1)


def build_package(
    files: Mapping[str, bytes], *, recipient: str, recipient_key: str, round_id: str, signer: Ed25519PrivateKey
) -> bytes:
    """Return the zip (not yet encrypted) of ``files`` with the signed manifest.

    ``recipient`` is the provider's AGB code, ``recipient_key`` the fingerprint of its key.
    """
    for name in files:
        if not SAFE_NAME.match(name) or name in (MANIFEST, SIGNATURE):
            raise ValueError(f"not a package file name: {name!r}")
    manifest = {
        "format": PACKAGE_FORMAT,
        "round": round_id,
        "recipient": recipient,
        "recipient_key": recipient_key,
        "signer": signer_fingerprint(signer.public_key()),
        "files": [
            {"name": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in sorted(files.items())
        ],
    }
    manifest_bytes = (json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        _zip_member(archive, MANIFEST, manifest_bytes)
        _zip_member(archive, SIGNATURE, base64.b64encode(signer.sign(manifest_bytes)) + b"\n")
        for name, data in sorted(files.items()):
            _zip_member(archive, name, data)
    return buffer.getvalue()


def seal(plaintext: bytes, recipient: x25519.Recipient) -> bytes:
    """Return ``plaintext`` encrypted with age to ``recipient`` (binary age format)."""
    return bytes(pyrage.encrypt(plaintext, [recipient]))


@dataclass(frozen=True)
class OpenedPackage:
    """A verified package: its manifest and its files by name."""

    round_id: str
    recipient: str
    signer: str
    files: dict[str, bytes]


def _read_member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """Return one member's bytes, refusing a member that unpacks to more than ``limit`` bytes."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise PackageError(f"het pakket mist {name}") from None
    if info.file_size > limit:
        raise PackageError(f"{name} in het pakket is groter dan aangekondigd")
    with archive.open(info) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise PackageError(f"{name} in het pakket is groter dan aangekondigd")
    return data


def _verified_manifest(archive: zipfile.ZipFile, signer: Ed25519PublicKey) -> dict[str, object]:
    """Return the manifest after checking the TTP's signature over its bytes."""
    manifest_bytes = _read_member(archive, MANIFEST, MAX_MANIFEST_BYTES)
    try:
        signature = base64.b64decode(_read_member(archive, SIGNATURE, 1024).strip(), validate=True)
        signer.verify(signature, manifest_bytes)
    except (InvalidSignature, ValueError):
        raise PackageError(
            "de handtekening klopt niet: dit pakket komt niet van de TTP of is onderweg veranderd"
        ) from None
    manifest = json.loads(manifest_bytes)
    if not isinstance(manifest, dict) or manifest.get("format") != PACKAGE_FORMAT:
        raise PackageError("onbekende pakketversie")
    return manifest


def open_package(
    blob: bytes,
    identity: x25519.Identity,
    signer: Ed25519PublicKey,
    *,
    file_name: str | None = None,
    expected_round: str | None = None,
) -> OpenedPackage:
    """Return the verified contents of a package, or raise :class:`PackageError` (Dutch).

    Refused: a package not encrypted to ``identity``; one not signed by ``signer``; one whose
    manifest names another recipient key (re-encrypted by someone who opened it); one of another
    round than ``expected_round``, or whose ``file_name`` does not start with its round (an old
    package renamed); any file missing, added, larger or changed against the manifest.
    """
    try:
        plaintext = bytes(pyrage.decrypt(blob, [identity]))
    except pyrage.DecryptError:
        raise PackageError("dit pakket is niet voor deze sleutel versleuteld, of het is beschadigd") from None
    try:
        archive = zipfile.ZipFile(io.BytesIO(plaintext))
    except zipfile.BadZipFile:
        raise PackageError("de inhoud van het pakket is geen zip-archief") from None
    with archive:
        manifest = _verified_manifest(archive, signer)
        round_id, entries = str(manifest.get("round", "")), manifest.get("files")
        if manifest.get("recipient_key") != age_fingerprint(str(identity.to_public())):
            raise PackageError(f"dit pakket is gemaakt voor een andere ontvanger ({manifest.get('recipient')})")
        if expected_round is not None and round_id != expected_round:
            raise PackageError(f"dit pakket is van ronde {round_id}, niet van ronde {expected_round}")
        if file_name is not None and not file_name.startswith(round_id):
            raise PackageError(f"dit pakket is van ronde {round_id}; de bestandsnaam {file_name} is veranderd")
        if not isinstance(entries, list) or len(entries) > MAX_PACKAGE_FILES:
            raise PackageError("de inhoudsopgave van het pakket is onleesbaar")
        listed = {str(entry.get("name")): entry for entry in entries if isinstance(entry, dict)}
        extra = set(archive.namelist()) - set(listed) - {MANIFEST, SIGNATURE}
        if extra or len(listed) != len(entries) or not all(SAFE_NAME.match(name) for name in listed):
            raise PackageError("het pakket bevat bestanden die niet in de inhoudsopgave staan")
        files = {}
        for name, entry in sorted(listed.items()):
            size = entry.get("bytes")
            if not isinstance(size, int) or size < 0:
                raise PackageError("de inhoudsopgave van het pakket is onleesbaar")
            data = _read_member(archive, name, min(size, MAX_FILE_BYTES))
            if len(data) != size or hashlib.sha256(data).hexdigest() != entry.get("sha256"):
                raise PackageError(f"{name} in het pakket is veranderd")
            files[name] = data
    return OpenedPackage(round_id, str(manifest.get("recipient", "")), str(manifest.get("signer", "")), files)


def write_files(files: Mapping[str, bytes], out_dir: Path) -> list[Path]:
    """Write opened files into ``out_dir`` (names were checked against the manifest); return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in sorted(files.items()):
        if not SAFE_NAME.match(name):
            raise PackageError(f"onveilige bestandsnaam in het pakket: {name!r}")
        write_atomic(out_dir / name, data)
        written.append(out_dir / name)
    return written


def _open_legacy(paths: list[Path], key_path: Path) -> OpenedPackage:
    """Return version 1 files (one HPKE file each, no signature) as an unsigned package."""
    private_key = load_private_key(key_path)
    files = {p.name: decrypt(p.read_bytes(), private_key, file_name=p.name) for p in paths}
    header, _, _ = read_header(paths[0].read_bytes())
    return OpenedPackage(str(header.get("round", "")), str(header.get("recipient", "")), "", files)


def open_delivery(
    path: Path, key_path: Path, signer: Ed25519PublicKey | None, *, expected_round: str | None = None
) -> OpenedPackage:
    """Return what a provider received: a package (``.age``), a version 1 file, or a provider
    folder holding either; raise :class:`DeliveryError` (Dutch for a package) when it cannot be
    opened or is refused.

    A package needs the TTP's ``signer`` key; version 1 files carry no signature (``signer``
    of the result is then empty).
    """
    if path.is_dir():
        packages = sorted(path.glob(f"*{PACKAGE_SUFFIX}"))
        if expected_round is not None:
            packages = [p for p in packages if p.name == package_name(expected_round)] or packages
        if not packages:
            legacy = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            if not legacy:
                raise PackageError(f"in {path} staat geen pakket ({PACKAGE_SUFFIX}) en geen versleuteld bestand")
            return _open_legacy(legacy, key_path)
        path = packages[-1]
    elif not path.is_file():
        raise PackageError(f"{path} bestaat niet")
    if path.suffix != PACKAGE_SUFFIX:
        return _open_legacy([path], key_path)
    if signer is None:
        raise PackageError(
            "geef de ondertekeningssleutel van de TTP mee (ondertekening.pub) om het pakket te controleren"
        )
    if not is_age_identity(key_path):
        raise PackageError(f"{key_path} is geen age-sleutel; een pakket opent alleen met de sleutel van versie 2")
    identity, _ = load_identity(key_path)
    return open_package(path.read_bytes(), identity, signer, file_name=path.name, expected_round=expected_round)
