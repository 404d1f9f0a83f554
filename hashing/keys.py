"""The TTP's pseudonymisation key: creation, loading with checks, and per-purpose subkeys."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MIN_KEY_BYTES = 32
KEY_FILE_FORMAT = "wachtlijst-key/1"
HKDF_SALT = b"wachtlijst/pseudonym/v1"
KEY_ID_LABEL = b"wachtlijst/key-id/v1"
PURPOSE_TTP = "pseudonymisation"
PURPOSE_STAGE_ONE = "stage1"
"""A stage-1 key is held by the providers (two-stage pseudonymisation), never by the TTP."""
KEY_PURPOSES: tuple[str, ...] = (PURPOSE_TTP, PURPOSE_STAGE_ONE)


class KeyFileError(Exception):
    """A key file is missing, malformed, too short or too widely readable."""


@dataclass(frozen=True)
class PseudonymKey:
    """A secret key with its public id. ``repr`` never shows the secret."""

    key_id: str
    secret: bytes = field(repr=False)
    created: str = ""
    purpose: str = PURPOSE_TTP
    replaces: str = ""

    def subkey(self, purpose: str) -> bytes:
        """Return a 32-byte subkey for ``purpose`` derived with HKDF-SHA-256."""
        return HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=HKDF_SALT,
            info=f"wachtlijst/{purpose}".encode(),
        ).derive(self.secret)


def key_id_for(secret: bytes) -> str:
    """Return the public id of a key: a short HMAC of a fixed label, safe to log."""
    return "k" + hmac.new(secret, KEY_ID_LABEL, hashlib.sha256).hexdigest()[:15]


def create_key_file(
    path: Path,
    *,
    n_bytes: int = MIN_KEY_BYTES,
    purpose: str = PURPOSE_TTP,
    replaces: str = "",
    secret: bytes | None = None,
) -> PseudonymKey:
    """Write a new random key (or ``secret``, for the evaluation's reproducible key) to ``path``
    with permissions 0600 and return it.

    ``purpose`` is the TTP's key or a providers' stage-1 key; ``replaces`` the id of the key
    this one rotates out. Refuses to overwrite an existing file.
    """
    if (len(secret) if secret is not None else n_bytes) < MIN_KEY_BYTES:
        raise KeyFileError(f"a key needs at least {MIN_KEY_BYTES} bytes")
    if purpose not in KEY_PURPOSES:
        raise KeyFileError(f"unknown key purpose {purpose!r}; use one of {', '.join(KEY_PURPOSES)}")
    secret = os.urandom(n_bytes) if secret is None else secret
    key = PseudonymKey(
        key_id=key_id_for(secret),
        secret=secret,
        created=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        purpose=purpose,
        replaces=replaces,
    )
    document = {
        "format": KEY_FILE_FORMAT,
        "key_id": key.key_id,
        "created": key.created,
        "purpose": purpose,
        **({"replaces": replaces} if replaces else {}),
        "key": base64.b64encode(secret).decode(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
    return key


KEY_ENVIRONMENT_VARIABLE = "WACHTLIJST_KEY"


def parse_key_document(text: str, source: str) -> PseudonymKey:
    """Return the key in a key document (the JSON of a key file); ``source`` names it in errors."""
    try:
        document = json.loads(text)
        secret = base64.b64decode(document["key"], validate=True)
        stated_id = str(document["key_id"])
    except (ValueError, KeyError, TypeError):
        raise KeyFileError(f"{source} is not a wachtlijst key") from None
    if len(secret) < MIN_KEY_BYTES:
        raise KeyFileError(f"key in {source} is shorter than {MIN_KEY_BYTES} bytes")
    if key_id_for(secret) != stated_id:
        raise KeyFileError(f"{source} is damaged: its key id does not match the key")
    purpose = str(document.get("purpose", PURPOSE_TTP))
    if purpose not in KEY_PURPOSES:
        raise KeyFileError(f"{source} has an unknown purpose {purpose!r}")
    return PseudonymKey(
        key_id=stated_id,
        secret=secret,
        created=str(document.get("created", "")),
        purpose=purpose,
        replaces=str(document.get("replaces", "")),
    )


def load_key(path: Path | None, purpose: str = PURPOSE_TTP) -> PseudonymKey:
    """Return the key from ``path``, or, without a path, from the environment variable
    ``WACHTLIJST_KEY`` holding a key file's content (as a secrets manager injects it).

    Refuses a key made for another purpose: the TTP never runs with a providers' stage-1 key,
    and a provider never pre-pseudonymises with the TTP's key.
    """
    if path is not None:
        key = load_key_file(path)
    else:
        text = os.environ.get(KEY_ENVIRONMENT_VARIABLE)
        if not text:
            raise KeyFileError(f"no key file given and {KEY_ENVIRONMENT_VARIABLE} is not set")
        key = parse_key_document(text, f"environment variable {KEY_ENVIRONMENT_VARIABLE}")
    if key.purpose != purpose:
        raise KeyFileError(f"key {key.key_id} is a {key.purpose} key, not a {purpose} key")
    return key


def load_key_file(path: Path) -> PseudonymKey:
    """Return the key stored in ``path`` after checking format, length, id and permissions."""
    if not path.is_file():
        raise KeyFileError(f"key file {path} does not exist")
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"key file {path} is readable by group or others (mode {oct(mode & 0o777)}); run chmod 600 on it"
        )
    return parse_key_document(path.read_text(encoding="utf-8"), f"key file {path}")
