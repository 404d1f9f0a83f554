"""Rotating the TTP's key: archive the raw extracts encrypted, rotate, restore, rerun under the
new key; the pseudonyms change, the published results do not."""

import json
import shutil
from pathlib import Path

import duckdb

from flows.cli import EXIT_DECRYPT
from hashing.keys import load_key_file
from tests.conftest import RoundRun, cli
from tests.flows.test_privacy import identifier_pattern, plain_identifiers


def run(inbox: Path, output: Path, config: Path, key: Path, run_: RoundRun) -> None:
    result = cli(
        "run", "--input", inbox, "--output", output, "--round", "2026-11", "--config", config,
        "--key-file", key, "--recipients", run_.workspace / "recipients", "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def stored_key_ids(output: Path) -> set[str]:
    with duckdb.connect(str(output / "_ttp" / "2026-11" / "round.duckdb"), read_only=True) as con:
        return {row[0] for row in con.sql("SELECT DISTINCT key_id FROM entries").fetchall()}


def test_rotation_procedure_relinks_history_under_the_new_key(exact_round: RoundRun, tmp_path: Path):
    inbox = tmp_path / "inbox"
    shutil.copytree(exact_round.generated.input_dir, inbox)
    originals = {p.name: p.read_bytes() for p in inbox.iterdir()}
    assert cli("keys", "archive", "--out", tmp_path / "archive_keys").returncode == 0
    config = tmp_path / "config.toml"
    archive_settings = (
        f'[paths]\ninput_archive = "{tmp_path / "archive"}"\n'
        f'archive_public_key = "{tmp_path / "archive_keys" / "archive.pub"}"\n'
    )
    config.write_text(
        exact_round.generated.config_file.read_text()
        .replace("disclosure_threshold = 10", "disclosure_threshold = 10\ninput_retention_days = 0")
        .replace("[paths]\n", archive_settings)
    )
    run(inbox, tmp_path / "old", config, exact_round.key_file, exact_round)
    assert not any(inbox.iterdir()), "raw extracts are deleted once archived"
    archived = sorted((tmp_path / "archive" / "2026-11").iterdir())
    assert len(archived) == len(originals)
    pattern = identifier_pattern(plain_identifiers(exact_round.generated.input_dir))
    assert all(pattern.search(p.read_bytes()) is None for p in archived), "the archive is ciphertext"
    events = [json.loads(line)["event"] for line in (tmp_path / "old" / "audit.jsonl").read_text().splitlines()]
    assert events.count("input_archived") == len(originals) and events.count("input_deleted") == len(originals)

    new_key = tmp_path / "keys" / "ttp-2.key"
    rotated = cli("keys", "rotate", "--key-file", exact_round.key_file, "--out", new_key)
    assert rotated.returncode == 0, rotated.stderr
    old_id = load_key_file(exact_round.key_file).key_id
    assert load_key_file(new_key).replaces == old_id

    wrong = cli("archive", "restore", "--archive", tmp_path / "archive", "--round", "2026-11",
                "--key", exact_round.provider_keys / f"{exact_round.generated.providers[0]}.key",
                "--out", tmp_path / "nope")  # fmt: skip
    assert wrong.returncode == EXIT_DECRYPT
    restored = tmp_path / "restored"
    result = cli("archive", "restore", "--archive", tmp_path / "archive", "--round", "2026-11",
                 "--key", tmp_path / "archive_keys" / "archive.key", "--out", restored)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert {p.name: p.read_bytes() for p in restored.iterdir()} == originals

    run(restored, tmp_path / "new", config.with_name("config.toml"), new_key, exact_round)
    assert stored_key_ids(tmp_path / "old") == {old_id}
    assert stored_key_ids(tmp_path / "new") == {load_key_file(new_key).key_id}
    for name in ("national.csv", "totalen.csv"):
        old_file = tmp_path / "old" / "2026-11" / "insurers" / name
        assert old_file.read_bytes() == (tmp_path / "new" / "2026-11" / "insurers" / name).read_bytes()
