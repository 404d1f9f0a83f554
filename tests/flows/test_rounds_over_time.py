"""Three consecutive generated rounds with provider feedback in between: the trend columns,
the feedback accounting and the contact-list marks agree with the generator's truth."""

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from benchmarks.attacker import attack
from benchmarks.published_release import read_categories, read_release
from hashing.keys import create_key_file
from reports.recipients import create_age_keys, pin_recipients
from reports.release import TREND_COLUMNS
from sample_data.generate import RoundSpec
from sample_data.rounds import GeneratedRounds, generate_rounds
from tests.conftest import cli, provider_files

ROUNDS = ["2026-09", "2026-10", "2026-11"]


@dataclass
class Series:
    generated: GeneratedRounds
    output: Path
    key_file: Path
    provider_keys: Path
    recipients: Path
    summaries: dict[str, dict]


def run_round(series: Series, round_id: str) -> dict:
    result = cli(
        "run", "--input", series.generated.inbox / round_id, "--output", series.output, "--round", round_id,
        "--config", series.generated.config_file, "--key-file", series.key_file, "--recipients", series.recipients,
        "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> Series:
    workspace = tmp_path_factory.mktemp("rounds")
    generated = generate_rounds(workspace, ROUNDS, RoundSpec(entries=3000, providers=12))
    key_file = workspace / "ttp.key"
    create_key_file(key_file)
    provider_keys, recipients = workspace / "provider_keys", workspace / "recipients"
    recipients.mkdir()
    for agb in generated.providers:
        public_path, _ = create_age_keys(agb, provider_keys)
        shutil.copyfile(public_path, recipients / public_path.name)
    pin_recipients(recipients)
    built = Series(generated, workspace / "output", key_file, provider_keys, recipients, {})
    for round_id in ROUNDS:
        built.summaries[round_id] = run_round(built, round_id)
    return built


def published(series: Series, round_id: str, name: str) -> pl.DataFrame:
    data = (series.output / round_id / "insurers" / name).read_bytes().removeprefix(b"\xef\xbb\xbf")
    return pl.read_csv(data, separator=";", schema_overrides={"agb_code": pl.Utf8, "uzovi": pl.Utf8})


def test_the_first_round_has_no_previous_round_and_every_double_waiter_is_new(series: Series):
    history = series.summaries[ROUNDS[0]]["history"]
    assert history["previous_round"] is None
    totals = published(series, ROUNDS[0], "totalen.csv").filter(pl.col("uzovi") == "alle").row(0, named=True)
    assert totals["dubbel_nieuw"] == totals["dubbel_wachtenden"] > 0
    assert totals["dubbel_blijvend"] == totals["dubbel_opgelost"] == 0


@pytest.mark.parametrize("round_id", ROUNDS[1:])
def test_trend_columns_equal_the_truth_wherever_published(series: Series, round_id: str):
    truth = {row["agb_code"]: row for row in series.generated.trend[round_id].to_dicts()}
    national = published(series, round_id, "national.csv")
    totals = published(series, round_id, "totalen.csv").filter(pl.col("uzovi") == "alle")
    rows = [*national.to_dicts(), {**totals.row(0, named=True), "agb_code": "totaal"}]
    compared = suppressed = 0
    for row in rows:
        expected = truth.get(row["agb_code"], dict.fromkeys(TREND_COLUMNS, 0))
        for column in TREND_COLUMNS:
            if row[column] is None:
                assert expected[column] >= 1, f"{row['agb_code']} {column}: a suppressed cell must not be 0"
                suppressed += 1
            else:
                assert row[column] == expected[column], f"{round_id} {row['agb_code']} {column}"
                compared += 1
        if None not in (row["dubbel_nieuw"], row["dubbel_blijvend"], row["dubbel_wachtenden"]):
            assert row["dubbel_nieuw"] + row["dubbel_blijvend"] == row["dubbel_wachtenden"]
    assert compared > len(rows) and suppressed > 0
    assert None not in (rows[-1]["dubbel_nieuw"], rows[-1]["dubbel_blijvend"], rows[-1]["dubbel_opgelost"])
    assert series.summaries[round_id]["history"]["previous_round"] == ROUNDS[ROUNDS.index(round_id) - 1]


@pytest.mark.parametrize("round_id", ROUNDS[1:])
def test_every_feedback_row_is_accounted_for(series: Series, round_id: str):
    expected = series.generated.feedback_rows[round_id]
    rows = series.summaries[round_id]["history"]["feedback_rows"]
    assert (rows["received"], rows["accepted"], rows["rejected"]) == (
        expected["received"], expected["accepted"], expected["rejected"]
    )  # fmt: skip
    assert rows["rejected_by_reason"] == {k: v for k, v in expected.items() if k not in {"received", "accepted",
                                                                                          "rejected"}}  # fmt: skip
    files = series.summaries[round_id]["history"]["feedback_files"]
    assert sum(f["rows_received"] for f in files) == rows["received"]
    assert all(f["rows_accepted"] + f["rows_rejected"] == f["rows_received"] for f in files)


@pytest.mark.parametrize("round_id", ROUNDS[1:])
def test_feedback_is_reported_to_its_sender_apart_from_the_extract_rows(series: Series, round_id: str):
    """Each provider's datakwaliteit.csv counts its feedback rows in ``terugmelding_*`` and its
    extract rows in ``rijen_*``; afgewezen.csv lists the rejected ones of each with their ``soort``."""
    accepted = 0
    for provider in series.generated.providers:
        files = provider_files(series.output / round_id, provider, series.provider_keys)
        quality = pl.read_csv(files["datakwaliteit.csv"], separator=";", infer_schema=False).row(0, named=True)
        rejected = pl.read_csv(files["afgewezen.csv"], separator=";", infer_schema=False)
        number = {k: int(v) for k, v in quality.items() if k.startswith(("rijen_", "terugmelding_rijen_"))}
        assert number["rijen_ontvangen"] == number["rijen_geaccepteerd"] + number["rijen_afgewezen"]
        assert number["terugmelding_rijen_ontvangen"] == (
            number["terugmelding_rijen_verwerkt"] + number["terugmelding_rijen_afgewezen"]
        )
        kinds = dict(rejected.group_by("soort").len().iter_rows())
        assert kinds.get("aanlevering", 0) == number["rijen_afgewezen"], provider
        assert kinds.get("terugmelding", 0) == number["terugmelding_rijen_afgewezen"], provider
        accepted += number["terugmelding_rijen_verwerkt"]
    assert accepted == series.summaries[round_id]["history"]["feedback_rows"]["accepted"] > 0


def test_contact_lists_mark_entries_reported_last_round_and_the_feedback_given(series: Series):
    round_id, previous = ROUNDS[2], ROUNDS[1]
    provider = series.generated.providers[3]
    round_dir = series.output / round_id
    contacts = pl.read_csv(
        provider_files(round_dir, provider, series.provider_keys)["contactlijst.csv"], separator=";",
        infer_schema=False,
    )  # fmt: skip
    earlier = set(series.generated.contact_keys[previous].filter(pl.col("provider") == provider)["client_id"])
    marked = set(contacts.filter(pl.col("eerder_gemeld") == "ja")["client_id"])
    assert marked == earlier & set(contacts["client_id"])
    assert 0 < len(marked) < contacts.height
    feedback = pl.concat(
        [pl.read_csv(p, separator=";", infer_schema=False)
         for p in (series.generated.inbox / round_id / "terugmelding").glob(f"*{provider}.csv")]
    )  # fmt: skip
    reported = dict(zip(feedback["client_id"], feedback["uitkomst"], strict=True))
    for client_id, outcome in contacts.select("client_id", "terugmelding").rows():
        assert outcome == reported.get(client_id)


def test_a_rerun_of_an_earlier_round_publishes_the_same_files(series: Series):
    round_id = ROUNDS[1]
    before = {p.name: p.read_bytes() for p in (series.output / round_id / "insurers").glob("*.csv")}
    run_round(series, round_id)
    after = {p.name: p.read_bytes() for p in (series.output / round_id / "insurers").glob("*.csv")}
    assert after == before


def test_no_small_count_can_be_solved_for_from_a_release_and_the_one_before(series: Series):
    """The attacker holds the last round's insurer files and the round before's: no small count
    comes out exactly, except those the ledger lists as bounded by the earlier release."""
    current = read_release(series.output / ROUNDS[-1] / "insurers")
    earlier = read_release(series.output / ROUNDS[-2] / "insurers")
    previous = {
        scope: (table.select("agb_code", "dubbel_wachtenden"), totals.select("agb_code", "dubbel_wachtenden"))
        for scope, (table, totals) in earlier.items()
    }
    ledger = [json.loads(line) for line in (series.output / "_ttp" / "release_ledger.jsonl").read_text().splitlines()]
    entry = [e for e in ledger if e["round"] == ROUNDS[-1]][-1]
    reported = {(e["column"], e["scope"], e["provider"]) for e in entry["protection"]["exposed_by_previous_release"]}
    categories = read_categories(series.output / ROUNDS[-1] / "insurers")
    assert categories, "the release has a national table by sector and zorgvraag"
    threshold = entry["threshold"]
    pinned = attack(current, previous, categories=categories, only_below=threshold).small_counts_pinned(threshold)
    assert any(table[c].null_count() for table, _ in current.values() for c in TREND_COLUMNS)
    names = {"vorig": "vorig_dubbel"}  # the attacker's name for the earlier round's double waiters
    assert [(key, value) for key, value in pinned if (names.get(key[0], key[0]), *key[1:]) not in reported] == []


def test_the_trend_shows_what_earlier_rounds_published(series: Series):
    """The trend charts read the earlier rounds' releases from the release ledger: the same
    totals, suppressed cells included, as those rounds' ``totalen.csv``."""
    from reports.disclosure import COUNT_COLUMNS
    from reports.insurers import earlier_totals
    from reports.ledger import read_ledger

    ledger = read_ledger(series.output / "_ttp" / "release_ledger.jsonl")
    history = earlier_totals(ledger, ROUNDS[-1]).sort("ronde", "uzovi")
    files = pl.concat(
        published(series, round_id, "totalen.csv").select(pl.lit(round_id).alias("ronde"), "uzovi", *COUNT_COLUMNS)
        for round_id in ROUNDS[:-1]
    ).sort("ronde", "uzovi")
    assert history.height == files.height > 2
    assert history.equals(files.cast(dict(history.schema)))
    assert history.null_count().sum_horizontal().item() > 0, "a suppressed total stays suppressed"
    assert earlier_totals(ledger, ROUNDS[0]).is_empty()
