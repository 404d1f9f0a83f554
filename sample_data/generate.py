"""Generator of a realistic cleanup round: provider extracts in every format, with its truth.

The truth is computed here from the generator's own person ids, independently of the
pipeline's linking code, so tests can compare every output count with it.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import shutil
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from hashing.bsn import BSN_WEIGHTS
from ingest.columns import DEFAULT_NORMS_WEEKS
from sample_data.names import FIRST_NAMES, GGZ_CARE_DEMANDS, INSURERS, MSZ_SPECIALISMS, SURNAMES

FORMATS: tuple[str, ...] = ("csv-semicolon-bom", "csv-comma-cp1252", "xlsx", "parquet", "csv-semicolon")
INTAKE_MISSING_SHARE = 0.1
"""Share of entries in the treatment phase delivered without an intake date."""


ALIASES = {"Cliëntnummer": "client_id", "Geboorte datum": "geboortedatum", "Datum aanmelding": "aanmelddatum"}
BAD_ROW_KINDS: tuple[str, ...] = (
    "agb_code_invalid",
    "client_id_missing",
    "geboortedatum_invalid",
    "geboortedatum_missing",
    "achternaam_missing",
    "uzovi_invalid",
    "sector_invalid",
    "aanmelddatum_future",
    "aanmelddatum_before_geboortedatum",
    "wachtfase_invalid",
)


@dataclass(frozen=True)
class RoundSpec:
    """What to generate. Shares are of persons (double, internal) or of entries (BSN)."""

    entries: int = 5_000
    providers: int = 24
    seed: int = 20261101
    reference_date: dt.date = dt.date(2026, 11, 1)
    double_share: float = 0.12
    internal_share: float = 0.02
    missing_bsn_share: float = 0.04
    invalid_bsn_share: float = 0.02
    bad_rows_per_kind: int = 2
    surname_typo_share: float = 0.03
    first_name_typo_share: float = 0.03
    first_name_missing_share: float = 0.05
    postcode_move_share: float = 0.03
    dob_swap_share: float = 0.01
    dob_typo_share: float = 0.01
    bad_files: bool = True
    formats: tuple[str, ...] = FORMATS
    sender_folders: bool = False
    """Each provider's file in ``input/<organisation>/`` (extract format v2), not flat."""
    registry: bool = False
    """Write ``deelnemers.csv`` (the provider registry) and name it in the config."""


@dataclass
class GeneratedRound:
    """Paths of a generated round and its truth frames."""

    input_dir: Path
    config_file: Path
    truth_dir: Path
    providers: list[str]
    location_of: dict[str, str]
    truth: dict[str, pl.DataFrame] = field(default_factory=dict)
    expected_files: dict[str, dict[str, object]] = field(default_factory=dict)
    registry_file: Path | None = None
    names: dict[str, str] = field(default_factory=dict)


def _valid_bsns(rng: np.random.Generator, n: int) -> np.ndarray:
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


def _postcodes(rng: np.random.Generator, n: int) -> np.ndarray:
    letters = np.array(list("ABCDEFGHJKLMNPRTVWXZ"))
    digits = rng.integers(1000, 10000, n).astype(str)
    return np.char.add(np.char.add(digits, rng.choice(letters, n)), rng.choice(letters, n))


def _fold_unencodable(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: write a character Windows-1252 lacks without its accents, as EHRs do."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = error.object[error.start : error.end]
    folded = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return "".join(c if c.encode("cp1252", errors="ignore") else "?" for c in folded), error.end


codecs.register_error("wachtlijst-fold", _fold_unencodable)


def _persons(spec: RoundSpec, rng: np.random.Generator, n_persons: int) -> pl.DataFrame:
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
            "bsn": _valid_bsns(rng, n_persons),
            "tussenvoegsel": [SURNAMES[i][0] for i in surname_idx],
            "achternaam": [SURNAMES[i][1] for i in surname_idx],
            "voornaam": rng.choice(np.array(FIRST_NAMES), n_persons),
            "geslacht": rng.choice(np.array(["M", "V", "X"]), n_persons, p=[0.48, 0.5, 0.02]),
            "geboortedatum": (ref - age_days.astype("timedelta64[D]")).astype("datetime64[D]"),
            "postcode": _postcodes(rng, n_persons),
            "uzovi": rng.choice(np.array(codes), n_persons, p=np.array(shares) / sum(shares)),
            "sector": sector,
            "kind": kind,
            "n_entries": np.where(kind == "double", n_double, np.where(kind == "internal", 2, 1)),
            "specialism": rng.choice(np.array(MSZ_SPECIALISMS), n_persons),
            "provider_offset": rng.integers(0, 10**6, n_persons),
        }
    )


