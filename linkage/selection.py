"""Link selection: which scored pairs become links.

A person rarely has more than one entry per provider. Between two providers the pairs are
therefore read as a one-to-one assignment problem:

1. **One-to-one posterior.** For an entry ``a`` of provider A and its candidates ``b`` at
   provider B with Bayes factors ``w`` (the evidence of the comparison, prior divided out),
   the probability that ``b`` is ``a``'s match when ``a`` has at most one match at B is
   ``c·w_ab / ((1 - λ) + c·Σ_b' w_ab')`` with ``c = λ / n_B``: competing candidates lower it,
   and where most of A's entries wait at B too (``λ`` near 1), a lone good candidate is
   believed. ``λ`` (the share of A's entries that also wait at B) is estimated per ordered
   pair of providers by EM, shrunk towards the round's prior (``prior · n_B``) with a weight
   of ``shrinkage`` entries, so that a small provider's rate rests on the round. A pair's
   posterior is the larger of its two sides' (an internal duplicate at A must not halve its
   link to B).
2. **Maximum-weight matching.** Pairs at or above the link threshold are assigned between each
   two providers by maximum-weight bipartite matching (per connected component, on the
   log-odds). The constraint is soft: a pair left out of the matching is still a link when its
   own probability, without the one-to-one reading, reaches ``second_link_threshold`` (a person
   with an internal duplicate, waiting at B as well).

Pairs within one provider (internal duplicates) get the same one-to-one reading, with a rate
of their own per provider (a provider whose list holds no duplicates does not link weak pairs
among its own entries), but no matching: a person may have three entries at one provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy.optimize import linear_sum_assignment

from linkage.union_find import UnionFind

PROBABILITY_BOUNDS = (1e-12, 1 - 1e-12)
MAX_EXACT_MATCHING_CELLS = 4_000_000
"""A component whose assignment matrix would exceed this many cells (32 MB) is matched greedily,
strongest pair first: memory stays bounded whatever a file holds."""
LAMBDA_CEILING = 0.999


@dataclass
class Selection:
    """The links chosen and what was held back."""

    links: pl.DataFrame
    """``l``, ``r``, ``probability`` (the one-to-one posterior across providers), strongest first."""
    review: pl.DataFrame
    """Pairs between the review and the link threshold, or refused by the one-to-one rule:
    ``l``, ``r``, ``probability``, ``provider_l``, ``provider_r``."""
    probabilities: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """The posterior of every scored pair (for the distribution the operator sees)."""
    refused_one_to_one: int = 0
    provider_pair_rates: dict[str, float] = field(default_factory=dict)
    """Per ordered pair of providers with candidates (``A>B``), the estimated share of A's
    entries that wait at B too (only the largest few are kept, for the report)."""


def _log_odds(probability: np.ndarray) -> np.ndarray:
    clipped = np.clip(probability, *PROBABILITY_BOUNDS)
    return np.asarray(np.log(clipped / (1 - clipped)))


def side_posteriors(
    sides: pl.DataFrame, sizes: dict[str, int], prior: float, shrinkage: float, iterations: int = 50
) -> tuple[np.ndarray, dict[str, float]]:
    """Return, per row of ``sides`` (``entry``, ``provider``, ``other``, ``w``: one candidate of
    ``entry`` at provider ``other`` with Bayes factor ``w``), the one-to-one posterior from the
    entry's side, and the estimated rate per ordered provider pair (``provider>other``).

    Sums run in a fixed order (numpy over sorted codes), so a rerun gives the same bits."""
    if sides.height == 0:
        return np.zeros(0), {}
    pairs = sides.select("provider", "other").unique().sort(["provider", "other"]).with_row_index("group")
    framed = sides.with_row_index("row").join(pairs, on=["provider", "other"]).sort(["entry", "other", "row"])
    first = pl.struct("entry", "other").is_first_distinct().cast(pl.Int64)
    side_code = framed.select((first.cum_sum() - 1).alias("code"))["code"].to_numpy()
    weights = framed["w"].to_numpy()
    total_per_side = np.bincount(side_code, weights)
    group_of_row = framed["group"].to_numpy().astype(np.int64)
    side_group = np.zeros(len(total_per_side), dtype=np.int64)
    side_group[side_code] = group_of_row
    sized = pairs.with_columns(
        pl.col(column).replace_strict(sizes, default=1, return_dtype=pl.Float64).alias(f"n_{column}")
        for column in ("provider", "other")
    )
    n_here, n_there = sized["n_provider"].to_numpy(), sized["n_other"].to_numpy()
    start = np.minimum(prior * n_there, LAMBDA_CEILING)
    rate = start.copy()
    for _ in range(iterations):
        scaled = rate[side_group] / n_there[side_group] * total_per_side
        matched = scaled / ((1 - rate[side_group]) + scaled)
        updated = (np.bincount(side_group, matched, minlength=len(rate)) + shrinkage * start) / (n_here + shrinkage)
        updated = np.minimum(updated, LAMBDA_CEILING)
        converged = bool(np.max(np.abs(updated - rate)) < 1e-9)
        rate = updated
        if converged:
            break
    c = rate[group_of_row] / n_there[group_of_row]
    posterior_sorted = c * weights / ((1 - rate[group_of_row]) + c * total_per_side[side_code])
    posterior = np.empty(sides.height)
    posterior[framed["row"].to_numpy()] = posterior_sorted
    keys = pairs.select(pl.concat_str("provider", "other", separator=">"))["provider"].to_list()
    return posterior, dict(zip(keys, rate.tolist(), strict=True))


def one_to_one_posteriors(
    pairs: pl.DataFrame, sizes: dict[str, int], prior: float, shrinkage: float
) -> tuple[pl.DataFrame, dict[str, float]]:
    """Return ``pairs`` (``l``, ``r``, ``probability``, ``provider_l``, ``provider_r``) with
    ``posterior``: the larger of the two sides' one-to-one posteriors (a pair within one provider
    is read against that provider's own rate of duplicates), and the estimated rates."""
    prior_odds = prior / (1 - prior)
    weights = np.exp(_log_odds(pairs["probability"].to_numpy())) / prior_odds
    pairs = pairs.with_columns(pl.Series("w", weights))
    left = pairs.select(pl.col("l").alias("entry"), pl.col("provider_l").alias("provider"),
                        pl.col("provider_r").alias("other"), "w")  # fmt: skip
    right = pairs.select(pl.col("r").alias("entry"), pl.col("provider_r").alias("provider"),
                         pl.col("provider_l").alias("other"), "w")  # fmt: skip
    from_left, rates = side_posteriors(left, sizes, prior, shrinkage)
    from_right, _ = side_posteriors(right, sizes, prior, shrinkage)
    posterior = np.maximum(from_left, from_right)
    return pairs.drop("w").with_columns(pl.Series("posterior", posterior)), rates


