"""A generated round through the CLI, compared with the generator's truth."""

import json
from dataclasses import replace
from pathlib import Path

import polars as pl

from reports.breakdowns import MEASURES
from reports.disclosure import BREAKDOWN_COLUMNS, COUNT_COLUMNS, DOUBLE_ENTRIES, SUPPRESSED_MARK
from reports.files import verify_audit_log
from reports.operator_page import UNDELIVERED_NL
from reports.release import TREND_COLUMNS
from reports.spreadsheets import COLUMN_LABELS_NL
from tests.conftest import RoundRun, cli
from tests.flows.test_rerun import snapshot

THRESHOLD = 10
MEASURED = (*COUNT_COLUMNS, DOUBLE_ENTRIES, *BREAKDOWN_COLUMNS)


def read_csv(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, separator=";", infer_schema=False)


def decrypted(run: RoundRun, agb: str, name: str) -> pl.DataFrame:
    return pl.read_csv(run.delivered(agb)[name], separator=";", infer_schema=False)


def published_equals_truth(published: pl.DataFrame, truth: pl.DataFrame) -> None:
    joined = truth.join(published, on="agb_code", how="full", suffix="_out", coalesce=True)
    assert joined.height == truth.height == published.height
    for column in MEASURED:
        for expected, shown in zip(joined[column].to_list(), joined[f"{column}_out"].to_list(), strict=True):
            if shown is None:
                assert expected >= 1, f"{column}: a zero was suppressed"
            else:
                assert int(shown) == expected, column
                assert not 1 <= int(shown) < THRESHOLD


def test_summary_matches_truth_exactly(exact_round: RoundRun):
    summary = json.loads((exact_round.round_dir / "run_summary.json").read_text())
    truth = exact_round.generated.truth["totals"].to_dicts()[0]
    for key in ("entries", "persons", "double_waiters", "internal_duplicates", "providers"):
        assert summary[key] == truth[key], key
    assert summary["links"]["probabilistic"] == 0
    assert summary["key_version"].startswith("k")
    disclosure = summary["disclosure"]  # a first round: nothing earlier can pin a count
    assert disclosure["primary"] > 0 and disclosure["secondary"] >= 0
    assert disclosure["exposed_by_previous_release"] == []


def test_national_and_insurer_tables_match_truth(exact_round: RoundRun):
    truth = exact_round.generated.truth
    published_equals_truth(read_csv(exact_round.round_dir / "insurers" / "national.csv"), truth["national"])
    parquet = pl.read_parquet(exact_round.round_dir / "insurers" / "national.parquet")
    assert parquet.columns == ["agb_code", *MEASURED, *TREND_COLUMNS]
    published_equals_truth(parquet.with_columns(pl.col(c).cast(pl.Utf8) for c in MEASURED), truth["national"])
    for uzovi, expected in truth["per_uzovi"].group_by("uzovi"):
        published = read_csv(exact_round.round_dir / "insurers" / f"{uzovi[0]}.csv")
        published_equals_truth(published, expected.drop("uzovi"))


def test_the_table_by_sector_and_zorgvraag_matches_truth(exact_round: RoundRun):
    """Every published count of uitsplitsing.csv equals the generator's own count; a suppressed
    one is never a zero; the zorgvraag rows of a sector add up to its row where all are shown."""
    published = read_csv(exact_round.round_dir / "insurers" / "uitsplitsing.csv")
    truth = exact_round.generated.truth["categories"]
    assert set(published["sector"]) == {"ggz", "msz"}
    assert published.filter(pl.col("sector") == "msz")["omschrijving"].to_list()[1] != ""
    joined = published.join(truth, on=["sector", "zorgvraag"], how="left", suffix="_truth")
    assert joined.height == published.height and joined["wachtenden_truth"].null_count() == 0, "no unknown category"
    assert published.height == truth.height, "every generated zorgvraag is delivered by several providers"
    for measure in MEASURES:
        for shown, expected in zip(joined[measure].to_list(), joined[f"{measure}_truth"].to_list(), strict=True):
            assert (expected >= 1) if shown is None else int(shown) == expected, measure
            assert shown is None or not 1 <= int(shown) < THRESHOLD, measure


