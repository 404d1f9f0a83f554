"""Delivery of the provider packages: each provider's files, signed and encrypted to its pinned
key, written once (a receipts journal keeps a rerun from delivering a file twice)."""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Callable, Generator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from functools import partial
from itertools import islice
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hashing.files import sha256_bytes, write_atomic
from reports.delivery import DeliveryError, encrypt_for
from reports.files import AuditLog
from reports.packages import SIGNER_FILE, build_package, package_name, seal, signer_pem
from reports.recipients import RecipientKey, load_recipient, load_registry


@dataclass(frozen=True)
class DeliveryResult:
    """Which providers got their files and which did not, with the reason."""

    delivered: dict[str, list[str]]
    undelivered: dict[str, str]
    recipients_pinned: bool = False


def _recipient_key(
    provider: str, recipients_dir: Path | None, pins: Mapping[str, str] | None
) -> tuple[RecipientKey | None, tuple[str, str]]:
    """Return (the provider's usable, pinned key, ("", "")) or (None, (reason, reason code))."""
    key_path = recipients_dir / f"{provider}.pub" if recipients_dir else None
    if key_path is None or not key_path.is_file():
        return None, ("no public key in the recipients folder", "no_public_key")
    try:
        key = load_recipient(key_path)
    except DeliveryError:
        return None, ("public key is neither an age recipient nor a usable X25519 key", "bad_public_key")
    if pins is not None and pins.get(provider) != key.fingerprint:
        if provider in pins:
            return None, ("public key differs from its pin", "key_changed")
        return None, ("public key not pinned", "key_not_pinned")
    return key, ("", "")


def read_receipts(path: Path) -> dict[str, str]:
    """Return the delivery receipts journalled at ``path`` (``provider/file`` -> plaintext hash
    and key fingerprint), the later line winning; none when the file is absent. A torn last
    line (a run cut off while appending) is ignored: that file is delivered again."""
    receipts: dict[str, str] = {}
    if not path.is_file():
        return receipts
    for line in path.read_bytes().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("file"), str) and isinstance(record.get("receipt"), str):
            receipts[record["file"]] = record["receipt"]
    return receipts


