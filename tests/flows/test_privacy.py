"""Every byte the round wrote is scanned for the plain identifiers of its input."""

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from ingest.read import ExtractRejected, read_extract
from tests.conftest import RoundRun


def plain_identifiers(input_dir: Path) -> set[str]:
    """Return the BSNs, surnames and postcodes in the round's input, as written and normalised."""
    needles: set[str] = set()
    for path in sorted(input_dir.iterdir()):
        try:
            frame = read_extract(
                path,
                {
                    "cliëntnummer": "client_id",
                    "clientnummer": "client_id",
                    "geboorte datum": "geboortedatum",
                    "datum aanmelding": "aanmelddatum",
                },
            ).frame
        except ExtractRejected:
            continue  # rejected whole (the round's deliberately bad files): no identifier of it is read on
        for value in (frame["bsn"] if "bsn" in frame.columns else pl.Series([], dtype=pl.Utf8)).drop_nulls().to_list():
            needles.add(value)
            needles.add(value.zfill(9))
        for value in frame["achternaam"].drop_nulls().to_list():
            for part in re.split(r"[ ,]+", value):
                if len(part) >= 5 and part.lower() not in {"afgewezen"}:
                    needles.add(part)
        for value in frame["postcode"].drop_nulls().to_list():
            needles.add(value)
            needles.add(value.replace(" ", "").upper())
    return needles


POSTCODE = re.compile(r"^[0-9]{4} ?[A-Za-z]{2}$")


def trie_alternation(needles: Iterable[bytes]) -> bytes:
    """Return a regular expression matching exactly the ``needles``, factored as a trie
    (``Jan(?:sen|ssen)`` rather than ``Jansen|Janssen``): Python's engine tries a plain
    alternation of thousands of words one by one at every byte, a trie one branch per byte."""
    trie: dict[int, Any] = {}
    for needle in needles:
        node = trie
        for byte in needle:
            node = node.setdefault(byte, {})
        node[-1] = {}  # the end of a needle

    def pattern(node: dict[int, Any]) -> bytes:
        ends = -1 in node
        branches = [re.escape(bytes([byte])) + pattern(child) for byte, child in sorted(node.items()) if byte != -1]
        if not branches:
            return b""
        body = branches[0] if len(branches) == 1 else b"(?:" + b"|".join(branches) + b")"
        return (b"(?:" + body + b")?") if ends else body

    return pattern(trie)


def identifier_pattern(needles: set[str]) -> re.Pattern[bytes]:
    """Return a byte pattern for the needles. Digit-only needles (BSNs) must not touch another
    hex digit, so that 64-character hex pseudonyms, which contain runs of digits by chance,
    cannot match them; a BSN stored as a value still does."""
    digits = sorted((n for n in needles if n.isdigit()), key=len, reverse=True)
    postcodes = sorted((n for n in needles if POSTCODE.match(n)), key=len, reverse=True)
    others = sorted((n for n in needles if not n.isdigit() and not POSTCODE.match(n)), key=len, reverse=True)
    bsn = b"(?<![0-9A-Fa-f])(?:" + trie_alternation(n.encode() for n in digits) + b")(?![0-9A-Fa-f])"
    # a postcode not glued to more hex digits before it or letters after it: a timestamp's
    # microseconds followed by a record byte ("...25.087899" + "XP") is not a postcode, nor is the
    # end of a UUID followed by one in Prefect's SQLite index ("...-967386cc6290" + "BC")
    postcode = b"(?<![0-9A-Fa-f])(?:" + trie_alternation(n.encode() for n in postcodes) + b")(?![A-Za-z])"
    groups = [g for g, present in ((bsn, digits), (postcode, postcodes)) if present]  # an empty one matches anything
    if others:
        groups.append(trie_alternation(n.encode() for n in others))
    return re.compile(b"|".join(groups))


def written_files(run: RoundRun) -> list[Path]:
    return [p for p in run.output.rglob("*") if p.is_file()]


