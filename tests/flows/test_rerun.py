"""Same inputs, same key: the same outputs (the plaintext side)."""

import json
from pathlib import Path

from tests.conftest import RoundRun, cli


def snapshot(run: RoundRun) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for path in sorted(run.round_dir.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(run.round_dir).as_posix()
        data = path.read_bytes()
        if relative.startswith("providers/") and path.suffix == ".age":
            agb = path.parent.name
            for name, plaintext in run.delivered(agb).items():
                files[f"providers/{agb}/{name}"] = plaintext
            continue
        if relative == "run_summary.json":
            document = json.loads(data)
            document.pop("duration_s")
            document["linkage"].pop("seconds")
            document.pop("stage_seconds")
            document.pop("stage_bytes_written")  # a measurement, like the seconds
            data = json.dumps(document, sort_keys=True).encode()
        if relative in ("manifest.json", "run_summary.html"):  # both hold the round's timings
            continue
        files[relative] = data
    return files


def test_rerun_gives_the_same_outputs(exact_round: RoundRun, tmp_path: Path):
    before = snapshot(exact_round)
    result = cli(
        "run",
        "--input",
        exact_round.generated.input_dir,
        "--output",
        exact_round.output,
        "--round",
        exact_round.round_id,
        "--config",
        exact_round.generated.config_file,
        "--key-file",
        exact_round.key_file,
        "--recipients",
        exact_round.workspace / "recipients",
    )
    assert result.returncode == 0, result.stderr
    after = snapshot(exact_round)
    assert before.keys() == after.keys()
    for name in before:
        assert before[name] == after[name], name