def _providers(spec: RoundSpec) -> pl.DataFrame:
    index = np.arange(spec.providers)
    sector = np.where(index % 3 == 2, "msz", "ggz")
    agb = [f"{'06' if s == 'msz' else '22'}{100001 + i:06d}" for i, s in zip(index, sector, strict=True)]
    return pl.DataFrame({"provider_index": index, "provider": agb, "provider_sector": sector})


def _entries(spec: RoundSpec, rng: np.random.Generator, persons: pl.DataFrame, providers: pl.DataFrame) -> pl.DataFrame:
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


def _render_identity(entries: pl.DataFrame, spec: RoundSpec) -> pl.DataFrame:
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


def _add_noise(entries: pl.DataFrame, spec: RoundSpec, rng: np.random.Generator) -> pl.DataFrame:
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
    new_postcodes = pl.lit(pl.Series(_postcodes(rng, n)))
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


def _bad_row_changes(reference_date: dt.date) -> dict[str, dict[str, object]]:
    """Return, per kind of bad row, what it changes in a good row."""
    return {
        "agb_code_invalid": {"agb_code": "12345"},
        "client_id_missing": {"client_id": None},
        "geboortedatum_invalid": {"date_override": "geboortedatum=31-02-1980"},
        "geboortedatum_missing": {"geboortedatum": None},
        "achternaam_missing": {"achternaam_written": None},
        "uzovi_invalid": {"uzovi": "33X1"},
        "sector_invalid": {"sector": "ggzz"},
        "aanmelddatum_future": {"aanmelddatum": reference_date + dt.timedelta(days=30)},
        "aanmelddatum_before_geboortedatum": {"aanmelddatum": dt.date(1975, 1, 1)},
        "wachtfase_invalid": {"wachtfase": "intake"},
    }


def _bad_rows(
    spec: RoundSpec, rng: np.random.Generator, providers: list[str], csv_providers: list[str]
) -> pl.DataFrame:
    rows = []
    ref = spec.reference_date
    for kind in BAD_ROW_KINDS:
        for number in range(spec.bad_rows_per_kind):
            # a text date that cannot exist only fits a CSV; native date cells cannot hold it
            pool = csv_providers if kind == "geboortedatum_invalid" else providers
            provider = pool[int(rng.integers(0, len(pool)))]
            row = {
                "provider": provider,
                "agb_code": provider,
                "client_id": f"X{kind[:3].upper()}{number:04d}{provider[-3:]}",
                "bsn_written": None,
                "achternaam_written": "Afgewezen",
                "tussenvoegsel_written": None,
                "voornaam": "Rij",
                "geslacht": "O",
                "postcode_written": None,
                "geboortedatum": dt.date(1980, 5, 17),
                "aanmelddatum": ref - dt.timedelta(days=20),
                "verwijsdatum": None,
                "uzovi": "3311",
                "sector": "msz" if provider.startswith("06") else "ggz",
                "zorgvraag": "0301" if provider.startswith("06") else "angst",
                "wachtfase": "aanmelding",
                "intakedatum": None,
                "expected_reason": kind,
                "date_override": None,
            }
            rows.append(row | _bad_row_changes(ref).get(kind, {}))
    return pl.DataFrame(rows, infer_schema_length=None)


WorkbookWriter = Callable[[pl.DataFrame], bytes]
"""Returns the .xlsx bytes of a table (dates as date cells); the default is xlsxwriter's."""


