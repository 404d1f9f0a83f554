from pathlib import Path

import pytest

from reports.delivery import (
    MAGIC,
    DeliveryError,
    create_recipient_keys,
    decrypt,
    encrypt_for,
    load_private_key,
    load_public_key,
)


@pytest.fixture
def keys(tmp_path: Path):
    public_a, private_a = create_recipient_keys("22000001", tmp_path)
    _public_b, private_b = create_recipient_keys("22000002", tmp_path)
    return load_public_key(public_a), load_private_key(private_a), load_private_key(private_b), private_a


def test_round_trip_and_randomised(keys):
    public_a, private_a, _, _ = keys
    blob = encrypt_for(b"client_id\nA1\n", public_a, recipient="22000001", round_id="2026-11", file_name="x.csv")
    again = encrypt_for(b"client_id\nA1\n", public_a, recipient="22000001", round_id="2026-11", file_name="x.csv")
    assert blob.startswith(MAGIC) and b"A1" not in blob
    assert blob != again
    assert decrypt(blob, private_a) == decrypt(again, private_a) == b"client_id\nA1\n"


def test_another_providers_key_fails(keys):
    public_a, _, private_b, _ = keys
    blob = encrypt_for(b"secret", public_a, recipient="22000001", round_id="r", file_name="x.csv")
    with pytest.raises(DeliveryError, match="not theirs"):
        decrypt(blob, private_b)


def test_changed_header_or_flipped_byte_fails(keys):
    public_a, private_a, _, _ = keys
    blob = encrypt_for(b"secret", public_a, recipient="22000001", round_id="2026-11", file_name="x.csv")
    with pytest.raises(DeliveryError):
        decrypt(blob.replace(b"2026-11", b"2026-12"), private_a)
    flipped = bytearray(blob)
    flipped[-5] ^= 1
    with pytest.raises(DeliveryError):
        decrypt(bytes(flipped), private_a)
    with pytest.raises(DeliveryError):
        decrypt(b"plain text", private_a)


def test_private_key_file_is_0600_and_not_overwritten(keys, tmp_path: Path):
    private_path = keys[3]
    assert private_path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(DeliveryError):
        create_recipient_keys("22000001", tmp_path)


def test_file_name_is_bound(keys):
    public_a, private_a, _, _ = keys
    blob = encrypt_for(b"secret", public_a, recipient="22000001", round_id="r", file_name="contactlijst.csv")
    assert decrypt(blob, private_a, file_name="contactlijst.csv") == b"secret"
    with pytest.raises(DeliveryError, match="delivered as"):
        decrypt(blob, private_a, file_name="afgewezen.csv")