def test_suppression_hides_small_counts_in_every_insurer_file(exact_round: RoundRun):
    files = list((exact_round.round_dir / "insurers").glob("*.csv"))
    assert len(files) >= 3
    suppressed = 0
    for path in files:
        frame = read_csv(path)
        if path.name == "uitsplitsing.csv":
            for column in MEASURES:
                assert all(v is None or not 1 <= int(v) < THRESHOLD for v in frame[column]), (path.name, column)
            continue
        for column in (*MEASURED, *TREND_COLUMNS):
            values = frame[column].to_list()
            suppressed += sum(v is None for v in values)
            assert all(v is None or not 1 <= int(v) < THRESHOLD for v in values), (path.name, column)
    assert suppressed > 0, "the test round should exercise suppression"


def test_contact_lists_match_truth_and_hold_only_own_clients(exact_round: RoundRun):
    truth = exact_round.generated.truth["contacts"]
    run = exact_round
    delivered = json.loads((run.round_dir / "run_summary.json").read_text())["delivered"]
    assert delivered
    for agb in delivered:
        contacts = decrypted(run, agb, "contactlijst.csv")
        expected = truth.filter(pl.col("provider") == agb)
        got = contacts.select("client_id", "soort", pl.col("aantal_andere_aanbieders").cast(pl.Int64)).sort("client_id")
        want = expected.select("client_id", "soort", pl.col("aantal_andere_aanbieders").cast(pl.Int64)).sort(
            "client_id"
        )
        assert got.equals(want), agb
        assert all(client.startswith(f"C{agb[5:]}-") for client in contacts["client_id"].to_list())
        assert set(contacts["koppeling"].to_list()) <= {"bsn"}


def test_providers_without_key_get_nothing(exact_round: RoundRun):
    summary = json.loads((exact_round.round_dir / "run_summary.json").read_text())
    keyless = exact_round.generated.providers[-2:]
    assert summary["recipients_pinned"] is True
    assert sorted(item["agb_code"] for item in summary["undelivered"]) == sorted(keyless)
    for agb in keyless:
        assert not (exact_round.round_dir / "providers" / agb).exists()


def test_every_row_and_file_is_accounted_for(dirty_round: RoundRun):
    summary = json.loads((dirty_round.round_dir / "run_summary.json").read_text())
    expected = dirty_round.generated.expected_files
    details = {d["file"]: d for d in summary["files"]["details"]}
    assert set(details) == set(expected)
    for name, want in expected.items():
        got = details[name]
        if want.get("status") == "rejected":
            assert got["status"] == "rejected" and got["reason"] == want["reason"], name
            continue
        assert got["rows_received"] == want["rows_received"], name
        assert got["rows_accepted"] + got["rows_rejected"] == got["rows_received"]
        assert got["rejected_by_reason"] == want["rejected_by_reason"], name
    files = summary["files"]
    assert files["accepted"] + files["rejected"] == files["received"] == len(expected)
    rows = summary["rows"]
    assert rows["accepted"] + rows["rejected"] == rows["received"]
    assert rows["accepted"] == summary["entries"]
    assert rows["warnings"]["bsn_invalid"] > 0 and rows["warnings"]["bsn_missing"] > 0


def test_rejected_rows_reach_their_own_provider(dirty_round: RoundRun):
    truth = dirty_round.generated.truth["rejected"]
    delivered = json.loads((dirty_round.round_dir / "run_summary.json").read_text())["delivered"]
    for agb in delivered:
        rejected = decrypted(dirty_round, agb, "afgewezen.csv")
        assert rejected.columns == ["bestand", "soort", "rij", "client_id", "reden", "toelichting"]
        assert rejected["toelichting"].null_count() == 0
        assert set(rejected["soort"].to_list()) <= {"aanlevering"}
        want = truth.filter((pl.col("provider") == agb) & (pl.col("agb_code") != "12345"))
        assert sorted(rejected["reden"].to_list()) == sorted(want["expected_reason"].to_list()), agb