def _write_extract(
    frame: pl.DataFrame,
    path: Path,
    fmt: str,
    date_format: str,
    headers: dict[str, str],
    workbook: WorkbookWriter | None = None,
) -> None:
    dates = ("geboortedatum", "aanmelddatum", "verwijsdatum", "peildatum", "intakedatum")
    if fmt in ("xlsx", "parquet"):
        out = frame.rename(headers)
        if fmt == "xlsx" and workbook is not None:
            path.write_bytes(workbook(out))
        elif fmt == "xlsx":
            out.write_excel(path, autofit=False)
        else:
            out.write_parquet(path)
        return
    text_frame = frame.with_columns([pl.col(c).dt.to_string(date_format) for c in dates if c in frame.columns])
    if "date_override" in text_frame.columns:
        text_frame = text_frame.with_columns(
            pl.when(pl.col("date_override").str.starts_with("geboortedatum="))
            .then(pl.col("date_override").str.slice(len("geboortedatum=")))
            .otherwise(pl.col("geboortedatum"))
            .alias("geboortedatum")
        ).drop("date_override")
    text_frame = text_frame.rename(headers)
    separator = "," if "comma" in fmt else ";"
    text = text_frame.write_csv(separator=separator)
    if "cp1252" in fmt:
        data = text.encode("cp1252", errors="wachtlijst-fold")
    elif "bom" in fmt:
        data = b"\xef\xbb\xbf" + text.encode("utf-8")
    else:
        data = text.encode("utf-8")
    path.write_bytes(data)


EXTRACT_COLUMNS = (
    "agb_code",
    "client_id",
    "bsn",
    "achternaam",
    "tussenvoegsel",
    "voornaam",
    "geslacht",
    "geboortedatum",
    "postcode",
    "uzovi",
    "sector",
    "zorgvraag",
    "verwijsdatum",
    "aanmelddatum",
    "wachtfase",
    "intakedatum",
)