def maximum_weight_matching(edges: pl.DataFrame) -> np.ndarray:
    """Return, per row of ``edges`` (``l``, ``r``, ``provider_l``, ``provider_r``, ``weight``),
    whether it is in a maximum-weight matching between each two providers: no entry gets two
    partners at one provider. Solved exactly per connected component."""
    chosen = np.zeros(edges.height, dtype=bool)
    if edges.height == 0:
        return chosen
    nodes: UnionFind[tuple[str, int, str]] = UnionFind()
    # orient every edge by provider, so that an entry is one node towards each other provider
    flip = (edges["provider_l"] > edges["provider_r"]).to_list()
    ends = zip(edges["l"].to_list(), edges["r"].to_list(), edges["provider_l"].to_list(),
               edges["provider_r"].to_list(), flip, strict=True)  # fmt: skip
    left_nodes, right_nodes = [], []
    for l_entry, r_entry, l_provider, r_provider, flipped in ends:
        left, right = ((r_entry, l_provider), (l_entry, r_provider)) if flipped else (
            (l_entry, r_provider), (r_entry, l_provider))  # fmt: skip
        left_nodes.append(left)
        right_nodes.append(right)
    for a, b in zip(left_nodes, right_nodes, strict=True):
        nodes.union(("l", *a), ("r", *b))
    components: dict[object, list[int]] = {}
    for index, node in enumerate(left_nodes):
        components.setdefault(nodes.find(("l", *node)), []).append(index)
    weights = edges["weight"].to_numpy()
    for rows in components.values():
        if len(rows) == 1:
            chosen[rows[0]] = True
            continue
        lefts = sorted({left_nodes[i] for i in rows})
        rights = sorted({right_nodes[i] for i in rows})
        if len(lefts) * len(rights) > MAX_EXACT_MATCHING_CELLS:
            _match_greedily(rows, left_nodes, right_nodes, weights, chosen)
            continue
        li, ri = {v: k for k, v in enumerate(lefts)}, {v: k for k, v in enumerate(rights)}
        # an edge's weight is positive: a missing edge (0) is never chosen over a real one
        matrix = np.zeros((len(lefts), len(rights)))
        for i in rows:
            matrix[li[left_nodes[i]], ri[right_nodes[i]]] = weights[i]
        assigned = set(zip(*linear_sum_assignment(matrix, maximize=True), strict=True))
        for i in rows:
            chosen[i] = (li[left_nodes[i]], ri[right_nodes[i]]) in assigned
    return chosen


