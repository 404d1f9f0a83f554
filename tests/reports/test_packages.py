"""Provider packages: age-encrypted, signed by the TTP, refused when swapped, renamed, replayed or altered."""

import io
import json
import threading
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hashing.keys import create_key_file
from reports.delivery import DeliveryError, create_recipient_keys
from reports.files import AuditLog
from reports.package_delivery import append_receipts, deliver_packages, read_receipts, rendered_ahead
from reports.packages import (
    SIGNER_FILE,
    PackageError,
    build_package,
    load_signer,
    open_delivery,
    open_package,
    package_name,
    seal,
    signing_key,
)
from reports.recipients import (
    age_fingerprint,
    create_age_keys,
    load_identity,
    load_recipient,
    load_registry,
    pin_recipients,
)

CLIENT = b"CLIENT-7f3a9c"
"""Long enough that random ciphertext never holds it by chance (a two-byte needle did, now and then)."""
FILES = {
    "contactlijst.csv": b"client_id;soort\n" + CLIENT + b";dubbel\n",
    "toelichting.html": b"<p>Beste zorgaanbieder</p>",
}


@pytest.fixture
def keys(tmp_path: Path):
    """Two providers' age keys and the TTP's signing key."""
    create_age_keys("22000001", tmp_path)
    create_age_keys("22000002", tmp_path)
    ttp = signing_key(create_key_file(tmp_path / "ttp.key"))
    return tmp_path, ttp


def packed(keys_dir: Path, agb: str, signer: Ed25519PrivateKey, round_id: str = "2026-11", files=FILES) -> bytes:
    recipient = load_recipient(keys_dir / f"{agb}.pub")
    assert recipient.age is not None
    zipped = build_package(files, recipient=agb, recipient_key=recipient.fingerprint, round_id=round_id, signer=signer)
    return seal(zipped, recipient.age)


def test_a_package_opens_with_its_own_key_and_the_ttps_signer(keys):
    keys_dir, ttp = keys
    identity, _ = load_identity(keys_dir / "22000001.key")
    opened = open_package(packed(keys_dir, "22000001", ttp), identity, ttp.public_key(), file_name="2026-11.age")
    assert opened.files == FILES and opened.round_id == "2026-11" and opened.recipient == "22000001"
    sealed = packed(keys_dir, "22000001", ttp)
    assert CLIENT not in sealed and b"dubbel" not in sealed


def test_the_zip_is_the_same_for_the_same_files(keys):
    keys_dir, ttp = keys
    fingerprint = load_recipient(keys_dir / "22000001.pub").fingerprint
    first, second = (
        build_package(FILES, recipient="22000001", recipient_key=fingerprint, round_id="2026-11", signer=ttp)
        for _ in range(2)
    )
    assert first == second


def test_another_providers_key_cannot_open_it(keys):
    keys_dir, ttp = keys
    identity, _ = load_identity(keys_dir / "22000002.key")
    with pytest.raises(PackageError, match="niet voor deze sleutel"):
        open_package(packed(keys_dir, "22000001", ttp), identity, ttp.public_key())


def test_a_package_signed_by_anyone_else_is_refused(keys):
    """age alone lets anyone encrypt to a provider's public key: the signature is what counts."""
    keys_dir, ttp = keys
    identity, _ = load_identity(keys_dir / "22000001.key")
    forged = packed(keys_dir, "22000001", Ed25519PrivateKey.generate())
    with pytest.raises(PackageError, match="handtekening"):
        open_package(forged, identity, ttp.public_key())


def test_a_package_re_encrypted_for_another_provider_is_refused(keys):
    """Provider 1 opens its genuine package and passes the signed zip on, encrypted to provider 2."""
    keys_dir, ttp = keys
    one, _ = load_identity(keys_dir / "22000001.key")
    zipped = bytes(__import__("pyrage").decrypt(packed(keys_dir, "22000001", ttp), [one]))
    recipient_two = load_recipient(keys_dir / "22000002.pub").age
    assert recipient_two is not None
    two, _ = load_identity(keys_dir / "22000002.key")
    with pytest.raises(PackageError, match="andere ontvanger"):
        open_package(seal(zipped, recipient_two), two, ttp.public_key())