def test_rij_is_the_row_a_spreadsheet_shows(dirty_round: RoundRun):
    """``rij`` in afgewezen.csv and waarschuwingen.csv is the line of the delivered CSV as Excel
    numbers it (the header is line 1): that line holds the row's client_id."""
    checked = 0
    for agb in json.loads((dirty_round.round_dir / "run_summary.json").read_text())["delivered"]:
        for name in ("afgewezen.csv", "waarschuwingen.csv"):
            listed = decrypted(dirty_round, agb, name).filter(
                pl.col("bestand").str.ends_with(".csv"), pl.col("client_id").is_not_null(), pl.col("rij").is_not_null()
            )
            for bestand, rij, client in listed.select("bestand", "rij", "client_id").iter_rows():
                source = dirty_round.generated.input_dir / bestand
                lines = source.read_bytes().decode("utf-8", errors="replace").splitlines()
                if len(lines) > 1 and "\n" not in client:
                    assert client in lines[int(rij) - 1], (bestand, rij)
                    checked += 1
    assert checked > 20


def test_warnings_name_each_row_counted_in_the_quality_report(dirty_round: RoundRun):
    summary = json.loads((dirty_round.round_dir / "run_summary.json").read_text())
    total = 0
    for agb in summary["delivered"]:
        warnings = decrypted(dirty_round, agb, "waarschuwingen.csv")
        quality = decrypted(dirty_round, agb, "datakwaliteit.csv").row(0, named=True)
        assert warnings.columns == ["bestand", "rij", "client_id", "waarschuwing", "toelichting"]
        assert warnings["toelichting"].null_count() == 0
        counted = dict(warnings.group_by("waarschuwing").len().iter_rows())
        for code in ("bsn_ontbrekend", "bsn_ongeldig", "verouderd", "behandeling_zonder_intakedatum"):
            assert counted.get(code, 0) == int(quality[code]), (agb, code)
        assert int(quality["rijen_ontvangen"]) == int(quality["rijen_geaccepteerd"]) + int(quality["rijen_afgewezen"])
        total += warnings.height
    assert total > 0


def test_contact_lists_group_each_person_and_grade_each_link(dirty_round: RoundRun):
    for agb in json.loads((dirty_round.round_dir / "run_summary.json").read_text())["delivered"]:
        contacts = decrypted(dirty_round, agb, "contactlijst.csv")
        if contacts.is_empty():
            continue
        groups = contacts["groep"].unique(maintain_order=True).to_list()
        assert groups == [f"G{n:04d}" for n in range(1, len(groups) + 1)], agb
        sizes = dict(contacts.group_by("groep").len().iter_rows())
        for row in contacts.iter_rows(named=True):
            if row["soort"] == "intern":
                assert sizes[row["groep"]] >= 2, (agb, row["groep"])
            else:
                assert row["wachtfase_elders"] in {"aanmelding", "behandeling"} and int(row["weken_elders"]) >= 0
            certainty = float(row["zekerheid"].replace(",", "."))
            if row["koppeling"] == "bsn":
                assert certainty == 1.0 and row["zekerheid_label"] == "zeker"
            else:
                assert certainty < 1.0
                assert row["zekerheid_label"] == ("zeker" if certainty >= 0.99 else "waarschijnlijk")