def _match_greedily(
    rows: list[int], left_nodes: list[tuple[int, str]], right_nodes: list[tuple[int, str]], weights: np.ndarray,
    chosen: np.ndarray,
) -> None:  # fmt: skip
    """Mark in ``chosen`` a matching of ``rows`` taken strongest first (ties by row)."""
    taken: set[tuple[str, tuple[int, str]]] = set()
    for i in sorted(rows, key=lambda row: (-weights[row], row)):
        left, right = ("l", left_nodes[i]), ("r", right_nodes[i])
        if left not in taken and right not in taken:
            taken.update((left, right))
            chosen[i] = True


def select_links(
    scored: pl.DataFrame,
    sizes: dict[str, int],
    prior: float,
    *,
    link_threshold: float,
    review_threshold: float,
    second_link_threshold: float,
    shrinkage: float,
) -> Selection:
    """Return the links among ``scored`` pairs (``l``, ``r``, ``probability``, ``provider_l``,
    ``provider_r``) by their one-to-one posteriors (an entry rarely has more than one duplicate
    at its own provider either), across providers with a maximum-weight matching (see the
    module's docstring)."""
    everything, rates = one_to_one_posteriors(scored, sizes, prior, shrinkage)
    internal = everything.filter(pl.col("provider_l") == pl.col("provider_r"))
    cross = everything.filter(pl.col("provider_l") != pl.col("provider_r"))
    candidates = cross.filter(pl.col("posterior") >= link_threshold)
    in_matching = maximum_weight_matching(
        # the most likely assignment: log-odds add up (a tiny offset keeps a 0.5 pair from looking absent)
        candidates.with_columns(pl.Series("weight", _log_odds(candidates["posterior"].to_numpy()) + 1e-6))
    )
    candidates = candidates.with_columns(pl.Series("matched", in_matching))
    kept = candidates.filter(pl.col("matched") | (pl.col("probability") >= second_link_threshold))
    refused = candidates.height - kept.height
    links = (
        pl.concat([internal.filter(pl.col("posterior") >= link_threshold), kept.drop("matched")])
        .select("l", "r", pl.col("posterior").alias("probability"))
        .sort(["probability", "l", "r"], descending=[True, False, False])
    )
    columns = ["l", "r", pl.col("posterior").alias("probability"), "provider_l", "provider_r"]
    review = pl.concat(
        [
            everything.filter(pl.col("posterior").is_between(review_threshold, link_threshold, closed="left")),
            candidates.drop("matched").join(kept.select("l", "r"), on=["l", "r"], how="anti"),
        ]
    ).select(columns)
    strongest = {key: round(rate, 6) for key, rate in sorted(rates.items(), key=lambda item: (-item[1], item[0]))[:20]}
    return Selection(links=links, review=review, probabilities=everything["posterior"].to_numpy(),
                     refused_one_to_one=refused, provider_pair_rates=strongest)  # fmt: skip
