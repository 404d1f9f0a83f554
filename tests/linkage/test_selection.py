"""Link selection: one-to-one posteriors between providers and maximum-weight matching."""

import polars as pl

from linkage.selection import maximum_weight_matching, one_to_one_posteriors, select_links, side_posteriors
from linkage.union_find import UnionFind


def edges(rows: list[tuple[int, int, str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["l", "r", "provider_l", "provider_r", "weight"], orient="row")


def test_matching_takes_the_best_assignment_not_the_greedy_one():
    chosen = maximum_weight_matching(edges([(1, 11, "A", "B", 9.0), (1, 12, "A", "B", 8.0), (2, 11, "A", "B", 8.5)]))
    assert chosen.tolist() == [False, True, True]


def test_matching_prefers_one_sure_link_to_two_doubtful_ones():
    # log-odds of 0.99, 0.6 and 0.6: the likeliest assignment, not the one with the most links
    chosen = maximum_weight_matching(edges([(1, 11, "A", "B", 4.6), (1, 12, "A", "B", 0.4), (2, 11, "A", "B", 0.4)]))
    assert chosen.tolist() == [True, False, False]


def test_matching_sees_one_entry_whichever_side_of_the_pair_it_is_on():
    # entry 5 (provider B) is the right of one pair and the left of another: one node towards A
    chosen = maximum_weight_matching(edges([(1, 5, "A", "B", 9.0), (5, 7, "B", "A", 5.0)]))
    assert chosen.tolist() == [True, False]


def test_matching_keeps_pairs_of_different_provider_pairs_apart():
    chosen = maximum_weight_matching(edges([(1, 11, "A", "B", 9.0), (1, 21, "A", "C", 8.0)]))
    assert chosen.tolist() == [True, True]


def scored(rows: list[tuple[int, int, float, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["l", "r", "probability", "provider_l", "provider_r"], orient="row")


def test_a_lone_candidate_is_believed_where_most_entries_wait_at_both_providers():
    prior = 1e-4
    # 50 entries of A each with one clear candidate at B, and one weaker lone pair
    rows = [(i, 1000 + i, 0.999, "A", "B") for i in range(50)] + [(99, 1099, 0.1, "A", "B")]
    sizes = {"A": 51, "B": 51}
    pairs, rates = one_to_one_posteriors(scored(rows), sizes, prior, shrinkage=5.0)
    assert rates["A>B"] > 0.8
    weak = pairs.filter(pl.col("l") == 99)["posterior"][0]
    assert weak > 0.5 > 0.1
    # where almost no one waits at both, the same evidence stays weak
    lonely, rates = one_to_one_posteriors(scored([(99, 1099, 0.1, "A", "B")]), {"A": 5000, "B": 5000}, prior, 100.0)
    assert lonely["posterior"][0] < 0.5 and rates["A>B"] < 0.01


def test_competing_candidates_share_the_posterior_of_their_entry_and_only_one_is_linked():
    sides = pl.DataFrame({"entry": [1, 1], "provider": ["A", "A"], "other": ["B", "B"], "w": [50.0, 50.0]})
    shared, _ = side_posteriors(sides, {"A": 1000, "B": 1000}, 1e-3, 100.0)
    alone, _ = side_posteriors(sides.head(1), {"A": 1000, "B": 1000}, 1e-3, 100.0)
    assert shared[0] == shared[1] < alone[0]
    rows = [(1, 11, 0.9, "A", "B"), (1, 12, 0.9, "A", "B")]
    selection = select_links(scored(rows), {"A": 1000, "B": 1000}, 1e-5, link_threshold=0.5, review_threshold=0.2,
                             second_link_threshold=0.99, shrinkage=100.0)  # fmt: skip
    assert selection.links.height == 1 and selection.refused_one_to_one == 1 and selection.review.height == 1


def test_an_internal_duplicate_keeps_both_strong_links_to_another_provider():
    rows = [(1, 2, 0.999, "A", "A"), (1, 11, 0.999, "A", "B"), (2, 11, 0.999, "A", "B"), (3, 11, 0.6, "A", "B")]
    selection = select_links(scored(rows), {"A": 100, "B": 100}, 1e-3, link_threshold=0.5, review_threshold=0.2,
                             second_link_threshold=0.99, shrinkage=100.0)  # fmt: skip
    links = set(selection.links.select("l", "r").iter_rows())
    assert {(1, 2), (1, 11), (2, 11)} <= links and (3, 11) not in links


def test_union_find_joins_sets_under_the_first_root():
    sets = UnionFind()
    sets.union(1, 2)
    sets.union(3, 4)
    assert sets.union(1, 4) == 1
    assert {sets.find(n) for n in (1, 2, 3, 4)} == {1} and sets.find(9) == 9


def test_a_person_glued_through_a_third_entry_is_split_at_its_weakest_join():
    from linkage.clustering import split_weak_joins

    # base clusters 1 and 3 both hold an entry of provider A and are not linked directly: the
    # chain 1 - 2 - 3 is cut at its weaker join, 2 - 3
    joins = [(1, 2, 0.95), (2, 3, 0.6)]
    providers = {1: frozenset({"A"}), 2: frozenset({"B"}), 3: frozenset({"A"})}
    kept, cuts = split_weak_joins(joins, providers, accepted=joins)
    assert kept == [(1, 2, 0.95)] and cuts == 1
    # linked directly, they are an internal duplicate: nothing is cut
    accepted = [*joins, (1, 3, 0.9)]
    assert split_weak_joins(joins, providers, accepted) == (joins, 0)


def test_merging_refuses_two_bsns_and_oversized_persons():
    from linkage.clustering import merge_clusters
    from linkage.parameters import LinkageReport

    report = LinkageReport()
    links = [(1, 2, 0.9), (2, 3, 0.8), (4, 5, 0.7)]
    merges = merge_clusters(links, bsn={1: "x", 3: "y"}, size={1: 1, 2: 1, 3: 1, 4: 2, 5: 2}, max_size=3,
                            report=report)  # fmt: skip
    assert merges.joins == [(1, 2, 0.9)]
    assert (report.rejected_bsn_conflict, report.rejected_cluster_size, report.links) == (1, 1, 1)


def test_a_component_too_large_for_an_exact_assignment_is_matched_greedily(monkeypatch):
    import linkage.selection

    monkeypatch.setattr(linkage.selection, "MAX_EXACT_MATCHING_CELLS", 3)
    # a chain 1-11-2-12: too large now; strongest first still gives every entry one partner at most
    chosen = maximum_weight_matching(edges([(1, 11, "A", "B", 5.0), (2, 11, "A", "B", 4.0), (2, 12, "A", "B", 3.0)]))
    assert chosen.tolist() == [True, False, True]