def test_a_replayed_or_renamed_package_is_refused(keys):
    keys_dir, ttp = keys
    identity, _ = load_identity(keys_dir / "22000001.key")
    old = packed(keys_dir, "22000001", ttp, round_id="2026-10")
    with pytest.raises(PackageError, match="ronde 2026-10, niet van ronde 2026-11"):
        open_package(old, identity, ttp.public_key(), expected_round="2026-11")
    with pytest.raises(PackageError, match="bestandsnaam"):
        open_package(old, identity, ttp.public_key(), file_name="2026-11.age")


def _rezipped(zipped: bytes, change) -> bytes:
    with zipfile.ZipFile(io.BytesIO(zipped)) as source:
        members = {name: source.read(name) for name in source.namelist()}
    change(members)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for name, data in members.items():
            target.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update({"contactlijst.csv": b"client_id;soort\nB2;dubbel\n"}), "veranderd"),
        (lambda m: m.update({"extra.exe": b"MZ"}), "niet in de inhoudsopgave"),
        (lambda m: m.pop("toelichting.html"), "mist toelichting.html"),
        (lambda m: m.update({"manifest.json": m["manifest.json"].replace(b"2026-11", b"2026-12")}), "handtekening"),
        (lambda m: m.update({"../../etc/passwd": b"x"}), "niet in de inhoudsopgave"),
    ],
)
def test_a_package_altered_inside_is_refused(keys, change, message):
    keys_dir, ttp = keys
    recipient = load_recipient(keys_dir / "22000001.pub")
    assert recipient.age is not None
    zipped = build_package(
        FILES, recipient="22000001", recipient_key=recipient.fingerprint, round_id="2026-11", signer=ttp
    )
    identity, _ = load_identity(keys_dir / "22000001.key")
    with pytest.raises(PackageError, match=message):
        open_package(seal(_rezipped(zipped, change), recipient.age), identity, ttp.public_key())