def generate_round(
    out_dir: Path, spec: RoundSpec = RoundSpec(), workbook: WorkbookWriter | None = None
) -> GeneratedRound:
    """Write a round's extracts to ``out_dir/input``, a config and the truth; return them.

    ``workbook`` writes the .xlsx extracts (default: polars' xlsxwriter export, cell by cell;
    a national-size benchmark passes a column-wise writer).

    Every provider delivers one file, in a format taken in turn from ``spec.formats``.
    Provider 1 uses EHR column names mapped by aliases in the config; provider 0 has a
    second location mapped to it. With ``bad_files`` a file without a required column,
    an unreadable .xlsx, a .txt and an exact copy of a file are added.
    """
    rng = np.random.default_rng(spec.seed)
    input_dir, truth_dir = out_dir / "input", out_dir / "truth"
    for folder in (input_dir, truth_dir):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    mean_entries = 1 + spec.double_share * 1.32 + spec.internal_share
    n_persons = max(10, int(spec.entries / mean_entries))
    persons = _persons(spec, rng, n_persons)
    provider_frame = _providers(spec)
    providers = provider_frame["provider"].to_list()
    location = f"{providers[0][:2]}9{providers[0][3:]}"
    location_of = {location: providers[0]}
    entries = _add_noise(_render_identity(_entries(spec, rng, persons, provider_frame), spec), spec, rng)
    entries = entries.with_columns(
        pl.when((pl.col("provider") == providers[0]) & (pl.col("style_draw") > 0.7))
        .then(pl.lit(location))
        .otherwise(pl.col("provider"))
        .alias("agb_code"),
        pl.lit(None, dtype=pl.Utf8).alias("expected_reason"),
        pl.lit(None, dtype=pl.Utf8).alias("date_override"),
    )
    entries = entries.with_columns(
        (
            pl.lit("C")
            + pl.col("provider").str.slice(5)
            + pl.lit("-")
            + (pl.int_range(pl.len()).over("provider") + 1).cast(pl.Utf8).str.zfill(7)
        ).alias("client_id")
    )
    csv_providers = [p for i, p in enumerate(providers) if spec.formats[i % len(spec.formats)].startswith("csv")]
    bad = _bad_rows(spec, rng, providers, csv_providers or providers) if spec.bad_rows_per_kind else None
    columns = [
        "provider",
        "agb_code",
        "client_id",
        "bsn_written",
        "achternaam_written",
        "tussenvoegsel_written",
        "voornaam",
        "geslacht",
        "geboortedatum",
        "postcode_written",
        "uzovi",
        "sector",
        "zorgvraag",
        "verwijsdatum",
        "aanmelddatum",
        "wachtfase",
        "intakedatum",
        "expected_reason",
        "date_override",
    ]
    rows = entries.select(columns)
    if bad is not None:
        rows = pl.concat([rows, bad.select(columns)], how="vertical_relaxed")
    rows = rows.rename(
        {
            "bsn_written": "bsn",
            "achternaam_written": "achternaam",
            "tussenvoegsel_written": "tussenvoegsel",
            "postcode_written": "postcode",
        }
    )
    rows = (
        rows.with_columns(pl.int_range(pl.len()).shuffle(seed=spec.seed).over("provider").alias("_order"))
        .sort("provider", "_order")
        .drop("_order")
    )
    date_formats = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y")
    expected_files: dict[str, dict[str, object]] = {}

    def folder_of(provider: str) -> str:
        return f"{provider}/" if spec.sender_folders else ""

    rows_of = rows.partition_by("provider", as_dict=True)
    for index, provider in enumerate(providers):
        fmt = spec.formats[index % len(spec.formats)]
        suffix = {"xlsx": ".xlsx", "parquet": ".parquet"}.get(fmt, ".csv")
        name = f"{folder_of(provider)}wachtlijst_{provider}{suffix}"
        (input_dir / name).parent.mkdir(parents=True, exist_ok=True)
        own = rows_of.get((provider,), rows.clear())
        headers = {column: column for column in EXTRACT_COLUMNS}
        if index == 1:
            headers.update(
                {"client_id": "Cliëntnummer", "geboortedatum": "Geboorte datum", "aanmelddatum": "Datum aanmelding"}
            )
        if index == 2:
            headers.update({"agb_code": " AGB_Code ", "bsn": "BSN"})
        keep = [*EXTRACT_COLUMNS, "date_override"] if fmt.startswith("csv") else list(EXTRACT_COLUMNS)
        extract = own.select(keep)
        _write_extract(extract, input_dir / name, fmt, date_formats[index % 3], headers, workbook)
        reasons = own.filter(pl.col("expected_reason").is_not_null()).group_by("expected_reason").len()
        expected_files[name] = {
            "rows_received": own.height,
            "rows_rejected": int(own["expected_reason"].is_not_null().sum()),
            "rejected_by_reason": dict(
                zip(reasons["expected_reason"].to_list(), reasons["len"].to_list(), strict=True)
            ),
        }
    if spec.bad_files:
        first_csv = next(p for p in sorted(input_dir.rglob("*.csv")))
        first_name = first_csv.relative_to(input_dir).as_posix()
        bad_dir = folder_of(first_csv.parent.name) if spec.sender_folders else ""
        copy_name = f"{bad_dir}herlevering_{first_csv.name}"
        shutil.copyfile(first_csv, input_dir / copy_name)
        # of two files with the same content, the one later in path order is the duplicate
        original, duplicate = sorted([first_name, copy_name])
        expected_files[original] = expected_files.pop(first_name)
        (input_dir / f"{bad_dir}toelichting.txt").write_text("Geen extract, een notitie.\n", encoding="utf-8")
        (input_dir / f"{bad_dir}kapot_bestand.xlsx").write_bytes(np.random.default_rng(1).bytes(2048))
        incomplete = (
            rows.filter(pl.col("expected_reason").is_null())
            .head(3)
            .select([c for c in EXTRACT_COLUMNS if c != "aanmelddatum"])
        )
        _write_extract(incomplete, input_dir / f"{bad_dir}onvolledig.csv", "csv-semicolon", "%Y-%m-%d",
                       {c: c for c in incomplete.columns})  # fmt: skip
        expected_files.update(
            {
                duplicate: {"status": "rejected", "reason": "duplicate_content"},
                f"{bad_dir}toelichting.txt": {"status": "rejected", "reason": "unsupported_format"},
                f"{bad_dir}kapot_bestand.xlsx": {"status": "rejected", "reason": "unreadable"},
                f"{bad_dir}onvolledig.csv": {"status": "rejected", "reason": "missing_columns"},
            }
        )
    names = provider_names(provider_frame, location_of)
    registry_file = (
        write_registry(out_dir / "deelnemers.csv", provider_frame, location_of, names) if spec.registry else None
    )
    config_file = out_dir / "config.toml"
    config_file.write_text(_config_text(spec, providers, location_of), encoding="utf-8")
    (out_dir / "recipients").mkdir(exist_ok=True)  # named in the config; the keys are added by whoever runs it
    generated = GeneratedRound(
        input_dir=input_dir,
        config_file=config_file,
        truth_dir=truth_dir,
        providers=providers,
        location_of=location_of,
        expected_files=expected_files,
        registry_file=registry_file,
        names=names,
    )
    generated.truth = compute_truth(entries, spec.reference_date, rows)
    for name, frame in generated.truth.items():
        frame.write_parquet(truth_dir / f"{name}.parquet")
    (truth_dir / "files.json").write_text(json.dumps(expected_files, indent=2, sort_keys=True), encoding="utf-8")
    return generated


