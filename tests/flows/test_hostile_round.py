"""A 40-provider round in sender folders with a registry, with the adversarial corpus planted in
it: the round completes, every row is accounted for, no row of one organisation reaches
another's list or count, nothing a provider wrote reaches a plaintext operator file, and
memory stays bounded. One CLI run, since the process boundary (worker processes, peak memory,
exit code) is the point."""

from __future__ import annotations

import json
import resource
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from flows.settings import load_settings
from hashing.bsn import is_valid_bsn
from hashing.keys import create_key_file
from ingest.read import read_extract
from reports.recipients import create_age_keys, pin_recipients
from sample_data.generate import GeneratedRound, RoundSpec, generate_round
from tests.conftest import cli, provider_files
from tests.hostile_corpus import (
    FORMULAS,
    HEADER,
    SECRET_HEADER,
    mixed_encoding,
    parquet_bomb,
    placeholder_rows,
    ragged_lines,
    row,
    write_lines,
    xlsx_dimension_bomb,
)

ROUND = "2026-11"
MEMORY_BOUND_KIB = 4 * 1024 * 1024


@dataclass
class HostileRound:
    generated: GeneratedRound
    output: Path
    keys: Path
    summary: dict
    result: object
    probe_bsn: str
    victim: str
    prober: str

    def package(self, agb: str, name: str) -> pl.DataFrame:
        return pl.read_csv(provider_files(self.output / ROUND, agb, self.keys)[name], separator=";",
                           infer_schema=False)  # fmt: skip

    def detail(self, name: str) -> dict:
        return next(d for d in self.summary["files"]["details"] if d["file"] == name)


def plant_corpus(generated: GeneratedRound) -> tuple[str, str]:
    """Put the hostile files into the round's input; return (a BSN waiting at the victim, its code)."""
    inp, p = generated.input_dir, generated.providers
    ggz = [code for code in p if code.startswith("22")]
    msz = [code for code in p if code.startswith("06")]
    aliases = load_settings(generated.config_file).merged_aliases()
    victim_rows = read_extract(next((inp / ggz[4]).iterdir()), aliases).frame
    probe_bsn = next(b for b in victim_rows["bsn"].to_list() if b and is_valid_bsn(b))
    xlsx_dimension_bomb(inp / ggz[0] / "bom.xlsx")
    parquet_bomb(inp / ggz[0] / "bom.parquet", ggz[0])
    write_lines(inp / ggz[3] / "extra.csv", [
        row(ggz[4], "STOLEN1", bsn=probe_bsn), row(ggz[4], "STOLEN2"),  # cross-sender: rows on another's list
        row(ggz[3], "PROBE1", bsn=probe_bsn),  # the membership probe with the sender's own code
        *[row(ggz[3], formula, surname="Formule", first="Anna", born="1975-03-03", postcode="1234XY")
          for formula in FORMULAS[:2]],  # one person twice on the sender's list: on its contact list
        *[row(ggz[3], formula, sector="wlz") for formula in (*FORMULAS[2:], "=1+1")],  # rejected rows
        row(ggz[3], "FW1", bsn="２２８５１４１６２"),
        row("22999999", "UNKNOWN1"), row(ggz[3], "SECTOR1", sector="msz"),
    ])  # fmt: skip
    write_lines(inp / msz[0] / "zeven.csv", [row(msz[0][1:], "SEVEN1", sector="msz")])
    write_lines(inp / "los_bestand.csv", [row(ggz[9], "FLAT1"), row("2210000", "PHANTOM1")])
    write_lines(inp / "@SUM(1).csv", [row(ggz[9], "F2", sector="wlz")])
    write_lines(inp / "99999999" / "x.csv", [row("99999999", "X1")])
    write_lines(inp / "misc" / "x.csv", [row(ggz[10], "X2")])
    for index, prefix in ((5, "PH"), (6, "PH")):
        write_lines(inp / ggz[index] / "placeholders.csv", placeholder_rows(ggz[index], 2500, prefix))
    for index in (7, 8):
        write_lines(inp / ggz[index] / "zzz.csv", placeholder_rows(ggz[index], 2500, "ZZ", surname="Zzz",
                    first="Qqq", born="1950-05-05", postcode="2345AB"))  # fmt: skip
    secret = inp / ggz[10] / "kolommen.csv"
    secret.write_text(HEADER + f";{SECRET_HEADER}\n" + row(ggz[10], "H1") + ";x\n", encoding="utf-8")
    write_lines(inp / ggz[11] / "ragged.csv", ragged_lines(ggz[11]))
    (inp / ggz[12] / "utf16.csv").write_bytes("\n".join([HEADER, row(ggz[12], "U1")]).encode("utf-16"))
    mixed_encoding(inp / ggz[13] / "mixed.csv", ggz[13])
    write_lines(inp / ggz[14] / "nul.csv", [row(ggz[14], "N\x001"), row(ggz[14], "N2")])
    write_lines(inp / ggz[15] / "huge.csv", [row(ggz[15], "Z1").replace("aanmelding", "aanmelding")
                                             .replace("Piet", "P" * 5_000_000)])  # fmt: skip
    return probe_bsn, ggz[4]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> HostileRound:
    workspace = tmp_path_factory.mktemp("hostile")
    spec = RoundSpec(entries=4000, providers=40, seed=41, sender_folders=True, registry=True,
                     formats=("csv-semicolon", "csv-comma", "xlsx", "parquet"))  # fmt: skip
    generated = generate_round(workspace, spec)
    probe_bsn, victim = plant_corpus(generated)
    key_file = workspace / "ttp.key"
    create_key_file(key_file)
    keys, recipients = workspace / "provider_keys", workspace / "recipients"
    recipients.mkdir(exist_ok=True)
    for agb in generated.providers:
        public_path, _ = create_age_keys(agb, keys)
        shutil.copyfile(public_path, recipients / public_path.name)
    pin_recipients(recipients)
    output = workspace / "output"
    assert generated.registry_file is not None
    result = cli("run", "--input", generated.input_dir, "--output", output, "--round", ROUND, "--config",
                 generated.config_file, "--key-file", key_file, "--recipients", recipients, "--registry",
                 generated.registry_file)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((output / ROUND / "run_summary.json").read_text())
    prober = [c for c in generated.providers if c.startswith("22")][3]
    return HostileRound(generated, output, keys, summary, result, probe_bsn, victim, prober)


