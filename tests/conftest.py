import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from hashing.keys import create_key_file
from reports.delivery import create_recipient_keys, pin_recipients
from sample_data.generate import GeneratedRound, RoundSpec, generate_round

WACHTLIJST = [sys.executable, "-m", "flows.cli"]


@dataclass
class RoundRun:
    """A generated round that was run through the CLI."""

    generated: GeneratedRound
    workspace: Path
    output: Path
    round_id: str
    key_file: Path
    provider_keys: Path
    result: subprocess.CompletedProcess[str]

    @property
    def round_dir(self) -> Path:
        return self.output / self.round_id


def cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the wachtlijst CLI in a fresh process, as an operator would."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "WACHTLIJST_"))}
    environment.update(env or {})
    return subprocess.run(
        [*WACHTLIJST, *map(str, args)], capture_output=True, text=True, env=environment, timeout=600, check=False
    )


def run_generated(workspace: Path, spec: RoundSpec, *, keyless: int = 2, output_name: str = "output") -> RoundRun:
    generated = generate_round(workspace, spec)
    key_file = workspace / "keys" / "ttp.key"
    if not key_file.exists():
        create_key_file(key_file)
    provider_keys = workspace / "provider_keys"
    recipients = workspace / "recipients"
    recipients.mkdir(exist_ok=True)
    for agb in generated.providers[: len(generated.providers) - keyless]:
        if not (provider_keys / f"{agb}.pub").exists():
            public_path, _ = create_recipient_keys(agb, provider_keys)
            shutil.copyfile(public_path, recipients / public_path.name)
    pin_recipients(recipients)
    output = workspace / output_name
    round_id = "2026-11"
    result = cli(
        "run",
        "--input",
        generated.input_dir,
        "--output",
        output,
        "--round",
        round_id,
        "--config",
        generated.config_file,
        "--key-file",
        key_file,
        "--recipients",
        recipients,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return RoundRun(generated, workspace, output, round_id, key_file, provider_keys, result)


@pytest.fixture(scope="session")
def exact_round(tmp_path_factory: pytest.TempPathFactory) -> RoundRun:
    """A round where every row has a valid BSN: outputs must equal the truth exactly."""
    spec = RoundSpec(entries=4000, missing_bsn_share=0.0, invalid_bsn_share=0.0, seed=7)
    return run_generated(tmp_path_factory.mktemp("exact"), spec)


@pytest.fixture(scope="session")
def dirty_round(tmp_path_factory: pytest.TempPathFactory) -> RoundRun:
    """A round with missing and invalid BSNs, bad rows and bad files."""
    return run_generated(tmp_path_factory.mktemp("dirty"), RoundSpec(entries=3000, seed=11))
