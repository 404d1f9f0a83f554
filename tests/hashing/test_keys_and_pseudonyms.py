import base64
import hashlib
import hmac
import json
import os
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashing.keyed_hash import KeyedHasher
from hashing.keys import KeyFileError, PseudonymKey, create_key_file, load_key_file
from hashing.pseudonyms import PURPOSE_BSN, PURPOSE_QUASI_IDENTIFIER, pseudonymise_series


def test_rfc4231_test_case_2():
    hasher = KeyedHasher(b"Jefe")
    assert hasher.hexdigest(b"what do ya want for nothing?") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


@given(st.binary(min_size=1, max_size=64), st.binary(max_size=200))
def test_fast_hmac_equals_standard_hmac(key: bytes, value: bytes):
    assert KeyedHasher(key).hexdigest(value) == hmac.new(key, value, hashlib.sha256).hexdigest()


def test_key_file_is_private_and_round_trips(tmp_path: Path):
    path = tmp_path / "ttp.key"
    key = create_key_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = load_key_file(path)
    assert loaded.key_id == key.key_id and loaded.secret == key.secret
    assert len(loaded.secret) >= 32
    assert key.secret.hex() not in repr(key)


def test_loose_permissions_short_keys_and_damage_are_refused(tmp_path: Path):
    path = tmp_path / "ttp.key"
    create_key_file(path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match="readable by group or others"):
        load_key_file(path)
    os.chmod(path, 0o600)
    document = json.loads(path.read_text())
    document["key"] = base64.b64encode(b"x" * 16).decode()
    path.write_text(json.dumps(document))
    with pytest.raises(KeyFileError, match="shorter"):
        load_key_file(path)
    document["key"] = base64.b64encode(b"y" * 32).decode()
    path.write_text(json.dumps(document))
    with pytest.raises(KeyFileError, match="damaged"):
        load_key_file(path)
    with pytest.raises(KeyFileError, match="does not exist"):
        load_key_file(tmp_path / "missing.key")


def test_existing_key_is_never_overwritten(tmp_path: Path):
    path = tmp_path / "ttp.key"
    create_key_file(path)
    with pytest.raises(FileExistsError):
        create_key_file(path)


def test_purposes_and_keys_give_unrelated_tokens():
    key = PseudonymKey("k1", b"k" * 32)
    other = PseudonymKey("k2", b"o" * 32)
    values = pl.Series("v", ["999999151", None, "999999151"])
    by_bsn = pseudonymise_series(values, key, PURPOSE_BSN).to_list()
    by_qid = pseudonymise_series(values, key, PURPOSE_QUASI_IDENTIFIER).to_list()
    by_other_key = pseudonymise_series(values, other, PURPOSE_BSN).to_list()
    assert by_bsn[0] == by_bsn[2] and by_bsn[1] is None
    assert by_bsn[0] != by_qid[0] != by_other_key[0]
    assert by_bsn[0] == hmac.new(key.subkey(PURPOSE_BSN), b"999999151", hashlib.sha256).hexdigest()
    assert key.subkey(PURPOSE_BSN) != key.subkey(PURPOSE_QUASI_IDENTIFIER)
