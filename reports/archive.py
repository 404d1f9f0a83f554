"""An encrypted archive of a round's raw extracts, as the alternative to deleting them.

The raw extracts hold plain identifiers. After a successful round they are encrypted (HPKE,
as deliveries) to the TTP's archive public key, whose private half is kept offline, and the
originals can then be deleted. Restoring is needed only to rerun a round, for example under
a new pseudonymisation key after a key rotation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hashing.files import sha256_bytes, write_atomic
from ingest.inventory import InputFile
from reports.delivery import decrypt, encrypt_for, load_private_key, load_public_key
from reports.files import AuditLog

ARCHIVE_RECIPIENT = "archive"
ARCHIVE_SUFFIX = ".enc"


def archive_inputs(
    inputs: Sequence[InputFile], archive_dir: Path, public_key: Path, round_id: str, audit: AuditLog
) -> list[Path]:
    """Encrypt every input file to ``archive_dir/<round>/<name>.enc``; return the paths written.

    Each archived file is in the audit log with the hashes of the original and the archive copy.
    """
    key = load_public_key(public_key)
    written = []
    for item in inputs:
        plaintext = item.path.read_bytes()
        blob = encrypt_for(plaintext, key, recipient=ARCHIVE_RECIPIENT, round_id=round_id, file_name=item.path.name)
        target = archive_dir / round_id / f"{item.path.name}{ARCHIVE_SUFFIX}"
        write_atomic(target, blob)
        audit.append("input_archived", object=item.path.name, sha256=sha256_bytes(plaintext),
                     archive_sha256=sha256_bytes(blob), round=round_id)  # fmt: skip
        written.append(target)
    return written


def restore_archive(archive_dir: Path, round_id: str, private_key: Path, out_dir: Path) -> list[Path]:
    """Decrypt a round's archived extracts into ``out_dir`` under their original names; return
    the paths. Raises :class:`reports.delivery.DeliveryError` for a wrong key or an altered file."""
    key = load_private_key(private_key)
    restored = []
    for encrypted in sorted((archive_dir / round_id).glob(f"*{ARCHIVE_SUFFIX}")):
        name = encrypted.name.removesuffix(ARCHIVE_SUFFIX)
        target = out_dir / name
        write_atomic(target, decrypt(encrypted.read_bytes(), key, file_name=name))
        restored.append(target)
    return restored