def test_no_plain_identifier_in_any_byte_written(dirty_round: RoundRun):
    needles = plain_identifiers(dirty_round.generated.input_dir)
    assert len(needles) > 1000
    pattern = identifier_pattern(needles)
    some_input = next(p for p in sorted(dirty_round.generated.input_dir.glob("*.csv")))
    assert pattern.search(some_input.read_bytes()), "the scan must find identifiers where they are"
    files = written_files(dirty_round)
    assert any(p.suffix == ".duckdb" for p in files), "the DuckDB store must be scanned"
    assert any("prefect" in p.parts for p in files), "Prefect's home must be scanned"
    for path in files:
        found = pattern.search(path.read_bytes())
        assert found is None, f"{path} holds a plain identifier"
    for stream in (dirty_round.result.stdout, dirty_round.result.stderr):
        assert pattern.search(stream.encode()) is None


def test_no_plain_identifier_in_any_duckdb_text_column(dirty_round: RoundRun):
    needles = plain_identifiers(dirty_round.generated.input_dir)
    stores = [p for p in written_files(dirty_round) if p.suffix == ".duckdb"]
    with duckdb.connect() as con:
        for index, store in enumerate(stores):
            con.execute(f"ATTACH '{store}' AS s{index} (READ_ONLY)")
            columns = con.sql(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_catalog = ? AND data_type = 'VARCHAR'",
                params=[f"s{index}"],
            ).fetchall()
            assert columns
            for table, column in columns:
                values = pl.from_arrow(
                    con.sql(f'SELECT DISTINCT "{column}" AS v FROM s{index}."{table}"').to_arrow_table()
                )
                assert isinstance(values, pl.DataFrame)
                pattern = identifier_pattern({n for n in needles if len(n) >= 8})
                for value in values["v"].drop_nulls().to_list():
                    assert value not in needles, f"{table}.{column} holds a plain identifier"
                    assert pattern.search(value.encode()) is None, f"{table}.{column}"


def test_insurer_outputs_hold_no_person_level_data(dirty_round: RoundRun):
    client_ids: set[str] = set()
    staged = dirty_round.output.rglob("*.entries.parquet")
    for path in staged:
        frame = pl.read_parquet(path)
        client_ids.update(frame["client_id"].to_list())
        tokens = set(frame["bsn_token"].drop_nulls().to_list()) | set(frame["qid_token"].drop_nulls().to_list())
    assert client_ids
    for path in (dirty_round.round_dir / "insurers").iterdir():
        data = path.read_bytes()
        assert not any(c.encode() in data for c in client_ids), path.name
        assert not any(t.encode() in data for t in tokens), path.name


def test_the_key_appears_nowhere_written(dirty_round: RoundRun):
    import base64
    import json as json_module

    from hashing.keys import load_key_file
    from reports.packages import signing_key

    secret = base64.b64decode(json_module.loads(dirty_round.key_file.read_text())["key"])
    signing = signing_key(load_key_file(dirty_round.key_file)).private_bytes_raw()  # derived: never written either
    forms = [form for value in (secret, signing) for form in (value, value.hex().encode(), value.hex().upper().encode(),
             base64.b64encode(value), base64.urlsafe_b64encode(value))]  # fmt: skip
    for path in written_files(dirty_round):
        data = path.read_bytes()
        assert not any(form in data for form in forms), f"{path} holds the key"
    for stream in (dirty_round.result.stdout, dirty_round.result.stderr):
        assert not any(form in stream.encode() for form in forms)