def test_every_hostile_file_costs_only_itself_with_its_reason(hostile: HostileRound):
    ggz = [c for c in hostile.generated.providers if c.startswith("22")]
    expected = {
        f"{ggz[0]}/bom.xlsx": "too_large", f"{ggz[0]}/bom.parquet": "too_large",
        f"{ggz[12]}/utf16.csv": "unreadable_encoding", f"{ggz[13]}/mixed.csv": "unreadable_encoding",
        "99999999/x.csv": "unknown_sender", "misc/x.csv": "unknown_sender",
    }  # fmt: skip
    for name, reason in expected.items():
        detail = hostile.detail(name)
        assert (detail["status"], detail["reason"]) == ("rejected", reason), name
    for detail in hostile.summary["files"]["details"]:
        if detail["status"] == "accepted":
            assert detail["rows_accepted"] + detail["rows_rejected"] == detail["rows_received"], detail["file"]
    assert hostile.detail(f"{ggz[11]}/ragged.csv")["rejected_by_reason"] == {"row_malformed": 2}
    assert hostile.detail(f"{ggz[14]}/nul.csv")["rejected_by_reason"] == {"control_characters": 1}
    assert hostile.detail(f"{ggz[15]}/huge.csv")["rejected_by_reason"] == {"voornaam_too_long": 1}
    assert hostile.detail(f"{ggz[3]}/extra.csv")["rejected_by_reason"] == {
        "agb_code_not_sender": 2, "agb_code_unknown": 1, "sector_not_registered": 1, "sector_invalid": 3}  # fmt: skip
    assert hostile.detail(f"{ggz[3]}/extra.csv")["warnings"]["bsn_invalid"] == 1
    assert hostile.detail("los_bestand.csv")["sender"] is None
    assert hostile.summary["senders"]["unverified_files"] == 2
    msz = next(c for c in hostile.generated.providers if c.startswith("06"))
    assert hostile.detail(f"{msz}/zeven.csv")["rows_accepted"] == 1


def test_a_file_rejected_whole_goes_back_to_its_sender_only(hostile: HostileRound):
    ggz = [c for c in hostile.generated.providers if c.startswith("22")]
    rejected = hostile.package(ggz[0], "afgewezen.csv")
    whole = rejected.filter(pl.col("rij").is_null())
    assert sorted(whole["bestand"].to_list()) == [f"{ggz[0]}/bom.parquet", f"{ggz[0]}/bom.xlsx"]
    assert set(whole["reden"].to_list()) == {"too_large"} and set(whole["soort"].to_list()) == {"aanlevering"}
    assert whole["toelichting"].null_count() == 0
    quality = hostile.package(ggz[0], "datakwaliteit.csv").row(0, named=True)
    assert int(quality["bestanden_afgewezen"]) == 2
    for other in ggz[1:4]:
        assert hostile.package(other, "afgewezen.csv").filter(pl.col("rij").is_null()).is_empty()
    assert "99999999" not in hostile.summary["delivered"]
    assert "99999999" not in {item["agb_code"] for item in hostile.summary["undelivered"]}