def test_double_waiters_without_bsn_are_found_in_a_noisy_round(dirty_round: RoundRun):
    """Typos, moves, swapped dates and missing BSNs: the contact lists still name the right
    entries as double waiters (entry-level precision and recall against the truth)."""
    summary = json.loads((dirty_round.round_dir / "run_summary.json").read_text())
    assert summary["links"]["probabilistic"] > 0
    flags = dirty_round.generated.truth["entry_flags"]
    predicted, truth = set(), set()
    for agb in summary["delivered"]:
        contacts = decrypted(dirty_round, agb, "contactlijst.csv")
        predicted |= {(agb, c) for c in contacts.filter(pl.col("soort") == "dubbel")["client_id"].to_list()}
        own = flags.filter((pl.col("provider") == agb) & pl.col("is_double"))
        truth |= {(agb, c) for c in own["client_id"].to_list()}
        probabilistic = contacts.filter(pl.col("koppeling") == "probabilistisch")
        assert all(0.5 <= float(z.replace(",", ".")) < 1.0 for z in probabilistic["zekerheid"].to_list())
    hits = len(predicted & truth)
    assert hits / len(predicted) >= 0.99 and hits / len(truth) >= 0.99, (len(predicted), len(truth), hits)


def test_manifest_and_audit_log(dirty_round: RoundRun):
    manifest = json.loads((dirty_round.round_dir / "manifest.json").read_text())
    listed = {item["path"] for item in manifest["files"]}
    assert "run_summary.json" in listed and "insurers/national.csv" in listed
    assert any(path.startswith("providers/") for path in listed)
    audit = dirty_round.output / "audit.jsonl"
    events = [json.loads(line)["event"] for line in audit.read_text().splitlines()]
    assert events[0] == "round_started" and events[-1] == "round_completed"
    assert {"file_received", "file_rejected", "file_produced", "file_delivered", "delivery_skipped"} <= set(events)
    assert verify_audit_log(audit) == []
    lines = audit.read_text().splitlines()
    audit.write_text("\n".join([lines[0], *lines[2:]]) + "\n")
    assert verify_audit_log(audit) != []
    audit.write_text("\n".join(lines) + "\n")


def test_prefect_holds_totals_artifacts_and_no_results(dirty_round: RoundRun):
    import sqlite3

    database = dirty_round.output / "_ttp" / "prefect" / "prefect.db"
    assert database.exists()
    with sqlite3.connect(database) as con:
        artifacts = dict(con.execute("SELECT key, type FROM artifact").fetchall())
        parameters = [row[0] for row in con.execute("SELECT parameters FROM flow_run").fetchall()]
    assert artifacts == {"round-totals": "table", "round-summary": "markdown"}
    assert all("input_dir" in p and "key_file" in p for p in parameters)
    storage = dirty_round.output / "_ttp" / "prefect" / "storage"
    assert not storage.exists() or not any(storage.iterdir()), "no task result may be persisted"