def append_receipts(path: Path, receipts: Mapping[str, str]) -> None:
    """Append ``receipts`` to the journal at ``path``, one JSON line each, synced to disk before
    returning: a round of 2,000 providers appends each once instead of rewriting them all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = b"".join(json.dumps({"file": k, "receipt": v}).encode() + b"\n" for k, v in receipts.items())
    with path.open("a+b") as handle:
        if handle.seek(0, os.SEEK_END) > 0:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":  # a torn line of an interrupted run: end it, keep ours whole
                lines = b"\n" + lines
        handle.write(lines)
        handle.flush()
        os.fsync(handle.fileno())


@dataclass
class _Writer:
    """Writes one provider's encrypted delivery, once: a file whose receipt says the same
    plaintext already went to the same key (an earlier, interrupted run of this round) is left
    as it is, so nothing is delivered twice."""

    providers_dir: Path
    round_id: str
    audit: AuditLog
    receipts: dict[str, str]

    def write(
        self, provider: str, file_name: str, plaintext: bytes, fingerprint: str, encrypt: Callable[[], bytes]
    ) -> None:
        """Encrypt (by calling ``encrypt``) and write ``providers/<provider>/<file_name>`` unless
        the receipt shows it is there already."""
        target = self.providers_dir / provider / file_name
        receipt = f"{sha256_bytes(plaintext)}:{fingerprint}"
        if self.receipts.get(f"{provider}/{file_name}") == receipt and target.is_file():
            return
        blob = encrypt()
        write_atomic(target, blob)
        self.audit.append(
            "file_delivered",
            recipient=provider,
            object=f"providers/{provider}/{file_name}",
            sha256=sha256_bytes(blob),
            round=self.round_id,
        )
        self.receipts[f"{provider}/{file_name}"] = receipt


def _deliver(
    provider: str, files: Mapping[str, bytes], key: RecipientKey, writer: _Writer, signer: Ed25519PrivateKey
) -> list[str]:
    """Write one provider's delivery; return the names of the files it holds.

    An age recipient gets one signed package; a version 1 key one HPKE file per file.
    """
    round_id = writer.round_id
    if key.age is not None:
        recipient = key.age
        package = build_package(
            files, recipient=provider, recipient_key=key.fingerprint, round_id=round_id, signer=signer
        )
        writer.write(provider, package_name(round_id), package, key.fingerprint, lambda: seal(package, recipient))
        return sorted(files)
    if key.legacy is None:
        raise ValueError(f"no usable key for provider {provider}")
    legacy = key.legacy
    for file_name, plaintext in sorted(files.items()):
        writer.write(
            provider,
            file_name,
            plaintext,
            key.fingerprint,
            partial(encrypt_for, plaintext, legacy, recipient=provider, round_id=round_id, file_name=file_name),
        )
    return sorted(files)


RENDER_AHEAD = 4
"""Providers whose files are rendered ahead, on threads, while one provider's are encrypted and
written: polars' CSV writing and zlib release the GIL, so large providers' rendering overlaps
(measured with the lighter package zip: the 1 M round's 200 packages 5.3 to 3.3 s in one
process; no gain measured for 2,000 small providers, whose rendering is mostly Python)."""


def rendered_ahead(
    providers: Sequence[str], files_of: Callable[[str], Mapping[str, bytes]], ahead: int = RENDER_AHEAD
) -> Generator[Mapping[str, bytes], None, None]:
    """Yield ``files_of(provider)`` for each of ``providers`` in order, rendering up to ``ahead``
    providers beyond the one yielded on a thread pool (so at most ``ahead + 1`` providers'
    plaintext is held at a time). An error in rendering is raised when its provider is reached."""
    with ThreadPoolExecutor(max(1, min(ahead, os.cpu_count() or 1))) as pool:
        pending: deque[Future[Mapping[str, bytes]]] = deque()
        queued = iter(providers)
        for provider in islice(queued, ahead + 1):
            pending.append(pool.submit(files_of, provider))
        while pending:
            yield pending.popleft().result()
            for provider in islice(queued, 1):  # the one yielded is done with: render the next
                pending.append(pool.submit(files_of, provider))


def deliver_packages(
    providers: Sequence[str],
    files_of: Callable[[str], Mapping[str, bytes]],
    providers_dir: Path,
    recipients_dir: Path | None,
    round_id: str,
    audit: AuditLog,
    on_provider_done: Callable[[str], None] | None = None,
    receipts_path: Path | None = None,
    *,
    signer: Ed25519PrivateKey,
) -> DeliveryResult:
    """Encrypt each provider's files (``files_of(provider)``) to ``<recipients_dir>/<agb>.pub``
    and write them.

    Every provider's key is resolved first; then the providers are encrypted and written one at a
    time, each rendered shortly before (:func:`rendered_ahead`), so that no more than a few
    providers' plaintext is held and nothing is rendered for a provider that cannot be delivered to.

    A provider with an age recipient gets ``providers/<agb>/<round>.age``, one package signed
    with ``signer`` (outputs version 2); one with a version 1 key gets each file encrypted
    on its own. ``providers/ondertekening.pub`` is the signer's public key.

    A provider without a usable public key gets nothing written; it is returned as
    undelivered with the reason. When the folder has a ``registry.json``, a key whose
    fingerprint is not pinned there, or differs from its pin, fails closed the same way.
    Each written file is logged with its hash and recipient. ``on_provider_done`` is called
    with each provider's code once it is handled, delivered or not. ``receipts_path`` journals,
    per delivered file, the hash of its plaintext and the key's fingerprint, appended after each
    provider, so that a rerun after an interruption does not deliver a file twice.
    """
    delivered: dict[str, list[str]] = {}
    undelivered: dict[str, str] = {}
    pins = load_registry(recipients_dir) if recipients_dir else None
    keys = {provider: _recipient_key(provider, recipients_dir, pins) for provider in sorted(providers)}
    receipts = read_receipts(receipts_path) if receipts_path is not None else {}
    write_atomic(providers_dir / SIGNER_FILE, signer_pem(signer.public_key()))
    writer = _Writer(providers_dir, round_id, audit, receipts)
    deliverable = [provider for provider, (key, _) in keys.items() if key is not None]
    # closed on an error too, so that the render threads stop at once rather than when collected
    with closing(rendered_ahead(deliverable, files_of)) as rendered:
        for provider, (key, (reason, code)) in keys.items():
            if key is None:
                undelivered[provider] = reason
                audit.append("delivery_skipped", recipient=provider, reason=code)
            else:
                before = len(receipts)
                delivered[provider] = _deliver(provider, next(rendered), key, writer, signer)
                if receipts_path is not None and len(receipts) > before:
                    append_receipts(receipts_path, dict(list(receipts.items())[before:]))
            if on_provider_done is not None:
                on_provider_done(provider)
    return DeliveryResult(delivered=delivered, undelivered=undelivered, recipients_pinned=pins is not None)
