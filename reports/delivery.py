"""Version 1 encryption of provider files, and of the input archive, with HPKE
(RFC 9180: X25519, HKDF-SHA-256, AES-256-GCM).

A delivered file is ``MAGIC``, a 4-byte header length, a JSON header (product, format
version, recipient AGB, round, file name, recipient key fingerprint) and the HPKE
ciphertext. The header is the HPKE ``info``: changing any of it makes decryption fail.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

MAGIC = b"WACHTLIJST-HPKE-1\n"
PRODUCT = "wachtlijst"
FORMAT_VERSION = 1
SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


class DeliveryError(Exception):
    """A delivered file cannot be decrypted or a recipient key cannot be used."""


@dataclass(frozen=True)
class DeliveryHeader:
    """What a delivered file is bound to; readable without the private key."""

    recipient: str
    round_id: str
    file_name: str
    key_fingerprint: str

    def to_bytes(self) -> bytes:
        """Return the canonical JSON form used as HPKE info."""
        document = {
            "product": PRODUCT,
            "version": FORMAT_VERSION,
            "recipient": self.recipient,
            "round": self.round_id,
            "file": self.file_name,
            "key": self.key_fingerprint,
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def public_key_fingerprint(public_key: X25519PublicKey) -> str:
    """Return the SHA-256 hex fingerprint of a raw X25519 public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def create_recipient_keys(agb_code: str, out_dir: Path) -> tuple[Path, Path]:
    """Write ``<agb_code>.pub`` and ``<agb_code>.key`` (0600) to ``out_dir``; return both paths.

    Refuses to overwrite existing files.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    private_key = X25519PrivateKey.generate()
    public_path, private_path = out_dir / f"{agb_code}.pub", out_dir / f"{agb_code}.key"
    for path in (public_path, private_path):
        if path.exists():
            raise DeliveryError(f"{path} already exists")
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem)
    public_path.write_bytes(
        private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return public_path, private_path


def load_public_key(path: Path) -> X25519PublicKey:
    """Return the X25519 public key in a PEM file."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (ValueError, OSError):
        raise DeliveryError(f"{path} is not a readable public key") from None
    if not isinstance(key, X25519PublicKey):
        raise DeliveryError(f"{path} is not an X25519 public key")
    return key


def load_private_key(path: Path) -> X25519PrivateKey:
    """Return the X25519 private key in a PEM file."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, OSError, TypeError):
        raise DeliveryError(f"{path} is not a readable private key") from None
    if not isinstance(key, X25519PrivateKey):
        raise DeliveryError(f"{path} is not an X25519 private key")
    return key


def encrypt_for(
    plaintext: bytes, public_key: X25519PublicKey, *, recipient: str, round_id: str, file_name: str
) -> bytes:
    """Return the delivered form of ``plaintext``, readable only with the recipient's key."""
    header = DeliveryHeader(recipient, round_id, file_name, public_key_fingerprint(public_key)).to_bytes()
    ciphertext = SUITE.encrypt(plaintext, public_key, info=header)
    return MAGIC + len(header).to_bytes(4, "big") + header + ciphertext


def read_header(blob: bytes) -> tuple[dict[str, object], bytes, bytes]:
    """Return (header fields, header bytes, ciphertext) of a delivered file."""
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 4:
        raise DeliveryError("not a wachtlijst delivery file")
    start = len(MAGIC) + 4
    length = int.from_bytes(blob[len(MAGIC) : start], "big")
    header = blob[start : start + length]
    try:
        fields = json.loads(header)
    except ValueError:
        raise DeliveryError("the delivery header is damaged") from None
    return fields, header, blob[start + length :]


def decrypt(blob: bytes, private_key: X25519PrivateKey, file_name: str | None = None) -> bytes:
    """Return the plaintext of a delivered file, or raise :class:`DeliveryError`.

    With ``file_name`` (the name the file has on disk) a file renamed after delivery is
    refused: the name is bound into the encryption context.
    """
    fields, header, ciphertext = read_header(blob)
    if file_name is not None and fields.get("file") != file_name:
        raise DeliveryError(f"this file was delivered as {fields.get('file')!r}, not {file_name!r}")
    if fields.get("key") != public_key_fingerprint(private_key.public_key()):
        raise DeliveryError(f"this file is for recipient {fields.get('recipient')}; the key given is not theirs")
    try:
        return SUITE.decrypt(ciphertext, private_key, info=header)
    except InvalidTag:
        raise DeliveryError("the file was altered or its header does not match: decryption failed") from None
