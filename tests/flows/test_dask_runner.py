"""The round's mapped tasks on a Dask cluster (prefect-dask's DaskTaskRunner): the same round
as with the default thread pool, with the reading and pseudonymising done by the cluster."""

import json
from pathlib import Path

import pytest
from distributed import Client, LocalCluster

from flows.cleanup_round import task_runner_for
from flows.settings_sections import RunnerSettings
from hashing.keys import create_key_file
from sample_data.generate import RoundSpec, generate_round
from tests.conftest import cli


def test_settings_choose_the_task_runner():
    assert type(task_runner_for(RunnerSettings())).__name__ == "ThreadPoolTaskRunner"
    assert type(task_runner_for(RunnerSettings(kind="dask", dask_address="tcp://127.0.0.1:1"))).__name__ == (
        "DaskTaskRunner"
    )
    with pytest.raises(ValueError, match="dask_address"):
        RunnerSettings(dask_address="tcp://127.0.0.1:1")


def test_a_round_on_a_local_dask_cluster_equals_the_threaded_round(tmp_path: Path):
    generated = generate_round(tmp_path, RoundSpec(entries=1500, providers=8))
    key_file = tmp_path / "ttp.key"
    create_key_file(key_file)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        dask_config = tmp_path / "dask.toml"
        dask_config.write_text(
            generated.config_file.read_text(encoding="utf-8")
            + f'\n[runner]\nkind = "dask"\ndask_address = "{cluster.scheduler_address}"\n',
            encoding="utf-8",
        )
        runs = {}
        for name, config in (("threads", generated.config_file), ("dask", dask_config)):
            result = cli("run", "--input", generated.input_dir, "--output", tmp_path / name, "--round", "2026-11",
                         "--config", config, "--key-file", key_file, "--json")  # fmt: skip
            assert result.returncode == 0, result.stderr
            runs[name] = json.loads(result.stdout)
        with Client(cluster) as client:
            prefixes = client.run_on_scheduler(lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
    assert "stage_files" in prefixes, "the files must have been staged by the Dask workers"
    for key in ("files", "rows", "entries", "persons", "double_waiters", "internal_duplicates", "links"):
        assert runs["dask"][key] == runs["threads"][key], key
    insurers = sorted(p.name for p in (tmp_path / "threads" / "2026-11" / "insurers").glob("*.csv"))
    assert insurers
    for name in insurers:
        threaded = (tmp_path / "threads" / "2026-11" / "insurers" / name).read_bytes()
        assert (tmp_path / "dask" / "2026-11" / "insurers" / name).read_bytes() == threaded, name


def test_files_are_staged_in_batches_that_keep_every_worker_busy():
    from flows.stages import MAX_FILES_PER_BATCH, batches
    from ingest.inventory import InputFile

    files = [InputFile(Path(f"f{i}.csv"), f"{i:064x}", 1) for i in range(2000)]
    split = batches(files, workers=2)
    assert [f for batch in split for f in batch] == files
    assert max(map(len, split)) <= MAX_FILES_PER_BATCH and len(split) >= 16
    assert [len(b) for b in batches(files[:5], workers=2)] == [1, 1, 1, 1, 1]
    assert batches([], workers=2) == []