def _config_text(spec: RoundSpec, providers: list[str], location_of: dict[str, str]) -> str:
    lines = [
        "# Configuration written by the sample-data generator.",
        f"reference_date = {spec.reference_date.isoformat()}",
        "disclosure_threshold = 10",
        "",
        "[locations]",
        *[f'"{loc}" = "{org}"' for loc, org in location_of.items()],
        "",
        f'[providers."{providers[1]}"]',
        'name = "Aanbieder met eigen kolomnamen"',
        "column_aliases = { " + ", ".join(f'"{k}" = "{v}"' for k, v in ALIASES.items()) + " }",
        "",
        "[paths]",
        'recipients = "recipients"',
        *(['registry = "deelnemers.csv"'] if spec.registry else []),
        "",
    ]
    return "\n".join(lines)


PLACES: tuple[str, ...] = (
    "Amsterdam", "Rotterdam", "Utrecht", "Groningen", "Eindhoven", "Tilburg", "Almere", "Breda", "Nijmegen",
    "Apeldoorn", "Haarlem", "Arnhem", "Enschede", "Amersfoort", "Zaanstad", "Den Bosch", "Zwolle", "Leiden",
    "Maastricht", "Dordrecht", "Zoetermeer", "Deventer", "Delft", "Alkmaar", "Venlo", "Leeuwarden", "Heerlen",
    "Hilversum", "Assen", "Emmen",
)  # fmt: skip


def provider_names(provider_frame: pl.DataFrame, location_of: dict[str, str]) -> dict[str, str]:
    """Return a readable name for each generated provider and location."""
    names = {}
    for index, code, sector in provider_frame.select("provider_index", "provider", "provider_sector").iter_rows():
        kind = "GGZ" if sector == "ggz" else "Ziekenhuis"
        number = "" if index < len(PLACES) else f" {index // len(PLACES) + 1}"
        names[code] = f"{kind} {PLACES[index % len(PLACES)]}{number}"
    for location, organisation in location_of.items():
        names[location] = f"{names[organisation]}, locatie Zuid"
    return names


def write_registry(
    path: Path, provider_frame: pl.DataFrame, location_of: dict[str, str], names: dict[str, str]
) -> Path:
    """Write the provider registry (agb_code;organisatie;naam;sector) of a generated round."""
    sectors = dict(provider_frame.select("provider", "provider_sector").iter_rows())
    rows = [(code, code, names[code], sectors[code]) for code in sorted(sectors)]
    rows += [(loc, org, names[loc], sectors[org]) for loc, org in sorted(location_of.items())]
    text = "agb_code;organisatie;naam;sector\n" + "".join(";".join(row) + "\n" for row in rows)
    path.write_text(text, encoding="utf-8")
    return path


