"""The naive baseline of the scaling benchmark: what a short script would do to find double
waiters (pandas reading, a per-row ``hmac.new`` loop, an exact-key pandas dedupe), timed side by
side with the pipeline's keyed hasher and a DuckDB group-by on the same values."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import resource
import time
from pathlib import Path
from typing import Any

ALIASES = {"cliëntnummer": "client_id", "geboorte datum": "geboortedatum", "datum aanmelding": "aanmelddatum"}


def _read_naively(path: Path) -> Any:
    """Return the extract at ``path`` as a pandas frame of text, read the way a short script would."""
    import pandas as pd

    if path.suffix == ".parquet":
        frame = pd.read_parquet(path).astype("string")
    elif path.suffix == ".xlsx":
        frame = pd.read_excel(path, dtype=str)
    else:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252")
        separator = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=";,").delimiter
        frame = pd.read_csv(io.StringIO(text), sep=separator, dtype=str)
    frame.columns = [ALIASES.get(str(c).strip().lower(), str(c).strip().lower()) for c in frame.columns]
    return frame


def run_naive_baseline(target: Path) -> dict[str, Any]:
    """Find double waiters the naive way (pandas reading, a per-row ``hmac.new`` loop, an
    exact-key pandas dedupe) and, on the same values in this process, with the pipeline's keyed
    hasher and a DuckDB group-by; return seconds per step of both and what each found."""
    import duckdb
    import pandas as pd
    import polars as pl

    from hashing.keys import load_key_file
    from hashing.pseudonyms import PURPOSE_BSN, pseudonymise_series

    key = load_key_file(target / "ttp.key")
    subkey = key.subkey(PURPOSE_BSN)
    started = time.perf_counter()
    frames = []
    for path in sorted((target / "input").rglob("*")):
        if path.suffix not in (".csv", ".xlsx", ".parquet"):
            continue
        try:
            frame = _read_naively(path)
            frames.append(frame[["agb_code", "bsn", "achternaam", "geboortedatum", "postcode"]])
        except Exception:  # a naive script skips what it cannot read
            continue
    entries = pd.concat(frames, ignore_index=True)
    read = time.perf_counter()
    values = [_naive_key(*row) for row in zip(entries["bsn"], entries["achternaam"], entries["geboortedatum"],
                                              entries["postcode"], strict=True)]  # fmt: skip
    keyed = time.perf_counter()
    entries["token"] = [hmac.new(subkey, value.encode(), hashlib.sha256).hexdigest() for value in values]
    pseudonymised = time.perf_counter()
    per_person = entries.groupby("token")["agb_code"].nunique()
    double = int((per_person > 1).sum())
    deduped = time.perf_counter()
    ours = pseudonymise_series(pl.Series("value", values), key, PURPOSE_BSN)
    ours_pseudonymised = time.perf_counter()
    con = duckdb.connect()
    con.register("tokens", pl.DataFrame({"token": ours, "agb_code": entries["agb_code"].astype(str).tolist()}))
    ours_double = con.execute(
        "SELECT count(*) FROM (SELECT token FROM tokens GROUP BY token HAVING count(DISTINCT agb_code) > 1)"
    ).fetchall()[0][0]
    ours_deduped = time.perf_counter()
    if ours.to_list() != entries["token"].tolist() or ours_double != double:
        raise AssertionError("the keyed hasher and the HMAC loop, or the two dedupes, disagree")
    return {
        "read_s": round(read - started, 2),
        "keys_s": round(keyed - read, 3),
        "pseudonymise_s": round(pseudonymised - keyed, 3),
        "dedupe_s": round(deduped - pseudonymised, 3),
        "seconds": round(deduped - started, 2),
        "ours_pseudonymise_s": round(ours_pseudonymised - deduped, 3),
        "ours_dedupe_s": round(ours_deduped - ours_pseudonymised, 3),
        "entries": len(entries),
        "double_waiters": double,
        "peak_process_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _naive_key(bsn: object, surname: object, birth: object, postcode: object) -> str:
    """Return the exact key a short script would match on: the BSN's digits, else surname,
    birth date and postcode as written."""
    digits = "".join(ch for ch in bsn if ch.isdigit()) if isinstance(bsn, str) else ""
    return digits if len(digits) == 9 else f"{str(surname).lower()}|{birth}|{postcode}"
