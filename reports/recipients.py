"""Providers' delivery keys: age recipients (outputs version 2) beside version 1 PEM keys, and pins.

A provider's key pair is an age X25519 identity: ``<agb>.key`` is the identity file that the
``age`` command reads (``age -d -i <agb>.key``), ``<agb>.pub`` its one-line ``age1...``
recipient for the TTP's recipients folder. During the transition a recipients folder may still
hold version 1 keys (PEM X25519 public keys); those providers get version 1 files.
A key's fingerprint is the SHA-256 of its public form; ``registry.json`` pins it per AGB code,
and its first 20 hex digits in groups of four are what two people read out by phone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pyrage
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from pyrage import x25519

from reports.delivery import DeliveryError, load_public_key, public_key_fingerprint

REGISTRY_FILE = "registry.json"
AGE_RECIPIENT_PREFIX = "age1"
AGE_IDENTITY_PREFIX = "AGE-SECRET-KEY-1"
PEM_PREFIX = "-----BEGIN"
MAX_KEY_FILE_BYTES = 64 * 1024
SPOKEN_FINGERPRINT_DIGITS = 20


@dataclass(frozen=True)
class RecipientKey:
    """A provider's public key as found in the recipients folder: an age recipient (version 2)
    or a version 1 X25519 public key, with its fingerprint."""

    fingerprint: str
    age: x25519.Recipient | None = None
    legacy: X25519PublicKey | None = None

    @property
    def version(self) -> int:
        """Return 2 for an age recipient (one package per round), 1 for a PEM key (one file each)."""
        return 2 if self.age is not None else 1


def age_fingerprint(recipient: str) -> str:
    """Return the SHA-256 hex fingerprint of an age recipient (its ``age1...`` text)."""
    return hashlib.sha256(recipient.strip().lower().encode("ascii")).hexdigest()


def spoken_fingerprint(fingerprint: str) -> str:
    """Return the first 20 hex digits of a fingerprint in groups of four, to compare by phone."""
    head = fingerprint[:SPOKEN_FINGERPRINT_DIGITS]
    return " ".join(head[i : i + 4] for i in range(0, len(head), 4))


def _read_key_text(path: Path, what: str) -> str:
    """Return a key file's text, refusing a missing, huge or non-text file."""
    try:
        if path.stat().st_size > MAX_KEY_FILE_BYTES:
            raise DeliveryError(f"{path} is too large for a {what}")
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        raise DeliveryError(f"{path} is not a readable {what}") from None


def load_recipient(path: Path) -> RecipientKey:
    """Return the key in a recipients-folder file: an ``age1...`` line or a version 1 PEM key."""
    text = _read_key_text(path, "public key").strip()
    if text.startswith(AGE_RECIPIENT_PREFIX):
        try:
            recipient = x25519.Recipient.from_str(text)
        except pyrage.RecipientError:
            raise DeliveryError(f"{path} is not a valid age recipient") from None
        return RecipientKey(fingerprint=age_fingerprint(text), age=recipient)
    if text.startswith(PEM_PREFIX):
        legacy = load_public_key(path)
        return RecipientKey(fingerprint=public_key_fingerprint(legacy), legacy=legacy)
    raise DeliveryError(f"{path} is neither an age recipient (age1...) nor a PEM public key")


def load_identity(path: Path) -> tuple[x25519.Identity, str]:
    """Return (the age identity in ``path``, its recipient text); lines starting with # are comments."""
    lines = [line.strip() for line in _read_key_text(path, "private key").splitlines()]
    secrets = [line for line in lines if line and not line.startswith("#")]
    if len(secrets) != 1 or not secrets[0].startswith(AGE_IDENTITY_PREFIX):
        raise DeliveryError(f"{path} is not an age private key (one AGE-SECRET-KEY-1... line)")
    try:
        identity = x25519.Identity.from_str(secrets[0])
    except pyrage.IdentityError:
        raise DeliveryError(f"{path} is not a valid age private key") from None
    return identity, str(identity.to_public())


def is_age_identity(path: Path) -> bool:
    """Return whether ``path`` holds an age identity (rather than a version 1 PEM key)."""
    try:
        return AGE_IDENTITY_PREFIX in _read_key_text(path, "private key")
    except DeliveryError:
        return False


def create_age_keys(agb_code: str, out_dir: Path) -> tuple[Path, Path]:
    """Write ``<agb_code>.pub`` (the ``age1...`` recipient) and ``<agb_code>.key`` (the identity,
    0600, in age-keygen's format) to ``out_dir``; return both paths. Refuses to overwrite."""
    out_dir.mkdir(parents=True, exist_ok=True)
    public_path, private_path = out_dir / f"{agb_code}.pub", out_dir / f"{agb_code}.key"
    for path in (public_path, private_path):
        if path.exists():
            raise DeliveryError(f"{path} already exists")
    identity = x25519.Identity.generate()
    recipient = str(identity.to_public())
    created = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(f"# created: {created}\n# public key: {recipient}\n{identity}\n")
    public_path.write_text(recipient + "\n", encoding="ascii")
    return public_path, private_path


def load_registry(recipients_dir: Path) -> dict[str, str] | None:
    """Return {AGB code: pinned public-key fingerprint} from ``registry.json``, or None when the
    recipients folder has no registry."""
    path = recipients_dir / REGISTRY_FILE
    if not path.is_file():
        return None
    try:
        pins = json.loads(path.read_text(encoding="utf-8"))["pins"]
        return {str(agb): str(fingerprint) for agb, fingerprint in pins.items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise DeliveryError(f"{path} is not a readable recipients registry (pinned key fingerprints)") from None


def pin_recipients(recipients_dir: Path, replace: tuple[str, ...] = ()) -> dict[str, str]:
    """Pin the fingerprint of every ``<agb>.pub`` in ``recipients_dir`` in ``registry.json``.

    New providers are added; an existing pin is changed only for AGB codes in ``replace``
    (a provider's key changes only by an explicit operator decision, also from a version 1
    key to an age key). Returns the pins.
    """
    pins = load_registry(recipients_dir) or {}
    changed = []
    for path in sorted(recipients_dir.glob("*.pub")):
        agb = path.stem
        fingerprint = load_recipient(path).fingerprint
        if agb in pins and pins[agb] != fingerprint and agb not in replace:
            changed.append(agb)
            continue
        pins[agb] = fingerprint
    if changed:
        raise DeliveryError(
            f"public keys differ from their pins for {', '.join(changed)}; pass them to --replace if intended"
        )
    document = json.dumps({"pins": dict(sorted(pins.items()))}, indent=2) + "\n"
    (recipients_dir / REGISTRY_FILE).write_text(document, encoding="utf-8")
    return pins


def key_fingerprint(path: Path) -> str:
    """Return the fingerprint of any key file a user may hold: a recipient, an age identity
    (the fingerprint of its recipient) or a version 1 public key."""
    if is_age_identity(path):
        return age_fingerprint(load_identity(path)[1])
    return load_recipient(path).fingerprint