def test_dictionary_attack_on_stored_bsn_pseudonyms_needs_the_key(dirty_round: RoundRun):
    """Hash a sample of the BSN space the way an attacker without the key would (plain
    SHA-256, HMAC under a guessed key) and with the real key: only the key finds them."""
    import base64
    import hashlib
    import hmac
    import json as json_module

    from hashing.keys import load_key_file
    from hashing.pseudonyms import PURPOSE_BSN

    stored: set[str] = set()
    for path in dirty_round.output.rglob("*.entries.parquet"):
        stored |= set(pl.read_parquet(path)["bsn_token"].drop_nulls().to_list())
    real_bsns = sorted(n for n in plain_identifiers(dirty_round.generated.input_dir) if len(n) == 9 and n.isdigit())
    sample = real_bsns[:500] + [f"{n:09d}" for n in range(100_000_000, 100_020_000)]
    guesses = {
        "sha256": lambda v: hashlib.sha256(v).hexdigest(),
        "hmac-guessed-key": lambda v: hmac.new(b"wachtlijst", v, hashlib.sha256).hexdigest(),
    }
    for name, guess in guesses.items():
        assert not {guess(v.encode()) for v in sample} & stored, name
    secret = base64.b64decode(json_module.loads(dirty_round.key_file.read_text())["key"])
    assert secret  # the real key, as the TTP holds it, does find them:
    subkey = load_key_file(dirty_round.key_file).subkey(PURPOSE_BSN)
    found = {hmac.new(subkey, v.encode(), hashlib.sha256).hexdigest() for v in real_bsns[:500]} & stored
    assert len(found) > 400


def test_a_round_that_fails_half_way_leaves_no_identifier_or_key(dirty_round: RoundRun, tmp_path: Path):
    """Staging succeeds, then linking refuses two key versions: every byte the failed run
    wrote (output, staging, DuckDB, Prefect home, its temporary folder, its console) is clean."""
    import base64
    import json as json_module
    import os
    import shutil

    from hashing.keys import create_key_file
    from ingest.prepseudonymised import prepseudonymise_extract
    from tests.conftest import cli

    inbox = tmp_path / "inbox"
    shutil.copytree(dirty_round.generated.input_dir, inbox)
    source = next(p for p in sorted(inbox.glob("wachtlijst_*.csv")))
    stage_one = create_key_file(tmp_path / "stage1.key", purpose="stage1")
    prepseudonymise_extract(source, inbox / "extra.pre.parquet", key=stage_one, aliases={},
                            reference_date=dt.date(2026, 11, 1))  # fmt: skip
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    output = tmp_path / "out"
    result = cli(
        "run", "--input", inbox, "--output", output, "--round", "2026-11",
        "--config", dirty_round.generated.config_file, "--key-file", dirty_round.key_file,
        env={"TMPDIR": str(temporary), "PATH": os.environ.get("PATH", "")},
    )  # fmt: skip
    assert result.returncode == 1 and "key ids" in result.stderr
    written = [p for folder in (output, temporary) for p in folder.rglob("*") if p.is_file()]
    assert any(p.name.endswith(".entries.parquet") for p in written), "staging ran before the failure"
    pattern = identifier_pattern(plain_identifiers(dirty_round.generated.input_dir))
    secret = base64.b64decode(json_module.loads(dirty_round.key_file.read_text())["key"])
    key_forms = [secret, secret.hex().encode(), base64.b64encode(secret)]
    for path in written:
        data = path.read_bytes()
        assert pattern.search(data) is None, f"{path} holds a plain identifier"
        assert not any(form in data for form in key_forms), f"{path} holds the key"
    for stream in (result.stdout, result.stderr):
        assert pattern.search(stream.encode()) is None


@given(
    st.sets(st.text(alphabet="abcAB12 ", min_size=1, max_size=6), min_size=1, max_size=30),
    st.text(alphabet="abcAB12 x", max_size=80),
)
def test_the_trie_pattern_matches_exactly_where_a_needle_occurs(needles: set[str], text: str):
    pattern = re.compile(trie_alternation(n.encode() for n in needles))
    found = {m.start() for m in re.finditer(b"(?=(?:" + pattern.pattern + b"))", text.encode())}
    expected = {i for i in range(len(text)) if any(text.startswith(n, i) for n in needles)}
    assert found == expected
