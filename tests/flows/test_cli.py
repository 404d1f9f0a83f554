"""The operator's errors: one clear message and a documented exit code, never a traceback."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from flows.cli import EXIT_AUDIT, EXIT_CONFIG, EXIT_DECRYPT, EXIT_INPUT, EXIT_KEY, EXIT_OUTPUT
from tests.conftest import RoundRun, cli


def test_run_without_key_stops_clearly(tmp_path: Path):
    (tmp_path / "in").mkdir()
    result = cli("run", "--input", tmp_path / "in", "--output", tmp_path / "out", "--round", "r1")
    assert result.returncode == EXIT_KEY
    assert "no pseudonymisation key" in result.stderr and "Traceback" not in result.stderr


def test_key_from_environment_and_empty_input(tmp_path: Path, exact_round: RoundRun):
    (tmp_path / "in").mkdir()
    result = cli(
        "run",
        "--input",
        tmp_path / "in",
        "--output",
        tmp_path / "out",
        "--round",
        "r1",
        env={"WACHTLIJST_KEY_FILE": str(exact_round.key_file)},
    )
    assert result.returncode == EXIT_INPUT
    assert "holds no files" in result.stderr


def test_bad_configuration_lists_every_problem(tmp_path: Path, exact_round: RoundRun):
    config = tmp_path / "bad.toml"
    config.write_text('disclosure_threshold = 0\ncolour = "blue"\n[norms_weeks.ggz]\naanmelding = -1\n')
    result = cli(
        "run",
        "--input",
        exact_round.generated.input_dir,
        "--output",
        tmp_path / "out",
        "--round",
        "r1",
        "--config",
        config,
        "--key-file",
        exact_round.key_file,
    )
    assert result.returncode == EXIT_CONFIG
    for fragment in ("disclosure_threshold", "colour", "norms_weeks", "3 problem"):
        assert fragment in result.stderr
    assert "Traceback" not in result.stderr


def test_loose_key_permissions_are_refused(tmp_path: Path, exact_round: RoundRun):
    loose = tmp_path / "loose.key"
    shutil.copyfile(exact_round.key_file, loose)
    loose.chmod(0o644)
    result = cli(
        "run",
        "--input",
        exact_round.generated.input_dir,
        "--output",
        tmp_path / "o",
        "--round",
        "r",
        "--key-file",
        loose,
    )
    assert result.returncode == EXIT_KEY and "chmod 600" in result.stderr


def package_of(run: RoundRun, agb: str) -> Path:
    return run.round_dir / "providers" / agb / f"{run.round_id}.age"


def test_decrypt_unpacks_a_package_and_is_recorded_in_the_providers_audit_log(exact_round: RoundRun, tmp_path: Path):
    agb = exact_round.generated.providers[0]
    signer = exact_round.round_dir / "providers" / "ondertekening.pub"
    log = tmp_path / "provider_audit.jsonl"
    own_key = exact_round.provider_keys / f"{agb}.key"
    ok = cli("decrypt", "--key", own_key, "--signer", signer, "--out", tmp_path / "uit", package_of(exact_round, agb),
             "--audit-log", log)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert sorted(p.name for p in (tmp_path / "uit").iterdir()) == sorted(exact_round.delivered(agb))
    assert all((tmp_path / "uit" / name).stat().st_mode & 0o077 == 0 for name in exact_round.delivered(agb))
    other = exact_round.generated.providers[1]
    refused = cli("decrypt", "--key", exact_round.provider_keys / f"{other}.key", "--signer", signer,
                  "--out", tmp_path / "ander", package_of(exact_round, agb), "--audit-log", log)  # fmt: skip
    assert refused.returncode == EXIT_DECRYPT and "niet voor deze sleutel" in refused.stderr
    assert not (tmp_path / "ander").exists()
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["event"] for e in events] == ["file_decrypted", "decrypt_failed"]
    assert cli("audit", "verify", log).returncode == 0


def test_decrypt_takes_the_providers_folder_and_verify_reports_the_package(exact_round: RoundRun, tmp_path: Path):
    agb = exact_round.generated.providers[0]
    key, signer = exact_round.provider_keys / f"{agb}.key", exact_round.round_dir / "providers" / "ondertekening.pub"
    folder = exact_round.round_dir / "providers" / agb
    assert cli("decrypt", "--key", key, "--signer", signer, "--out", tmp_path / "uit", folder).returncode == 0
    assert (tmp_path / "uit" / "contactlijst.csv").read_bytes() == exact_round.delivered(agb)["contactlijst.csv"]
    checked = cli("verify", "--key", key, "--signer", signer, "--round", exact_round.round_id, folder)
    assert checked.returncode == 0 and f"ronde {exact_round.round_id} voor AGB {agb}: in orde" in checked.stdout
    unsigned = cli("decrypt", "--key", key, "--out", tmp_path / "x", folder)
    assert unsigned.returncode == EXIT_DECRYPT and "ondertekeningssleutel" in unsigned.stderr
    to_terminal = cli("decrypt", "--key", key, "--signer", signer, folder)
    assert to_terminal.returncode != 0 and "--out" in to_terminal.stderr


def test_keys_commands(tmp_path: Path):
    assert cli("keys", "init", "--out", tmp_path / "k.key").returncode == 0
    again = cli("keys", "init", "--out", tmp_path / "k.key")
    assert again.returncode == EXIT_KEY and "never overwritten" in again.stderr
    created = cli("keys", "recipient", "--agb", "22000001", "--out", tmp_path)
    assert created.returncode == 0
    assert (tmp_path / "22000001.pub").read_text().startswith("age1")
    assert (tmp_path / "22000001.key").stat().st_mode & 0o777 == 0o600
    public, private = (cli("keys", "fingerprint", tmp_path / f"22000001.{s}") for s in ("pub", "key"))
    spoken = public.stdout.split("  (")[0]
    assert public.returncode == private.returncode == 0 and public.stdout == private.stdout
    assert len(spoken.split()) == 5 and f"vingerafdruk {spoken}" in created.stdout
    signer = cli("keys", "signer", "--key", tmp_path / "k.key", "--out", tmp_path / "ondertekening.pub")
    assert signer.returncode == 0
    assert cli("keys", "fingerprint", tmp_path / "ondertekening.pub").stdout.split("  (")[0] in signer.stdout


def test_a_renamed_or_replayed_package_is_refused(exact_round: RoundRun, tmp_path: Path):
    agb = exact_round.generated.providers[0]
    key, signer = exact_round.provider_keys / f"{agb}.key", exact_round.round_dir / "providers" / "ondertekening.pub"
    renamed = tmp_path / "2026-12.age"  # last month's package passed off as this month's
    shutil.copyfile(package_of(exact_round, agb), renamed)
    result = cli("verify", "--key", key, "--signer", signer, renamed)
    assert result.returncode == EXIT_DECRYPT and "bestandsnaam" in result.stderr
    replayed = cli("verify", "--key", key, "--signer", signer, "--round", "2026-12", package_of(exact_round, agb))
    assert replayed.returncode == EXIT_DECRYPT and "niet van ronde 2026-12" in replayed.stderr


@pytest.mark.skipif(
    shutil.which("age") is None and not os.environ.get("WACHTLIJST_REQUIRE_AGE"),
    reason="the age command is not installed (scripts/install-system-tools.sh installs it)",
)
def test_the_age_command_opens_a_package_without_python(exact_round: RoundRun, tmp_path: Path):
    """A provider without our tool: Debian's age binary decrypts, Python's zipfile stands in for Explorer."""
    import zipfile

    agb = exact_round.generated.providers[0]
    opened = subprocess.run(
        ["age", "--decrypt", "-i", str(exact_round.provider_keys / f"{agb}.key"), "-o", str(tmp_path / "pakket.zip"),
         str(package_of(exact_round, agb))],
        capture_output=True, check=False,
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    with zipfile.ZipFile(tmp_path / "pakket.zip") as archive:
        inside = {name: archive.read(name) for name in archive.namelist()}
    assert {"manifest.json", "manifest.sig"} < set(inside)
    assert {k: v for k, v in inside.items() if not k.startswith("manifest.")} == exact_round.delivered(agb)
    other = exact_round.generated.providers[1]
    refused = subprocess.run(
        ["age", "--decrypt", "-i", str(exact_round.provider_keys / f"{other}.key"), str(package_of(exact_round, agb))],
        capture_output=True, check=False,
    )  # fmt: skip
    assert refused.returncode != 0


def test_audit_verify_command(dirty_round: RoundRun, tmp_path: Path):
    original = dirty_round.output / "audit.jsonl"
    log = tmp_path / "intact.jsonl"
    shutil.copyfile(original, log)
    assert cli("audit", "verify", log).returncode == 0
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert records[-1]["event"] == "audit_verified" and records[-1]["problems"] == 0
    for record in records:  # NEN 7513: who, on whose behalf, which system, what, which object, when
        assert {"time", "actor", "on_behalf_of", "system", "event", "object", "recipient", "prev"} <= record.keys()
    lines = original.read_text().splitlines()
    edited = lines[3].replace('"round": "2026-11"', '"round": "2026-12"')
    assert edited != lines[3]
    for name, tampered_lines in {
        "reordered": [lines[1], lines[0], *lines[2:]],
        "removed": [*lines[:2], *lines[3:]],
        "edited": [*lines[:3], edited, *lines[4:]],
    }.items():
        tampered = tmp_path / f"{name}.jsonl"
        tampered.write_text("\n".join(tampered_lines) + "\n")
        result = cli("audit", "verify", tampered)
        assert result.returncode == EXIT_AUDIT and "altered" in result.stderr, name


def test_wrong_usage_is_one_message_and_exit_2():
    result = cli("run", "--bogus")
    assert result.returncode == 2 and "No such option" in result.stderr and "Traceback" not in result.stderr


def test_key_from_the_environment_as_a_secrets_manager_injects_it(exact_round: RoundRun, tmp_path: Path):
    result = cli(
        "run",
        "--input",
        exact_round.generated.input_dir,
        "--output",
        tmp_path / "out",
        "--round",
        "2026-11",
        "--config",
        exact_round.generated.config_file,
        "--recipients",
        exact_round.workspace / "recipients",
        env={"WACHTLIJST_KEY": exact_round.key_file.read_text()},
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "out" / "2026-11" / "run_summary.json").read_text())
    assert summary["key_version"] == json.loads(exact_round.key_file.read_text())["key_id"]
    secret = json.loads(exact_round.key_file.read_text())["key"].encode()
    assert not any(secret in p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file())
    broken = cli(
        "run",
        "--input",
        exact_round.generated.input_dir,
        "--output",
        tmp_path / "o2",
        "--round",
        "r",
        env={"WACHTLIJST_KEY": "not a key"},
    )
    assert broken.returncode == EXIT_KEY and "not a wachtlijst key" in broken.stderr


def test_raw_extracts_are_deleted_after_a_successful_round_when_configured(exact_round: RoundRun, tmp_path: Path):
    inbox = tmp_path / "inbox"
    shutil.copytree(exact_round.generated.input_dir, inbox)
    config = tmp_path / "config.toml"
    config.write_text(exact_round.generated.config_file.read_text().replace(
        "disclosure_threshold = 10", "disclosure_threshold = 10\ninput_retention_days = 0"))  # fmt: skip
    result = cli(
        "run",
        "--input",
        inbox,
        "--output",
        tmp_path / "out",
        "--round",
        "2026-11",
        "--config",
        config,
        "--key-file",
        exact_round.key_file,
        "--recipients",
        exact_round.workspace / "recipients",
    )
    assert result.returncode == 0, result.stderr
    assert not any(inbox.iterdir())
    events = [json.loads(line) for line in (tmp_path / "out" / "audit.jsonl").read_text().splitlines()]
    deleted = [e for e in events if e["event"] == "input_deleted"]
    assert len(deleted) == len(list(exact_round.generated.input_dir.iterdir()))
    assert all(len(e["sha256"]) == 64 and e["retention_days"] == 0 for e in deleted)


def test_progress_bars_and_closing_table(dirty_round: RoundRun):
    for stage in ("reading + pseudonymising files", "linking", "writing insurer reports", "encrypting provider"):
        assert stage in dirty_round.result.stderr
    assert "files received / accepted / rejected" in dirty_round.result.stdout
    assert "Traceback" not in dirty_round.result.stderr
    assert "Finished in state" not in dirty_round.result.stderr  # Prefect's info lines only with --verbose


def test_quiet_prints_nothing_and_json_prints_only_the_summary(exact_round: RoundRun, tmp_path: Path):
    arguments = [
        "run", "--input", exact_round.generated.input_dir, "--output", tmp_path / "out", "--round", "2026-11",
        "--config", exact_round.generated.config_file, "--key-file", exact_round.key_file,
    ]  # fmt: skip
    quiet = cli(*arguments, "--quiet")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == "" and quiet.stderr == ""
    as_json = cli(*arguments, "--json")
    assert as_json.returncode == 0, as_json.stderr
    printed = json.loads(as_json.stdout)
    written = json.loads((tmp_path / "out" / "2026-11" / "run_summary.json").read_text())
    assert printed == written
    assert printed["double_waiters"] == exact_round.generated.truth["totals"]["double_waiters"][0]
    assert "reading + pseudonymising files" not in as_json.stderr


def test_operator_faults_exit_with_the_path_and_the_cause(tmp_path: Path, exact_round: RoundRun):
    """Start-up refuses, naming the path and the cause: a missing recipients folder, unreadable
    pins, a provider registry with bad rows (every problem, by line), an output that is a file."""
    base = ["run", "--input", exact_round.generated.input_dir, "--round", "r1", "--key-file", exact_round.key_file]
    missing = cli(*base, "--output", tmp_path / "out", "--recipients", tmp_path / "nowhere")
    assert missing.returncode == EXIT_CONFIG
    assert f"recipients folder {tmp_path / 'nowhere'} does not exist" in missing.stderr
    pins = tmp_path / "recipients"
    pins.mkdir()
    (pins / "registry.json").write_text('{"pins": [1, 2')
    corrupt = cli(*base, "--output", tmp_path / "out", "--recipients", pins)
    assert corrupt.returncode == EXIT_CONFIG and str(pins / "registry.json") in corrupt.stderr
    registry = tmp_path / "deelnemers.csv"
    registry.write_text("agb_code;organisatie;naam;sector\n2200001;22000001;A;ggz\n22000002;22000002;;wlz\n")
    bad = cli(*base, "--output", tmp_path / "out", "--registry", registry)
    assert bad.returncode == EXIT_CONFIG
    for fragment in (str(registry), "3 problem", "line 2: agb_code is not 8 digits", "line 3: naam", "line 3: sector"):
        assert fragment in bad.stderr, fragment
    blocked = tmp_path / "a_file"
    blocked.write_text("not a folder")
    not_a_folder = cli(*base, "--output", blocked / "out")
    assert not_a_folder.returncode == EXIT_OUTPUT and str(blocked / "out") in not_a_folder.stderr
    for result in (missing, corrupt, bad, not_a_folder):
        assert "Traceback" not in result.stderr
