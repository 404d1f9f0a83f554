"""The linkage evaluation: its measures, and a small generated round scored end to end."""

from pathlib import Path

import polars as pl

from flows.evaluation import ours_generated, recordlinkage_pairs, without_both_bsn
from flows.evaluation_data import Dataset, generated_dataset, pairs_in_groups, precision_recall, recall_per_pass


def test_recall_per_pass_counts_each_pass_and_all_passes_together():
    candidates = pl.DataFrame({"l": [2, 3, 5, 9], "r": [1, 4, 6, 8], "pass": ["a", "a", "b", "b"]})
    truth = {(1, 2), (5, 6), (7, 10)}
    assert recall_per_pass(candidates, truth) == {"a": 0.3333, "b": 0.3333, "alle": 0.6667}


def test_pairs_of_one_person_leave_out_pairs_that_both_have_a_bsn():
    frame = pl.DataFrame({"unique_id": [1, 2, 3, 4], "person": [7, 7, 7, 8], "has_bsn": [True, True, False, True]})
    assert pairs_in_groups(frame, "person", skip_both_bsn=True) == {(1, 3), (2, 3)}
    assert pairs_in_groups(frame, "person", skip_both_bsn=False) == {(1, 2), (1, 3), (2, 3)}
    dataset = Dataset("t", [frame], truth=set())
    assert without_both_bsn({(1, 2), (1, 3), (3, 4)}, dataset) == {(1, 3), (3, 4)}


def test_precision_and_recall_of_a_prediction():
    assert precision_recall({1, 2, 3, 4}, {2, 3, 5, 6})["precision"] == 0.5
    assert precision_recall({1, 2, 3, 4}, {2, 3, 5, 6, 7, 8, 9, 10})["recall"] == 0.25


def test_the_generated_round_is_scored_end_to_end(tmp_path: Path):
    dataset = generated_dataset(tmp_path, entries=1500, seed=5)
    peers = dataset.sources[0]
    assert peers["unique_id"].n_unique() == peers.height and dataset.truth
    ours = ours_generated(dataset)
    assert ours["pairs"]["precision"] > 0.95 and ours["pairs"]["recall"] > 0.95
    assert ours["blocking_recall"]["alle"] > 0.97
    assert set(ours["blocking_recall"]) > {"geboortedatum", "alle"}
    assert ours["double_waiters_with_bsn"]["entries"] + ours["double_waiters_without_usable_bsn"]["entries"] == (
        peers.height
    )
    baseline = recordlinkage_pairs(dataset)
    assert 0 < baseline["pairs"]["recall"] <= baseline["blocking_recall"]["alle"]