def test_the_round_run_in_process_equals_its_prefect_flow_run(dirty_round: RoundRun, tmp_path: Path):
    output = tmp_path / "direct"
    result = cli("run", "--input", dirty_round.generated.input_dir, "--output", output, "--round", dirty_round.round_id,
                 "--config", dirty_round.generated.config_file, "--key-file", dirty_round.key_file,
                 "--recipients", dirty_round.workspace / "recipients", "--engine", "direct", "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert not (output / "_ttp" / "prefect").exists(), "no Prefect server was used, nor its folder made"
    direct = replace(dirty_round, output=output, result=result)
    assert snapshot(direct) == snapshot(dirty_round)


def test_spreadsheets_equal_the_csv_cell_by_cell(exact_round: RoundRun):
    insurers = exact_round.round_dir / "insurers"
    for name in ("national", *sorted(p.stem for p in insurers.glob("[0-9]*.csv"))):
        csv = read_csv(insurers / f"{name}.csv")
        sheet = pl.read_excel(insurers / f"{name}.xlsx", sheet_name="Aanbieders", infer_schema_length=0)
        assert sheet.columns == [COLUMN_LABELS_NL[c] for c in csv.columns]
        for column in csv.columns:
            expected = [SUPPRESSED_MARK if v is None else v for v in csv[column].to_list()]
            assert [str(v) for v in sheet[COLUMN_LABELS_NL[column]].to_list()] == expected, (name, column)
        definitions = pl.read_excel(insurers / f"{name}.xlsx", sheet_name="Definities")
        assert set(MEASURED) <= set(definitions["begrip"].to_list())
        facts = dict(pl.read_excel(insurers / f"{name}.xlsx", sheet_name="Ronde").iter_rows())
        assert facts["ronde"] == "2026-11" and facts["peildatum"] == "2026-11-01"
        assert facts["norm ggz, behandelfase"] == "10 weken" and "1 tot en met 9" in facts["drempel"]
    agb = sorted(json.loads((exact_round.round_dir / "run_summary.json").read_text())["delivered"])[0]
    files = exact_round.delivered(agb)
    workbook = files["contactlijst.xlsx"]
    sheet = pl.read_excel(workbook, infer_schema_length=0)
    csv = decrypted(exact_round, agb, "contactlijst.csv")
    assert sheet.columns == csv.columns
    assert sheet["client_id"].to_list() == csv["client_id"].to_list()
    note = files["toelichting.html"].decode()
    double = int((csv["soort"] == "dubbel").sum())
    assert agb in note and f"<strong>{double} inschrijving{'' if double == 1 else 'en'}</strong>" in note


def test_data_quality_report_adds_up(dirty_round: RoundRun):
    summary = json.loads((dirty_round.round_dir / "run_summary.json").read_text())
    quality = read_csv(dirty_round.round_dir / "datakwaliteit.csv")
    numbers = quality.with_columns(
        pl.col(c).cast(pl.Int64) for c in ("rijen_ontvangen", "rijen_geaccepteerd", "rijen_afgewezen", "bsn_ontbrekend",
                                          "bsn_ongeldig", "verouderd", "behandeling_zonder_intakedatum")
    )  # fmt: skip
    assert (numbers["rijen_ontvangen"] == numbers["rijen_geaccepteerd"] + numbers["rijen_afgewezen"]).all()
    assert numbers["rijen_geaccepteerd"].sum() == summary["entries"]
    assert numbers["rijen_afgewezen"].sum() == summary["rows"]["rejected"] - summary["rows"]["rejected_unrouted"]
    assert numbers["bsn_ontbrekend"].sum() == summary["rows"]["warnings"]["bsn_missing"]
    assert numbers["bsn_ongeldig"].sum() == summary["rows"]["warnings"]["bsn_invalid"]
    assert 0 < numbers["verouderd"].sum() < summary["entries"]
    missing_intake = summary["rows"]["warnings"]["intakedatum_missing"]
    assert 0 < numbers["behandeling_zonder_intakedatum"].sum() == missing_intake < summary["entries"] // 10
    notations = " ".join(quality["datumnotaties"].to_list())
    assert all(name in notations for name in ("jjjj-mm-dd", "dd-mm-jjjj", "dd/mm/jjjj"))
    agb = sorted(summary["delivered"])[0]
    own = decrypted(dirty_round, agb, "datakwaliteit.csv")
    assert own["agb_code"].to_list() == [agb]


def test_months_before():
    import datetime as dt

    from reports.quality import months_before

    assert months_before(dt.date(2026, 11, 30), 9) == dt.date(2026, 2, 28)
    assert months_before(dt.date(2026, 3, 31), 1) == dt.date(2026, 2, 28)
    assert months_before(dt.date(2026, 1, 15), 13) == dt.date(2024, 12, 15)


def test_operator_view_names_every_file_and_delivery(dirty_round: RoundRun):
    page = (dirty_round.round_dir / "run_summary.html").read_text()
    summary = json.loads((dirty_round.round_dir / "run_summary.json").read_text())
    assert "<script" not in page and "http://" not in page and "https://" not in page
    for detail in summary["files"]["details"]:
        assert f"<td>{detail['file']}</td>" in page
    for item in summary["undelivered"]:
        assert f"<td>{item['agb_code']}</td><td>{UNDELIVERED_NL[item['reason']]}</td>" in page
    assert "<html lang=\"nl\">" in page and "Aandachtspunten" in page
