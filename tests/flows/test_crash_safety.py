"""Kill a round at every stage, run it again: the same outputs, nothing half-written, nothing
delivered twice, the interruption in the audit log; and one run of a round at a time."""

import fcntl
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from flows.cli import EXIT_LOCKED
from flows.resume import FAULT_POINTS
from tests.conftest import RoundRun, cli
from tests.flows.test_rerun import snapshot


def run_round(run: RoundRun, output: Path, fault: str | None = None):
    return cli(
        "run", "--input", run.generated.input_dir, "--output", output, "--round", run.round_id,
        "--config", run.generated.config_file, "--key-file", run.key_file,
        "--recipients", run.workspace / "recipients", "--quiet",
        fault_at=fault, own_session=True,
    )  # fmt: skip


@pytest.mark.parametrize("stage", FAULT_POINTS)
def test_a_round_killed_at_any_stage_resumes_to_the_same_outputs(exact_round: RoundRun, tmp_path: Path, stage: str):
    output = tmp_path / "out"
    killed = run_round(exact_round, output, fault=stage)
    assert killed.returncode not in (0, 1), f"the run should have been killed at {stage}"
    resumed = run_round(exact_round, output)
    assert resumed.returncode == 0, resumed.stderr
    moved = RoundRun(exact_round.generated, exact_round.workspace, output, exact_round.round_id,
                     exact_round.key_file, exact_round.provider_keys, resumed)  # fmt: skip
    assert snapshot(moved) == snapshot(exact_round)
    assert not [p for p in output.rglob("*.tmp") if p.is_file()], "no half-written file is left"
    events = [json.loads(line) for line in (output / "audit.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events].count("round_interrupted") == 1
    deliveries = Counter((e["recipient"], e["object"]) for e in events if e["event"] == "file_delivered")
    assert deliveries and max(deliveries.values()) == 1, "no file is delivered twice"


def test_two_runs_of_one_round_at_once_are_refused(exact_round: RoundRun, tmp_path: Path):
    output = tmp_path / "out"
    lock = output / "_ttp" / exact_round.round_id / "round.lock"
    lock.parent.mkdir(parents=True)
    with lock.open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another run holds the round
        refused = run_round(exact_round, output)
    assert refused.returncode == EXIT_LOCKED
    assert "another run of this round is in progress" in refused.stderr
    assert not (output / exact_round.round_id / "insurers").exists()
    shutil.rmtree(output)