def test_rows_for_another_organisation_never_reach_it(hostile: HostileRound):
    victim_list = hostile.package(hostile.victim, "contactlijst.csv")
    victim_rejected = hostile.package(hostile.victim, "afgewezen.csv")
    assert not {"STOLEN1", "STOLEN2"} & set(victim_list["client_id"].to_list() + victim_rejected["client_id"].to_list())
    sender_rejected = hostile.package(hostile.prober, "afgewezen.csv")
    stolen = sender_rejected.filter(pl.col("client_id").is_in(["STOLEN1", "STOLEN2"]))
    assert stolen["reden"].to_list() == ["agb_code_not_sender"] * 2
    national = pl.read_csv(hostile.output / ROUND / "insurers" / "national.csv", separator=";", infer_schema=False)
    registered = set(hostile.generated.names)
    assert set(national["agb_code"].to_list()) <= registered, "no phantom provider"
    assert national["naam"].to_list() == [hostile.generated.names[c] for c in national["agb_code"].to_list()]


def test_the_membership_probe_with_the_senders_own_code_is_what_remains(hostile: HostileRound):
    """SECURITY.md, threat 20: a provider that submits a BSN under its own code learns from its
    own list whether that person waits elsewhere. Sender binding cannot stop this; it stops the
    probe from touching anyone else's list and keeps it in the audit trail of the prober's file."""
    own = hostile.package(hostile.prober, "contactlijst.csv")
    assert "PROBE1" in own["client_id"].to_list()
    assert own.filter(pl.col("client_id") == "PROBE1")["soort"].to_list() == ["dubbel"]


def test_formula_cells_are_escaped_in_every_csv(hostile: HostileRound):
    own = hostile.package(hostile.prober, "contactlijst.csv")
    assert {"'" + formula for formula in FORMULAS[:2]} <= set(own["client_id"].to_list())
    rejected = hostile.package(hostile.prober, "afgewezen.csv")
    assert {"'" + formula for formula in (*FORMULAS[2:], "=1+1")} <= set(rejected["client_id"].to_list())
    flat = hostile.package([c for c in hostile.generated.providers if c.startswith("22")][9], "afgewezen.csv")
    assert "'@SUM(1).csv" in flat["bestand"].to_list()
    operator_files = [p for p in (hostile.output / ROUND).rglob("*.csv") if "providers" not in p.parts]
    plaintexts = [pl.read_csv(p, separator=";", infer_schema=False) for p in operator_files]
    plaintexts += [own, rejected, flat]
    for frame in plaintexts:
        for value in frame.select(pl.col(pl.Utf8)).unpivot()["value"].drop_nulls().to_list():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_placeholders_never_join_entries_and_are_reported(hostile: HostileRound):
    linkage = hostile.summary["linkage"]
    assert linkage["frequent_value_entries"] >= 5000, "the unlisted placeholder identity is left out"
    ggz = [c for c in hostile.generated.providers if c.startswith("22")]
    national = pl.read_csv(hostile.output / ROUND / "insurers" / "national.csv", separator=";", infer_schema=False)
    truth = hostile.generated.truth["national"]
    for index in (5, 6, 7, 8):
        shown = national.filter(pl.col("agb_code") == ggz[index])["dubbel_wachtenden"].to_list()[0]
        expected = truth.filter(pl.col("agb_code") == ggz[index])["dubbel_wachtenden"].to_list()[0]
        assert shown is None or int(shown) == expected, f"placeholders made double waiters at {ggz[index]}"
    warnings = hostile.detail(f"{ggz[5]}/placeholders.csv")["warnings"]
    assert warnings["placeholder_value"] == 2500


def test_unknown_headers_reach_only_the_providers_own_package(hostile: HostileRound):
    ggz = [c for c in hostile.generated.providers if c.startswith("22")]
    assert hostile.detail(f"{ggz[10]}/kolommen.csv")["unknown_columns"] == 1
    needle = SECRET_HEADER.encode()
    for path in hostile.output.rglob("*"):
        if path.is_file():
            assert needle not in path.read_bytes(), path
    quality = hostile.package(ggz[10], "datakwaliteit.csv")
    assert SECRET_HEADER in quality["onbekende_kolommen"].to_list()[0]
    assert "niet_aangeleverde_optionele_kolommen" in quality.columns


def test_memory_stays_bounded_with_the_bombs_in_the_round(hostile: HostileRound):
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert peak_kib < MEMORY_BOUND_KIB, f"a process of the round peaked at {peak_kib // 1024} MiB"
