"""Two-stage pseudonymisation from the command line: providers pre-pseudonymise, the TTP links."""

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from flows.cli import EXIT_INPUT, EXIT_KEY, EXIT_ROUND_FAILED
from tests.conftest import RoundRun, cli, provider_files
from tests.flows.test_privacy import identifier_pattern, plain_identifiers


@pytest.fixture(scope="module")
def two_stage(dirty_round: RoundRun, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("two_stage")
    stage_one = work / "provider_side" / "stage1.key"
    assert cli("keys", "init", "--purpose", "stage1", "--out", stage_one).returncode == 0
    pre = work / "pre"
    made = cli(
        "prepseudonymise", dirty_round.generated.input_dir, "--out", pre, "--key", stage_one,
        "--config", dirty_round.generated.config_file, "--reference-date", "2026-11-01",
    )  # fmt: skip
    assert made.returncode == EXIT_INPUT, made.stderr  # the round's unusable files, named one by one
    assert "kapot_bestand.xlsx: not usable (unreadable" in made.stderr
    output = work / "out"
    run = cli(
        "run", "--input", pre, "--output", output, "--round", dirty_round.round_id,
        "--config", dirty_round.generated.config_file, "--key-file", dirty_round.key_file,
        "--recipients", dirty_round.workspace / "recipients",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return {"stage_one": stage_one, "pre": pre, "round_dir": output / dirty_round.round_id}


def test_no_plain_identifier_leaves_the_provider(dirty_round: RoundRun, two_stage: dict[str, Path]):
    pattern = identifier_pattern(plain_identifiers(dirty_round.generated.input_dir))
    pre_files = sorted(two_stage["pre"].iterdir())
    assert len(pre_files) >= 20
    for path in pre_files:
        assert pattern.search(path.read_bytes()) is None, path.name


def test_two_stage_round_links_exactly_as_the_plain_round(dirty_round: RoundRun, two_stage: dict[str, Path]):
    plain, staged = dirty_round.round_dir, two_stage["round_dir"]
    insurer_files = sorted(p.name for p in (plain / "insurers").iterdir() if p.suffix == ".csv")
    assert len(insurer_files) > 3
    for name in insurer_files:
        assert (plain / "insurers" / name).read_bytes() == (staged / "insurers" / name).read_bytes(), name
    delivered = json.loads((plain / "run_summary.json").read_text())["delivered"]
    assert delivered
    for agb in delivered:

        def opened(round_dir: Path, name: str, agb: str = agb) -> bytes:
            return provider_files(round_dir, agb, dirty_round.provider_keys)[name]

        assert opened(plain, "contactlijst.csv") == opened(staged, "contactlijst.csv"), agb
        rejected = [pl.read_csv(opened(d, "afgewezen.csv"), separator=";") for d in (plain, staged)]
        assert rejected[0].drop("bestand").equals(rejected[1].drop("bestand")), agb
    summaries = [json.loads((d / "run_summary.json").read_text()) for d in (plain, staged)]
    for field in ("entries", "persons", "double_waiters", "internal_duplicates", "links"):
        assert summaries[0][field] == summaries[1][field], field
    assert summaries[0]["rows"]["rejected_by_reason"] == summaries[1]["rows"]["rejected_by_reason"]
    assert summaries[1]["key_version"].endswith(">" + summaries[0]["key_version"])


def test_the_ttp_refuses_a_stage_one_key(dirty_round: RoundRun, two_stage: dict[str, Path], tmp_path: Path):
    result = cli(
        "run", "--input", two_stage["pre"], "--output", tmp_path / "out", "--round", "r1",
        "--key-file", two_stage["stage_one"],
    )  # fmt: skip
    assert result.returncode == EXIT_KEY
    assert "is a stage1 key, not a pseudonymisation key" in result.stderr


def test_mixing_plain_and_two_stage_extracts_fails_loudly(
    dirty_round: RoundRun, two_stage: dict[str, Path], tmp_path: Path
):
    mixed = tmp_path / "mixed"
    shutil.copytree(two_stage["pre"], mixed)
    plain_file = next(p for p in sorted(dirty_round.generated.input_dir.glob("wachtlijst_*.csv")))
    shutil.copy(plain_file, mixed / plain_file.name)
    result = cli(
        "run", "--input", mixed, "--output", tmp_path / "out", "--round", "r1",
        "--key-file", dirty_round.key_file,
    )  # fmt: skip
    assert result.returncode == EXIT_ROUND_FAILED
    assert "carry 2 key ids" in result.stderr and "never match" in result.stderr
    assert "Traceback" not in result.stderr