def test_delivery_gives_age_recipients_one_package_and_version_1_keys_their_files(tmp_path: Path):
    """The transition: a recipients folder with an age key and a version 1 PEM key."""
    recipients = tmp_path / "recipients"
    create_age_keys("22000001", recipients)
    create_recipient_keys("22000002", recipients)
    pins = pin_recipients(recipients)
    assert pins["22000001"] == age_fingerprint((recipients / "22000001.pub").read_text())
    ttp = signing_key(create_key_file(tmp_path / "ttp.key"))
    providers = tmp_path / "providers"
    receipts = tmp_path / "deliveries.jsonl"
    packages = {"22000001": FILES, "22000002": FILES}
    audit = AuditLog(tmp_path / "audit.jsonl")
    result = deliver_packages(list(packages), packages.__getitem__, providers, recipients, "2026-11", audit,
                              receipts_path=receipts, signer=ttp)  # fmt: skip
    assert result.delivered == {"22000001": sorted(FILES), "22000002": sorted(FILES)}
    assert sorted(p.name for p in (providers / "22000001").iterdir()) == [package_name("2026-11")]
    assert sorted(p.name for p in (providers / "22000002").iterdir()) == sorted(FILES)
    signer = load_signer(providers / SIGNER_FILE)
    for agb in packages:
        opened = open_delivery(providers / agb, recipients / f"{agb}.key", signer, expected_round="2026-11")
        assert opened.files == FILES
    events = [json.loads(line)["event"] for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert events.count("file_delivered") == 1 + len(FILES)
    before = (providers / "22000001" / package_name("2026-11")).read_bytes()
    deliver_packages(list(packages), packages.__getitem__, providers, recipients, "2026-11", audit,
                     receipts_path=receipts, signer=ttp)  # fmt: skip
    assert (providers / "22000001" / package_name("2026-11")).read_bytes() == before, "delivered twice"


def test_a_folder_without_a_package_says_so(tmp_path: Path):
    create_age_keys("22000001", tmp_path / "keys")
    (tmp_path / "leeg").mkdir()
    with pytest.raises(PackageError, match="geen pakket"):
        open_delivery(tmp_path / "leeg", tmp_path / "keys" / "22000001.key", None)


def test_pinned_registry_fails_closed_for_unknown_or_changed_keys(tmp_path: Path):
    recipients = tmp_path / "recipients"
    for agb in ("22000001", "22000002"):
        create_age_keys(agb, recipients)
    pins = pin_recipients(recipients)
    assert set(pins) == {"22000001", "22000002"} and load_registry(recipients) == pins
    for name in ("22000002.pub", "22000002.key"):
        (recipients / name).unlink()
    create_age_keys("22000002", recipients)  # a key swapped in behind the operator's back
    create_age_keys("22000003", recipients)  # a provider never pinned
    packages = {agb: {"contactlijst.csv": b"client_id\n"} for agb in ("22000001", "22000002", "22000003")}
    audit = AuditLog(tmp_path / "audit.jsonl")
    signer = signing_key(create_key_file(tmp_path / "ttp.key"))
    rendered: list[str] = []

    def files_of(provider: str) -> dict[str, bytes]:
        rendered.append(provider)
        return packages[provider]

    result = deliver_packages(list(packages), files_of, tmp_path / "providers", recipients, "r1", audit, signer=signer)
    assert list(result.delivered) == ["22000001"] and result.recipients_pinned
    assert rendered == ["22000001"], "nothing is rendered for a provider that cannot be delivered to"
    assert result.undelivered == {"22000002": "public key differs from its pin", "22000003": "public key not pinned"}
    assert not (tmp_path / "providers" / "22000002").exists()
    with pytest.raises(DeliveryError, match="22000002"):
        pin_recipients(recipients)
    assert pin_recipients(recipients, replace=("22000002",))["22000002"] != pins["22000002"]


def test_receipts_are_a_journal_that_survives_a_torn_line(tmp_path: Path):
    journal = tmp_path / "deliveries.jsonl"
    assert read_receipts(journal) == {}
    append_receipts(journal, {"22000001/a.age": "h1:f1"})
    append_receipts(journal, {"22000002/a.age": "h2:f2", "22000001/a.age": "h3:f1"})
    with journal.open("ab") as handle:
        handle.write(b'{"file": "22000003/a.age", "rec')  # the run was cut off mid-append
    assert read_receipts(journal) == {"22000001/a.age": "h3:f1", "22000002/a.age": "h2:f2"}
    append_receipts(journal, {"22000003/a.age": "h4:f3"})
    assert read_receipts(journal)["22000003/a.age"] == "h4:f3"


def test_rendering_runs_a_few_providers_ahead_in_order_and_raises_at_its_provider():
    """Providers are rendered ahead on threads but yielded in order, never more than ``ahead + 1``
    rendered and not yet yielded; a provider whose rendering fails raises when it is reached."""
    held: list[int] = []
    rendered: list[str] = []
    lock = threading.Lock()

    def files_of(provider: str) -> dict[str, bytes]:
        with lock:
            rendered.append(provider)
            held.append(len(rendered) - len(yielded))
        if provider == "p7":
            raise ValueError("broken")
        return {"f.csv": provider.encode()}

    yielded: list[str] = []
    providers = [f"p{i}" for i in range(10)]
    stream = rendered_ahead(providers, files_of, ahead=3)
    for provider in providers[:7]:
        assert next(stream) == {"f.csv": provider.encode()}
        yielded.append(provider)
    with pytest.raises(ValueError, match="broken"):
        next(stream)
    assert max(held) <= 3 + 1
    assert set(rendered) <= set(providers)
