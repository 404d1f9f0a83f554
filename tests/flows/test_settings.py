import datetime as dt
from pathlib import Path

import pytest
from pydantic import ValidationError

from flows.round_context import resolve_reference_date
from flows.settings import SettingsError, load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "wachtlijst.example.toml"


def test_defaults_and_example_config_are_valid():
    defaults = load_settings()
    assert defaults.disclosure_threshold == 10
    assert defaults.norm_days()[("ggz", "behandeling")] == 70
    assert defaults.norm_days()[("msz", "behandeling")] == 49
    assert defaults.match_scope == {"ggz": ["sector"], "msz": ["sector", "zorgvraag"]}
    example = load_settings(EXAMPLE)
    assert example.paths.recipients == EXAMPLE.parent / "recipients"
    assert example.providers == {} and example.locations == {} and example.column_aliases == {}, "no sample data"
    assert example.model_dump(exclude={"paths"}) == defaults.model_dump(exclude={"paths"})


def test_environment_overrides_the_file(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WACHTLIJST_DISCLOSURE_THRESHOLD", "5")
    monkeypatch.setenv("WACHTLIJST_NORMS_WEEKS", '{"ggz": {"aanmelding": 3}}')
    settings = load_settings(EXAMPLE)
    assert settings.disclosure_threshold == 5
    assert settings.norms_weeks["ggz"] == {"aanmelding": 3, "behandeling": 10}


def test_settings_are_frozen():
    settings = load_settings()
    with pytest.raises(ValidationError):
        settings.disclosure_threshold = 3  # type: ignore[misc]


def test_every_problem_is_reported_at_once(tmp_path: Path):
    config = tmp_path / "c.toml"
    config.write_text(
        "disclosure_threshold = 1\n"
        'match_scope = { ggz = ["zorgvraag"], msz = ["sector", "kleur"] }\n'
        "[norms_weeks.wlz]\naanmelding = 4\n"
    )
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    message = str(caught.value)
    assert "disclosure_threshold" in message and "match_scope" in message and "norms_weeks" in message


def test_conflicting_aliases_and_bad_codes_are_refused(tmp_path: Path):
    config = tmp_path / "c.toml"
    config.write_text(
        '[column_aliases]\n"Nummer" = "client_id"\n'
        '[providers."22000001"]\ncolumn_aliases = { "nummer" = "bsn" }\n'
        '[providers."123"]\n'
        '[locations]\n"22000101" = "2200"\n'
    )
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    message = str(caught.value)
    assert "'nummer' maps to 'bsn' and 'client_id'" in message
    assert "'123'" in message and "'2200'" in message


def test_unreadable_toml_is_a_settings_error(tmp_path: Path):
    config = tmp_path / "c.toml"
    config.write_text("disclosure_threshold = \n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(config)
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


def test_reference_date_resolution():
    today = dt.date(2026, 11, 22)
    assert resolve_reference_date(dt.date(2026, 1, 2), dt.date(2026, 3, 4), "2026-11", today) == dt.date(2026, 1, 2)
    assert resolve_reference_date(None, dt.date(2026, 3, 4), "2026-11", today) == dt.date(2026, 3, 4)
    assert resolve_reference_date(None, None, "2026-11", today) == dt.date(2026, 11, 1)
    assert resolve_reference_date(None, None, "2026-11-15-herstel", today) == dt.date(2026, 11, 15)
    assert resolve_reference_date(None, None, "ronde-7", today) == today


def test_the_store_takes_the_machine_unless_told_otherwise(tmp_path: Path):
    from linkage.store import machine_resources, open_store

    machine = machine_resources()
    assert load_settings().store.resources() == machine and machine.threads >= 1 and machine.memory_mb >= 1024
    config = tmp_path / "c.toml"
    config.write_text("[store]\nthreads = 1\nmemory_mb = 700\n")
    resources = load_settings(config).store.resources()
    assert (resources.threads, resources.memory_mb) == (1, 700)
    with open_store(tmp_path / "s.duckdb", resources) as con:
        threads, memory = con.sql("SELECT current_setting('threads'), current_setting('memory_limit')").fetchall()[0]
    assert (int(threads), memory) == (1, "700.0 MiB")
    config.write_text("[store]\nmemory_mb = 100\nthreads = 0\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    assert "memory_mb" in str(caught.value) and "threads" in str(caught.value)


def test_linkings_memory_grows_with_the_round_within_the_machine_and_the_configuration(tmp_path: Path):
    """Given the round's entries, the store's memory limit is what linking works in (a base and a
    share per million entries), never above half the machine, and a configured limit wins."""
    from linkage.store import ROUND_BASE_MB, ROUND_MB_PER_MILLION_ENTRIES, machine_resources

    machine = machine_resources()
    small, large = load_settings().store.resources(100_000), load_settings().store.resources(10**9)
    assert small.memory_mb == min(machine.memory_mb, ROUND_BASE_MB + ROUND_MB_PER_MILLION_ENTRIES // 10)
    assert large.memory_mb == machine.memory_mb and small.threads == large.threads == machine.threads
    config = tmp_path / "c.toml"
    config.write_text("[store]\nmemory_mb = 700\n")
    assert load_settings(config).store.resources(10**9).memory_mb == 700
