"""The generated population: persons, providers, their waiting-list entries, how each provider
writes a person's identity, and the typing errors and moves that make linking hard."""

from __future__ import annotations

import numpy as np
import polars as pl

from hashing.bsn import BSN_WEIGHTS
from sample_data.names import FIRST_NAMES, GGZ_CARE_DEMANDS, INSURERS, MSZ_SPECIALISMS, SURNAMES
from sample_data.spec import INTAKE_MISSING_SHARE, RoundSpec


def valid_bsns(rng: np.random.Generator, n: int) -> np.ndarray:
    """Return ``n`` distinct nine-digit BSNs (as strings) that pass the 11-check."""
    prefixes = rng.choice(10**8, size=int(n * 1.2) + 20, replace=False)
    digits = (prefixes[:, None] // 10 ** np.arange(7, -1, -1)) % 10
    total = digits @ np.array(BSN_WEIGHTS[:8])
    check = total % 11
    ok = (check < 10) & (total != 0)
    numbers = prefixes[ok][:n] * 10 + check[ok][:n]
    if len(numbers) < n:  # pragma: no cover - 1.2x oversampling always suffices
        raise RuntimeError("not enough BSNs drawn")
    return np.char.zfill(numbers.astype(str), 9)


def postcodes(rng: np.random.Generator, n: int) -> np.ndarray:
    letters = np.array(list("ABCDEFGHJKLMNPRTVWXZ"))
    digits = rng.integers(1000, 10000, n).astype(str)
    return np.char.add(np.char.add(digits, rng.choice(letters, n)), rng.choice(letters, n))


def generate_persons(spec: RoundSpec, rng: np.random.Generator, n_persons: int) -> pl.DataFrame:
    ref = np.datetime64(spec.reference_date)
    surname_idx = rng.integers(0, len(SURNAMES), n_persons)
    sector = np.where(rng.random(n_persons) < 0.7, "ggz", "msz")
    age_days = np.where(
        sector == "ggz", rng.integers(6 * 365, 80 * 365, n_persons), rng.integers(365, 95 * 365, n_persons)
    )
    kind_draw = rng.random(n_persons)
    kind = np.where(
        kind_draw < spec.double_share,
        "double",
        np.where(kind_draw < spec.double_share + spec.internal_share, "internal", "single"),
    )
    n_double = rng.choice([2, 3, 4], n_persons, p=[0.75, 0.18, 0.07])
    codes, shares = zip(*INSURERS, strict=True)
    return pl.DataFrame(
        {
            "person_id": np.arange(n_persons, dtype=np.int64),
            "bsn": valid_bsns(rng, n_persons),
            "tussenvoegsel": [SURNAMES[i][0] for i in surname_idx],
            "achternaam": [SURNAMES[i][1] for i in surname_idx],
            "voornaam": rng.choice(np.array(FIRST_NAMES), n_persons),
            "geslacht": rng.choice(np.array(["M", "V", "X"]), n_persons, p=[0.48, 0.5, 0.02]),
            "geboortedatum": (ref - age_days.astype("timedelta64[D]")).astype("datetime64[D]"),
            "postcode": postcodes(rng, n_persons),
            "uzovi": rng.choice(np.array(codes), n_persons, p=np.array(shares) / sum(shares)),
            "sector": sector,
            "kind": kind,
            "n_entries": np.where(kind == "double", n_double, np.where(kind == "internal", 2, 1)),
            "specialism": rng.choice(np.array(MSZ_SPECIALISMS), n_persons),
            "provider_offset": rng.integers(0, 10**6, n_persons),
        }
    )


def generate_providers(spec: RoundSpec) -> pl.DataFrame:
    index = np.arange(spec.providers)
    sector = np.where(index % 3 == 2, "msz", "ggz")
    agb = [f"{'06' if s == 'msz' else '22'}{100001 + i:06d}" for i, s in zip(index, sector, strict=True)]
    return pl.DataFrame({"provider_index": index, "provider": agb, "provider_sector": sector})


def generate_entries(
    spec: RoundSpec, rng: np.random.Generator, persons: pl.DataFrame, providers: pl.DataFrame
) -> pl.DataFrame:
    by_sector = {s: providers.filter(pl.col("provider_sector") == s)["provider"].to_list() for s in ("ggz", "msz")}
    exploded = persons.with_columns(pl.int_ranges(0, pl.col("n_entries")).alias("entry_number")).explode("entry_number")
    n = exploded.height
    offsets = exploded["provider_offset"].to_numpy()
    numbers = exploded["entry_number"].to_numpy()
    kinds = exploded["kind"].to_numpy()
    step = np.where(kinds == "double", numbers, 0)
    provider = np.empty(n, dtype=object)
    for sector, agbs in by_sector.items():
        mask = exploded["sector"].to_numpy() == sector
        provider[mask] = np.array(agbs, dtype=object)[(offsets[mask] + step[mask]) % len(agbs)]
    ref = np.datetime64(spec.reference_date)
    waited = np.minimum(rng.exponential(75, n).astype(int), 700)
    aanmeld = (ref - waited.astype("timedelta64[D]")).astype("datetime64[D]")
    born = exploded["geboortedatum"].to_numpy().astype("datetime64[D]")
    aanmeld = np.maximum(aanmeld, born)
    ggz_demand = rng.choice(np.array(GGZ_CARE_DEMANDS), n)
    # intake dates from a stream of their own, so that adding them changed no other draw
    intake_rng = np.random.default_rng([spec.seed, 7])
    since = (ref - aanmeld).astype(np.int64)
    intake = aanmeld + (intake_rng.uniform(0.1, 0.9, n) * since).astype(np.int64).astype("timedelta64[D]")
    intake_missing = intake_rng.random(n) < INTAKE_MISSING_SHARE
    return (
        exploded.with_columns(
            pl.Series("provider", provider, dtype=pl.Utf8),
            pl.Series("aanmelddatum", aanmeld),
            pl.Series("verwijsdatum", np.maximum(aanmeld - rng.integers(0, 40, n).astype("timedelta64[D]"), born)),
            pl.Series("wachtfase", np.where(rng.random(n) < 0.65, "aanmelding", "behandeling")),
            pl.when(pl.col("sector") == "msz")
            .then(pl.col("specialism"))
            .otherwise(pl.Series(ggz_demand))
            .alias("zorgvraag"),
            pl.Series("bsn_draw", rng.random(n)),
            pl.Series("style_draw", rng.random(n)),
            pl.Series("postcode_draw", rng.random(n)),
        )
        .with_columns(
            pl.when((pl.col("wachtfase") == "behandeling") & ~pl.Series(intake_missing))
            .then(pl.Series(intake.astype("datetime64[D]")))
            .alias("intakedatum")
        )
        .drop("specialism", "provider_offset", "entry_number")
    )


def render_identity(entries: pl.DataFrame, spec: RoundSpec) -> pl.DataFrame:
    """Return entries with BSN, name and postcode written as EHRs write them, variants included."""
    missing = pl.col("bsn_draw") < spec.missing_bsn_share
    invalid = (pl.col("bsn_draw") >= spec.missing_bsn_share) & (
        pl.col("bsn_draw") < spec.missing_bsn_share + spec.invalid_bsn_share
    )
    last_digit = pl.col("bsn").str.slice(8, 1).cast(pl.Int32)
    corrupted = pl.col("bsn").str.slice(0, 8) + ((last_digit + 1) % 10).cast(pl.Utf8)
    bsn = (
        pl.when(missing)
        .then(None)
        .when(invalid)
        .then(corrupted)
        .when(pl.col("bsn").str.starts_with("0") & (pl.col("style_draw") < 0.5))
        .then(pl.col("bsn").str.slice(1))
        .otherwise(pl.col("bsn"))
    )
    style = pl.col("style_draw")
    has_prefix = pl.col("tussenvoegsel") != ""
    achternaam = (
        pl.when(has_prefix & (style < 0.25))
        .then(pl.col("tussenvoegsel") + " " + pl.col("achternaam"))
        .when(has_prefix & (style < 0.35))
        .then(pl.col("achternaam") + ", " + pl.col("tussenvoegsel"))
        .when(style > 0.93)
        .then(pl.col("achternaam").str.to_uppercase())
        .otherwise(pl.col("achternaam"))
    )
    tussenvoegsel = pl.when(has_prefix & (style >= 0.35)).then(pl.col("tussenvoegsel")).otherwise(None)
    postcode = (
        pl.when(pl.col("postcode_draw") < 0.03)
        .then(None)
        .when(pl.col("postcode_draw") < 0.25)
        .then(pl.col("postcode").str.slice(0, 4) + " " + pl.col("postcode").str.slice(4).str.to_lowercase())
        .otherwise(pl.col("postcode"))
    )
    return entries.with_columns(
        bsn.alias("bsn_written"),
        achternaam.alias("achternaam_written"),
        tussenvoegsel.alias("tussenvoegsel_written"),
        postcode.alias("postcode_written"),
        pl.when(missing)
        .then(pl.lit("missing"))
        .when(invalid)
        .then(pl.lit("invalid"))
        .otherwise(pl.lit("valid"))
        .alias("bsn_truth"),
    )


def typo(text: str, draw: float, position: float) -> str:
    """Return ``text`` with one typing error: a letter swapped, dropped, doubled or replaced."""
    if len(text) < 3:
        return text
    i = 1 + int(position * (len(text) - 2))
    if draw < 0.25:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if draw < 0.5:
        return text[:i] + text[i + 1 :]
    if draw < 0.75:
        return text[:i] + text[i] + text[i:]
    replacement = "e" if text[i] != "e" else "a"
    return text[:i] + replacement + text[i + 1 :]


def add_noise(entries: pl.DataFrame, spec: RoundSpec, rng: np.random.Generator) -> pl.DataFrame:
    """Return entries with the errors of real extracts: typos in names, a first name left out,
    a postcode after a move, day and month of birth swapped or a day mistyped."""
    n = entries.height
    draws = {name: rng.random(n) for name in ("sn", "fn", "fn_missing", "pc", "swap", "day", "kind", "pos")}
    kind, pos = draws["kind"], draws["pos"]
    surnames = entries["achternaam_written"].to_list()
    first_names = entries["voornaam"].to_list()
    for i in np.flatnonzero(draws["sn"] < spec.surname_typo_share):
        surnames[i] = typo(surnames[i], kind[i], pos[i])
    for i in np.flatnonzero(draws["fn"] < spec.first_name_typo_share):
        first_names[i] = typo(first_names[i], kind[i], pos[i])
    for i in np.flatnonzero(draws["fn_missing"] < spec.first_name_missing_share):
        first_names[i] = None
    moved = pl.lit(pl.Series(draws["pc"] < spec.postcode_move_share))
    new_postcodes = pl.lit(pl.Series(postcodes(rng, n)))
    born = pl.col("geboortedatum")
    old_enough = (pl.col("aanmelddatum") - born).dt.total_days() > 400
    swap = pl.lit(pl.Series(draws["swap"] < spec.dob_swap_share)) & (born.dt.day() <= 12)
    swap = swap & (born.dt.day() != born.dt.month())
    retype = pl.lit(pl.Series(draws["day"] < spec.dob_typo_share)) & (born.dt.day() < 28)
    safe_month = pl.when(born.dt.day() <= 12).then(born.dt.day()).otherwise(1)
    swapped = pl.date(born.dt.year(), safe_month, born.dt.month())
    return entries.with_columns(
        pl.Series("achternaam_written", surnames, dtype=pl.Utf8),
        pl.Series("voornaam", first_names, dtype=pl.Utf8),
        pl.when(moved).then(new_postcodes).otherwise(pl.col("postcode_written")).alias("postcode_written"),
        pl.when(swap & old_enough)
        .then(swapped)
        .when(retype & old_enough)
        .then(born + pl.duration(days=1))
        .otherwise(born)
        .alias("geboortedatum"),
    )
