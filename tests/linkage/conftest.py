import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from flows.settings import DEFAULT_MATCH_SCOPE, DEFAULT_NORMS_WEEKS
from hashing.bsn import BSN_WEIGHTS
from hashing.keys import PseudonymKey
from hashing.pseudonyms import pseudonymise_entries
from linkage.parameters import LinkageParameters
from linkage.store import link_round, load_linking_table, open_store
from sample_data.names import FIRST_NAMES, SURNAMES

PEIL = dt.date(2026, 11, 1)
NORM_DAYS = {(s, p): w * 7 for s, phases in DEFAULT_NORMS_WEEKS.items() for p, w in phases.items()}
KEY = PseudonymKey("ktest", b"t" * 32)


def valid_bsn(number: int) -> str:
    """Return the valid BSN whose first eight digits are ``number``."""
    prefix = f"{number:08d}"
    for last in range(10):
        total = sum(int(d) * w for d, w in zip(prefix + str(last), BSN_WEIGHTS, strict=True))
        if total % 11 == 0 and total != 0:
            return prefix + str(last)
    return valid_bsn(number + 1)


def person(
    provider: str,
    client: str,
    bsn: str | None,
    surname: str,
    first: str,
    born: dt.date,
    postcode: str | None,
    **extra: object,
) -> dict[str, object]:
    """Return one accepted row as validation gives it, plain identifiers included."""
    row: dict[str, object] = {
        "source_row": 1,
        "agb_code": provider,
        "client_id": client,
        "bsn": bsn,
        "bsn_status": "valid" if bsn else "missing",
        "geboortedatum": born,
        "achternaam": surname,
        "tussenvoegsel": None,
        "voornaam": first,
        "voorletters": None,
        "geslacht": "V",
        "postcode": postcode,
        "huisnummer": None,
        "uzovi": "3311",
        "sector": "ggz",
        "zorgvraag": None,
        "verwijsdatum": None,
        "aanmelddatum": dt.date(2026, 10, 1),
        "wachtfase": "aanmelding",
        "peildatum": PEIL,
    }
    row.update(extra)
    return row


def background(count: int = 300, seed: int = 5) -> list[dict[str, object]]:
    """Return ``count`` persons with a BSN, each waiting at two providers: labelled matches
    from which the model learns, and a population for random pairs. As in real extracts,
    some second entries carry a moved postcode, a swapped birth date or a typo."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(count):
        prefix, name = SURNAMES[int(rng.integers(len(SURNAMES)))]
        surname = f"{prefix} {name}".strip()
        first = FIRST_NAMES[int(rng.integers(len(FIRST_NAMES)))]
        born = dt.date(1940, 1, 1) + dt.timedelta(days=int(rng.integers(0, 25_000)))
        postcode = f"{rng.integers(1000, 9999)}{'ABCDEFGHJK'[i % 10]}{'LMNPRTVWXZ'[(i // 10) % 10]}"
        bsn = valid_bsn(10_000_000 + i * 7)
        rows.append(person("21000001", f"BG{i}", bsn, surname, first, born, postcode))
        second = {"surname": surname, "born": born, "postcode": postcode}
        if i % 10 == 3:
            second["postcode"] = f"{rng.integers(1000, 9999)}ZZ"
        if i % 12 == 5 and born.day <= 12:
            second["born"] = dt.date(born.year, born.day, born.month)
        if i % 15 == 7:
            second["surname"] = surname[:-2] + surname[-1] + surname[-2]
        rows.append(person("21000002", f"BH{i}", bsn, first=first, **second))
    return rows


@pytest.fixture
def link(tmp_path: Path) -> Iterator[Callable[..., duckdb.DuckDBPyConnection]]:
    """Yield a function that pseudonymises rows, links them and returns the store."""
    opened: list[duckdb.DuckDBPyConnection] = []

    def run(
        rows: list[dict[str, object]],
        locations: dict[str, str] | None = None,
        parameters: LinkageParameters | None = None,
        keep_linking_table: bool = False,
    ) -> duckdb.DuckDBPyConnection:
        frame = pl.DataFrame(rows, infer_schema_length=None).with_columns(
            pl.int_range(1, len(rows) + 1).cast(pl.Int64).alias("source_row"), pl.col(pl.Null).cast(pl.Utf8)
        )
        entries = pseudonymise_entries(frame, KEY).with_columns(
            pl.lit("f.csv").alias("source_file"), pl.lit("0" * 64).alias("file_sha256")
        )
        staged = tmp_path / "staged.parquet"
        entries.write_parquet(staged)
        con = open_store(tmp_path / "round.duckdb")
        opened.append(con)
        link_round(
            con,
            [staged],
            match_scope=DEFAULT_MATCH_SCOPE,
            norm_days=NORM_DAYS,
            locations=locations or {},
            reference_date=PEIL,
            parameters=parameters,
        )
        if keep_linking_table:  # the store keeps no encodings: load them again to rerun a linking step
            load_linking_table(con, [staged])
        return con

    yield run
    for con in opened:
        con.close()