def compute_truth(entries: pl.DataFrame, reference_date: dt.date, rows: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Return the expected insurer tables, contact lists and rejections from person ids.

    ``entries`` are the generated, valid entries with ``person_id`` and ``provider``
    (organisation); the default scope and norms apply.
    """
    norms = pl.DataFrame(
        [
            {"sector": s, "wachtfase": p, "norm_days": w * 7}
            for s, ph in DEFAULT_NORMS_WEEKS.items()
            for p, w in ph.items()
        ]
    )
    facts = (
        entries.with_columns(
            pl.when(pl.col("sector") == "msz")
            .then(pl.col("sector") + "|" + pl.col("zorgvraag"))
            .otherwise(pl.col("sector"))
            .alias("scope"),
            (
                pl.lit(reference_date)
                - pl.when((pl.col("wachtfase") == "behandeling") & pl.col("intakedatum").is_not_null())
                .then(pl.col("intakedatum"))
                .otherwise(pl.col("aanmelddatum"))
            )
            .dt.total_days()
            .alias("waiting_days"),
        )
        .join(norms, on=["sector", "wachtfase"])
        .join(
            norms.filter(pl.col("wachtfase") == "aanmelding").select("sector", pl.col("norm_days").alias("first")),
            on="sector",
            how="left",
        )
        .with_columns(  # the treatment phase without an intake date: both phases' norms together
            pl.when((pl.col("wachtfase") == "behandeling") & pl.col("intakedatum").is_null())
            .then(pl.col("norm_days") + pl.col("first").fill_null(0))
            .otherwise(pl.col("norm_days"))
            .alias("norm_days")
        )
        .with_columns(
            pl.col("provider").n_unique().over("person_id", "scope").alias("n_providers"),
            pl.len().over("person_id", "scope", "provider").alias("n_here"),
        )
        .with_columns(
            (pl.col("n_providers") >= 2).alias("is_double"),
            (pl.col("n_here") >= 2).alias("is_internal"),
            (pl.col("waiting_days") > pl.col("norm_days")).alias("over_norm"),
        )
        .sort(["waiting_days", "provider", "client_id"], descending=[True, False, False])
        .with_columns(
            ((pl.col("n_providers") < 2) | (pl.int_range(pl.len()).over("person_id", "scope") == 0)).alias(
                "counted_once"
            )
        )
    )

    def table(frame: pl.DataFrame) -> pl.DataFrame:
        return (
            frame.group_by("provider")
            .agg(
                pl.len().alias("wachtenden"),
                pl.col("person_id").n_unique().alias("unieke_personen"),
                pl.col("person_id").filter(pl.col("is_double")).n_unique().alias("dubbel_wachtenden"),
                pl.col("person_id").filter(pl.col("is_internal")).n_unique().alias("interne_dubbelingen"),
                pl.col("over_norm").sum().alias("boven_norm"),
                (pl.col("over_norm") & pl.col("counted_once")).sum().alias("boven_norm_geschoond"),
                pl.col("is_double").sum().alias("dubbel_inschrijvingen"),
                (pl.col("wachtfase") == "aanmelding").sum().alias("wachtenden_aanmelding"),
                (pl.col("wachtfase") == "behandeling").sum().alias("wachtenden_behandeling"),
                (pl.col("waiting_days") < 4 * 7 + 1).sum().alias("wacht_0_4_weken"),
                pl.col("waiting_days").is_between(4 * 7 + 1, 10 * 7).sum().alias("wacht_4_10_weken"),
                pl.col("waiting_days").is_between(10 * 7 + 1, 14 * 7).sum().alias("wacht_10_14_weken"),
                (pl.col("waiting_days") > 14 * 7).sum().alias("wacht_meer_14_weken"),
            )
            .rename({"provider": "agb_code"})
            .sort("agb_code")
        )

    national = table(facts)
    measures = (pl.len().alias("wachtenden"), pl.col("is_double").sum().alias("dubbel_inschrijvingen"),
                pl.col("over_norm").sum().alias("boven_norm"))  # fmt: skip
    categories = pl.concat(
        [
            facts.group_by("sector").agg(*measures).with_columns(pl.lit("alle").alias("zorgvraag")),
            facts.group_by("sector", "zorgvraag").agg(*measures),
        ],
        how="diagonal",
    ).select("sector", "zorgvraag", "wachtenden", "dubbel_inschrijvingen", "boven_norm")
    per_uzovi = pl.concat(
        [
            table(facts.filter(pl.col("uzovi") == code)).with_columns(pl.lit(code).alias("uzovi"))
            for code in sorted(facts["uzovi"].unique().to_list())
        ]
    )
    contacts = (
        facts.filter(pl.col("is_double") | pl.col("is_internal"))
        .select(
            "provider",
            "client_id",
            pl.when(pl.col("is_double")).then(pl.lit("dubbel")).otherwise(pl.lit("intern")).alias("soort"),
            (pl.col("n_providers") - 1).alias("aantal_andere_aanbieders"),
        )
        .sort("provider", "client_id")
    )
    totals = pl.DataFrame(
        {
            "entries": [facts.height],
            "persons": [facts["person_id"].n_unique()],
            "double_waiters": [facts.filter(pl.col("is_double"))["person_id"].n_unique()],
            "internal_duplicates": [facts.filter(pl.col("is_internal"))["person_id"].n_unique()],
            "providers": [facts["provider"].n_unique()],
        }
    )
    rejected = rows.filter(pl.col("expected_reason").is_not_null()).select(
        "provider", "client_id", pl.col("agb_code"), "expected_reason"
    )
    entry_flags = facts.select("provider", "client_id", "person_id", "is_double", "is_internal")
    return {
        "national": national,
        "categories": categories,
        "per_uzovi": per_uzovi,
        "contacts": contacts,
        "totals": totals,
        "rejected": rejected,
        "entry_flags": entry_flags,
    }
