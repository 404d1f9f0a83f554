"""Probabilistic linkage on keyed encodings, wired from its parts: blocking
(:mod:`linkage.blocking`), comparison levels (:mod:`linkage.comparisons`), m and u
(:mod:`linkage.training`, :mod:`linkage.estimation`), scoring (:mod:`linkage.scoring`) and
clustering that never joins two different BSNs (:mod:`linkage.clustering`).

:func:`link_probabilistically` runs them on a DuckDB connection that holds an ``entries``
table with the encodings of ``hashing.encodings``.
"""

from __future__ import annotations

import time

import duckdb
import numpy as np
import polars as pl

from linkage.blocking import find_candidates
from linkage.clustering import cluster_links
from linkage.comparisons import FIELDS, TERM_FREQUENCY_FIELDS, comparison_sql
from linkage.estimation import pattern_probabilities
from linkage.frames import query_frame
from linkage.parameters import LinkageParameters, LinkageReport
from linkage.scoring import scoring_sql
from linkage.selection import select_links
from linkage.training import MIN_LABELLED_MATCHES, entry_count, m_from_passes, match_prior, random_pair_u, same_bsn_m


def link_probabilistically(con: duckdb.DuckDBPyConnection, parameters: LinkageParameters) -> LinkageReport:
    """Score candidate pairs, select links and leave ``entry_person`` (entry_id, person_id,
    link_method, zekerheid, entry_zekerheid) in the store; return what was done.

    Entries with the same BSN pseudonym start as one cluster; accepted links then merge
    clusters from the most to the least probable, unless that would put two different BSNs
    or more than ``max_cluster_size`` entries in one person.
    """
    report = LinkageReport()
    started = time.perf_counter()
    block(con, parameters, report)
    report.seconds["blocking"] = round(time.perf_counter() - started, 3)
    mark = time.perf_counter()
    labelled_m, report.labelled_matches = same_bsn_m(con, parameters.labelled_pairs)
    patterns = compare(con)
    report.candidate_pairs = int(patterns["n"].sum()) if patterns.height else 0
    if report.labelled_matches >= MIN_LABELLED_MATCHES:  # m is learnt from the labels: no EM on the passes
        con.execute("DROP TABLE candidate_passes")
    report.seconds["comparing"] = round(time.perf_counter() - mark, 3)
    mark = time.perf_counter()
    estimate_and_score(con, patterns, labelled_m, parameters, report)
    report.seconds["estimating"] = round(time.perf_counter() - mark, 3)
    mark = time.perf_counter()
    select_and_cluster(con, parameters, report)
    report.seconds["clustering"] = round(time.perf_counter() - mark, 3)
    return report


def block(con: duckdb.DuckDBPyConnection, parameters: LinkageParameters, report: LinkageReport) -> None:
    """Find the candidate pairs of every pass (``candidate_passes``) and record the blocking's
    counts in ``report``."""
    blocking = find_candidates(con, left_filter="l.bsn_token IS NULL", parameters=parameters)
    report.pairs_per_pass, report.skipped_blocks = blocking.pairs_per_pass, blocking.skipped_blocks
    report.skipped_block_entries = blocking.skipped_block_entries
    report.frequent_value_entries = blocking.frequent_value_entries


def compare(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Give every candidate pair (each pair of ``candidate_passes`` once) its comparison level per
    field (``pair_levels``); return each pattern of levels that occurs with its count ``n``."""
    distinct_pairs = "(SELECT DISTINCT l, r FROM candidate_passes)"
    con.execute(f"CREATE OR REPLACE TEMP TABLE pair_levels AS {comparison_sql(distinct_pairs)}")
    return query_frame(con, f"SELECT {', '.join(FIELDS)}, count(*) AS n FROM pair_levels GROUP BY ALL")


def estimate_and_score(
    con: duckdb.DuckDBPyConnection,
    patterns: pl.DataFrame,
    labelled_m: dict[str, list[float]],
    parameters: LinkageParameters,
    report: LinkageReport,
) -> None:
    """Estimate u and the prior, take m from BSN-labelled pairs (``labelled_m``, from
    ``report.labelled_matches`` pairs) or by EM without enough of them, score every pattern of
    levels (``patterns``) and leave the pairs worth keeping in ``scored_pairs``."""
    u = random_pair_u(con, parameters.random_pairs)
    m = labelled_m
    if report.labelled_matches < MIN_LABELLED_MATCHES:
        m = m_from_passes(con, u, parameters.em_iterations)
    prior = match_prior(con, m, u)
    if patterns.height:
        matrix = patterns.select(FIELDS).to_numpy().astype(np.int64)
        probabilities = np.clip(pattern_probabilities(matrix, m, u, prior), 1e-15, 1 - 1e-15)
        log_odds_frame = patterns.select(FIELDS).with_columns(
            pl.Series("log_odds", np.log(probabilities / (1 - probabilities)))
        )
        con.register("log_odds_frame", log_odds_frame)
        con.execute(
            scoring_sql(),
            {
                "keep": prior,
                "floor": 1.0 / max(1, entry_count(con)),
                **{f"u_{name}": float(u[name][level]) for name, (_, level) in TERM_FREQUENCY_FIELDS.items()},
            },
        )
        con.unregister("log_odds_frame")
    else:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE scored_pairs (l BIGINT, r BIGINT, probability DOUBLE, provider_l VARCHAR, "
            "provider_r VARCHAR)"
        )
    report.m, report.u, report.match_prior = m, u, prior


def select_and_cluster(con: duckdb.DuckDBPyConnection, parameters: LinkageParameters, report: LinkageReport) -> None:
    """Select the links (one-to-one between providers, see :mod:`linkage.selection`), cluster them
    into persons (``entry_person``) and record the decisions in ``report``."""
    sizes = query_frame(con, "SELECT provider, count(*) AS n FROM linkable_entries GROUP BY provider")
    selection = select_links(
        query_frame(con, "SELECT l, r, probability, provider_l, provider_r FROM scored_pairs ORDER BY l, r"),
        dict(zip(sizes["provider"].to_list(), sizes["n"].to_list(), strict=True)),
        report.match_prior,
        link_threshold=parameters.link_threshold,
        review_threshold=parameters.review_threshold,
        second_link_threshold=parameters.second_link_threshold,
        shrinkage=parameters.rate_shrinkage,
    )
    report.review_pairs = selection.review.height
    report.refused_one_to_one = selection.refused_one_to_one
    report.provider_pair_rates = selection.provider_pair_rates
    report.probability_histogram = np.histogram(selection.probabilities, bins=20, range=(0.0, 1.0))[0].tolist()
    per_provider = pl.concat([selection.review["provider_l"], selection.review["provider_r"]]).value_counts()
    report.review_per_provider = dict(sorted(zip(*per_provider.to_dict(as_series=False).values(), strict=True)))
    cluster_links(con, selection.links, parameters, report)
