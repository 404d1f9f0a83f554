"""Generator of a realistic cleanup round: provider extracts in every format, with its truth.

The truth is computed here from the generator's own person ids, independently of the
pipeline's linking code, so tests can compare every output count with it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl

from sample_data.extract_files import EXTRACT_COLUMNS, WorkbookWriter, bad_rows, write_extract
from sample_data.identities import add_noise, generate_entries, generate_persons, generate_providers, render_identity
from sample_data.spec import ALIASES, FORMATS, GeneratedRound, RoundSpec
from sample_data.truth import compute_truth

__all__ = ["FORMATS", "GeneratedRound", "RoundSpec", "compute_truth", "generate_round"]


def generate_round(
    out_dir: Path, spec: RoundSpec | None = None, workbook: WorkbookWriter | None = None
) -> GeneratedRound:
    """Write a round's extracts to ``out_dir/input``, a config and the truth; return them.

    ``workbook`` writes the .xlsx extracts (default: polars' xlsxwriter export, cell by cell;
    a national-size benchmark passes a column-wise writer).

    Every provider delivers one file, in a format taken in turn from ``spec.formats``.
    Provider 1 uses EHR column names mapped by aliases in the config; provider 0 has a
    second location mapped to it. With ``bad_files`` a file without a required column,
    an unreadable .xlsx, a .txt and an exact copy of a file are added.
    """
    spec = spec or RoundSpec()
    rng = np.random.default_rng(spec.seed)
    input_dir, truth_dir = out_dir / "input", out_dir / "truth"
    for folder in (input_dir, truth_dir):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    mean_entries = 1 + spec.double_share * 1.32 + spec.internal_share
    n_persons = max(10, int(spec.entries / mean_entries))
    persons = generate_persons(spec, rng, n_persons)
    provider_frame = generate_providers(spec)
    providers = provider_frame["provider"].to_list()
    location = f"{providers[0][:2]}9{providers[0][3:]}"
    location_of = {location: providers[0]}
    entries = add_noise(render_identity(generate_entries(spec, rng, persons, provider_frame), spec), spec, rng)
    entries = _numbered(entries, providers[0], location)
    csv_providers = [p for i, p in enumerate(providers) if spec.formats[i % len(spec.formats)].startswith("csv")]
    bad = bad_rows(spec, rng, providers, csv_providers or providers) if spec.bad_rows_per_kind else None
    rows = _extract_rows(entries, bad, spec.seed)
    expected_files = _write_provider_files(rows, providers, spec, input_dir, workbook)
    if spec.bad_files:
        _add_bad_files(rows, spec, input_dir, expected_files)
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


def _numbered(entries: pl.DataFrame, first_provider: str, location: str) -> pl.DataFrame:
    """Return the entries with the AGB code they are delivered under (some of the first
    provider's under its second location), each provider's client numbers, and empty columns for
    the bad rows' expected reason and date override."""
    entries = entries.with_columns(
        pl.when((pl.col("provider") == first_provider) & (pl.col("style_draw") > 0.7))
        .then(pl.lit(location))
        .otherwise(pl.col("provider"))
        .alias("agb_code"),
        pl.lit(None, dtype=pl.Utf8).alias("expected_reason"),
        pl.lit(None, dtype=pl.Utf8).alias("date_override"),
    )
    return entries.with_columns(
        (
            pl.lit("C")
            + pl.col("provider").str.slice(5)
            + pl.lit("-")
            + (pl.int_range(pl.len()).over("provider") + 1).cast(pl.Utf8).str.zfill(7)
        ).alias("client_id")
    )


WRITTEN_AS = {
    "bsn": "bsn_written",
    "achternaam": "achternaam_written",
    "tussenvoegsel": "tussenvoegsel_written",
    "postcode": "postcode_written",
}
"""Extract columns whose generated value is kept beside the value as the provider writes it."""


def _extract_rows(entries: pl.DataFrame, bad: pl.DataFrame | None, seed: int) -> pl.DataFrame:
    """Return every row the extracts hold (the entries and the bad rows) under the extract's
    column names, each provider's rows in a shuffled order."""
    columns = ["provider", *(WRITTEN_AS.get(c, c) for c in EXTRACT_COLUMNS), "expected_reason", "date_override"]
    rows = entries.select(columns)
    if bad is not None:
        rows = pl.concat([rows, bad.select(columns)], how="vertical_relaxed")
    rows = rows.rename({written: column for column, written in WRITTEN_AS.items()})
    rows = (
        rows.with_columns(pl.int_range(pl.len()).shuffle(seed=seed).over("provider").alias("_order"))
        .sort("provider", "_order")
        .drop("_order")
    )
    return rows


def _write_provider_files(
    rows: pl.DataFrame, providers: list[str], spec: RoundSpec, input_dir: Path, workbook: WorkbookWriter | None
) -> dict[str, dict[str, object]]:
    """Write one extract per provider (formats, date formats and headers in turn); return what
    the round should report of each file."""
    date_formats = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y")
    expected_files: dict[str, dict[str, object]] = {}

    rows_of = rows.partition_by("provider", as_dict=True)
    for index, provider in enumerate(providers):
        fmt = spec.formats[index % len(spec.formats)]
        suffix = {"xlsx": ".xlsx", "parquet": ".parquet"}.get(fmt, ".csv")
        name = f"{_folder_of(provider, spec)}wachtlijst_{provider}{suffix}"
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
        write_extract(extract, input_dir / name, fmt, date_formats[index % 3], headers, workbook)
        reasons = own.filter(pl.col("expected_reason").is_not_null()).group_by("expected_reason").len()
        expected_files[name] = {
            "rows_received": own.height,
            "rows_rejected": int(own["expected_reason"].is_not_null().sum()),
            "rejected_by_reason": dict(
                zip(reasons["expected_reason"].to_list(), reasons["len"].to_list(), strict=True)
            ),
        }
    return expected_files


def _folder_of(provider: str, spec: RoundSpec) -> str:
    """Return the sender folder of a provider's files (none without sender folders)."""
    return f"{provider}/" if spec.sender_folders else ""


def _add_bad_files(
    rows: pl.DataFrame, spec: RoundSpec, input_dir: Path, expected_files: dict[str, dict[str, object]]
) -> None:
    """Add the bad files (a copy of a file, a note, a broken workbook, a file without a required
    column) and what the round should report of them to ``expected_files``."""
    first_csv = next(p for p in sorted(input_dir.rglob("*.csv")))
    first_name = first_csv.relative_to(input_dir).as_posix()
    bad_dir = _folder_of(first_csv.parent.name, spec) if spec.sender_folders else ""
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
    write_extract(incomplete, input_dir / f"{bad_dir}onvolledig.csv", "csv-semicolon", "%Y-%m-%d",
                   {c: c for c in incomplete.columns})  # fmt: skip
    expected_files.update(
        {
            duplicate: {"status": "rejected", "reason": "duplicate_content"},
            f"{bad_dir}toelichting.txt": {"status": "rejected", "reason": "unsupported_format"},
            f"{bad_dir}kapot_bestand.xlsx": {"status": "rejected", "reason": "unreadable"},
            f"{bad_dir}onvolledig.csv": {"status": "rejected", "reason": "missing_columns"},
        }
    )


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
