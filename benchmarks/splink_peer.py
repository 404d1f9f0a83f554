"""Splink (DuckDB backend) on the plain data: the peer our keyed-encoding linkage is measured
against in the same run (see :mod:`benchmarks.linkage_evaluation`).

The model is the one Splink's own tutorials build for person data, with the fields a waitlist
has: first name and surname (exact, Jaro-Winkler bands, term-frequency adjusted), date of
birth (exact, one character off, within a month, a year, ten years), postcode (exact, same
four digits), sex, and on the generated round the BSN where it is valid. u by random
sampling, the prior from deterministic rules, m by EM on two blocking rules that leave each
other's fields free, links at probability 0.5; clusters by connected components, or, when
linking two duplicate-free sources (FEBRL4), by Splink's single-best-links clustering (at most
one record of each source per cluster: its one-to-one rule). Blocking is as broad as ours.

Splink is an optional dependency of the ``bench`` extra; nothing of the pipeline imports it.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Literal

import polars as pl

SPLINK_THRESHOLD = 0.5
"""Match probability at and above which Splink's pairs are links (as ours)."""


LinkType = Literal["link_only", "link_and_dedupe", "dedupe_only"]


def _settings(link_type: LinkType, with_bsn: bool, with_sex: bool) -> Any:
    """Return the Splink settings of the comparable model."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    postcode = cl.CustomComparison(
        output_column_name="postcode",
        comparison_levels=[
            cll.NullLevel("postcode"),
            cll.ExactMatchLevel("postcode").configure(tf_adjustment_column="postcode"),
            cll.CustomLevel("substr(postcode_l, 1, 4) = substr(postcode_r, 1, 4)", label_for_charts="same PC4"),
            cll.ElseLevel(),
        ],
    )
    comparisons: list[Any] = [
        cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("surname").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison("dob", input_is_string=True),
        postcode,
        *([cl.ExactMatch("sex")] if with_sex else []),
    ]
    if with_bsn:
        comparisons.append(cl.ExactMatch("bsn"))
    return SettingsCreator(
        link_type=link_type,
        comparisons=comparisons,
        # as broad as ours: one or two corrupted fields must not lose a pair
        blocking_rules_to_generate_predictions=[
            block_on("first_name", "surname"),
            block_on("dob"),
            block_on("surname", "substr(postcode, 1, 3)"),
            block_on("first_name", "substr(postcode, 1, 3)"),
            block_on("surname", "substr(dob, 1, 4)"),
            block_on("surname", "substr(dob, 6, 5)"),
            block_on("first_name", "substr(dob, 6, 5)"),
            block_on("postcode"),
            block_on("substr(postcode, 1, 3)", "substr(dob, 1, 4)"),
            *([block_on("bsn")] if with_bsn else []),
        ],
        retain_intermediate_calculation_columns=False,
    )


def splink_clusters(frames: list[pl.DataFrame], link_type: LinkType, *, with_bsn: bool = False) -> dict[str, Any]:
    """Link ``frames`` (columns ``unique_id``, ``first_name``, ``surname``, ``dob`` as
    ``YYYY-MM-DD``, ``postcode``, ``sex``, optionally ``bsn``) with Splink; return the cluster of
    every record (``clusters``: unique_id, source_dataset, cluster_id), the pairs its blocking
    proposed (``blocked``, lower id first) and how many, and the seconds taken (training,
    prediction and clustering)."""
    from splink import DuckDBAPI, Linker, block_on

    started = time.perf_counter()
    db_api = DuckDBAPI()
    tables = [
        db_api.register(frame.to_arrow(), dataset_display_name=f"source_{index}") for index, frame in enumerate(frames)
    ]
    with_sex = any(frame["sex"].is_not_null().any() for frame in frames)
    settings = _settings(link_type, with_bsn, with_sex)
    linker = Linker(tables if len(tables) > 1 else tables[0], settings, log_level=logging.ERROR)
    deterministic: list[Any] = [block_on("first_name", "surname", "dob"), block_on("surname", "dob", "postcode")]
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("first_name", "surname"))
    predictions = linker.inference.predict()
    scored = pl.from_arrow(predictions.as_pyarrow_table().select(["unique_id_l", "unique_id_r"]))
    assert isinstance(scored, pl.DataFrame)
    if link_type == "link_only":  # two duplicate-free sources: Splink's one-to-one clustering
        clusters = linker.clustering.cluster_using_single_best_links(
            predictions, duplicate_free_datasets=[f"source_{i}" for i in range(len(frames))],
            threshold_match_probability=SPLINK_THRESHOLD,
        )  # fmt: skip
    else:
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=SPLINK_THRESHOLD
        )
    frame = pl.from_arrow(clusters.as_pyarrow_table())
    assert isinstance(frame, pl.DataFrame)
    seconds = round(time.perf_counter() - started, 2)
    blocked = {(min(a, b), max(a, b)) for a, b in scored.iter_rows()}
    return {"clusters": frame, "blocked": blocked, "scored_pairs": scored.height, "seconds": seconds}
