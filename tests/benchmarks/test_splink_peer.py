"""Splink, the peer of the linkage evaluation, runs on the plain generated round."""

from pathlib import Path

import pytest

from flows.evaluation_data import generated_dataset

pytest.importorskip("splink")


@pytest.mark.slow
def test_splink_links_a_small_generated_round(tmp_path: Path):
    from benchmarks.linkage_evaluation import splink_system

    result = splink_system(generated_dataset(tmp_path, entries=1500, seed=5))
    assert result["pairs"]["precision"] > 0.9 and result["pairs"]["recall"] > 0.9
    assert result["pairs"]["recall"] <= result["blocking_recall"]["alle"]
