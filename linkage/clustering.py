"""Clustering: accepted links merge entries into persons, strongest first, never joining two
different BSNs or growing a person past the size cap; a person glued together through a third
entry, holding two unlinked entries of one provider, is split at its weakest join."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import polars as pl

from linkage.frames import query_frame
from linkage.parameters import LinkageParameters, LinkageReport
from linkage.union_find import UnionFind

Neighbours = dict[int, list[tuple[int, float, int]]]
"""Per base cluster, the base clusters it is joined to, with the join's probability and index."""


@dataclass
class Merges:
    """What merging along the links did: the joins between base clusters (a spanning forest of
    each person, strongest links first) and every accepted link between base clusters."""

    joins: list[tuple[int, int, float]] = field(default_factory=list)
    accepted: list[tuple[int, int, float]] = field(default_factory=list)


def merge_clusters(
    links: list[tuple[int, int, float]], bsn: dict[int, str], size: dict[int, int], max_size: int,
    report: LinkageReport,
) -> Merges:  # fmt: skip
    """Merge base clusters along ``links`` (base cluster pairs, strongest first) unless that would
    join two different BSNs or pass ``max_size`` entries; return the joins and accepted links."""
    sets: UnionFind[int] = UnionFind()
    merges = Merges()
    bsn_of: dict[int, str | None] = dict(bsn)
    size = dict(size)
    for left, right, probability in links:
        a, b = sets.find(left), sets.find(right)
        if a != b:
            if bsn_of.get(a) is not None and bsn_of.get(b) is not None and bsn_of[a] != bsn_of[b]:
                report.rejected_bsn_conflict += 1
                continue
            if size[a] + size[b] > max_size:
                report.rejected_cluster_size += 1
                continue
            sets.union(a, b)
            size[a] += size[b]
            bsn_of[a] = bsn_of.get(a) or bsn_of.get(b)
            merges.joins.append((left, right, probability))
            report.links += 1
        merges.accepted.append((left, right, probability))
    return merges


def split_weak_joins(
    joins: list[tuple[int, int, float]], providers: dict[int, frozenset[str]], accepted: list[tuple[int, int, float]]
) -> tuple[list[tuple[int, int, float]], int]:
    """Return ``joins`` less the cuts, and how many cuts: wherever a person holds two base clusters
    with entries of one provider that no accepted link joins directly, the weakest join on the
    path between them is cut (a person rarely waits twice at one provider, so such a person was
    most likely glued together through a third entry); repeated until no such pair is left.

    Each person is split on its own joins (at most ``max_cluster_size`` entries), so the work
    grows with the round, not with the round times its conflicts."""
    direct = {frozenset((a, b)) for a, b, _ in accepted}
    persons: UnionFind[int] = UnionFind()
    for a, b, _ in joins:
        persons.union(a, b)
    by_person: dict[int, list[int]] = {}
    for index, (a, _, _) in enumerate(joins):
        by_person.setdefault(persons.find(a), []).append(index)
    kept: list[int] = []
    cuts = 0
    for indexes in by_person.values():
        local_kept, local_cuts = _split_person([joins[i] for i in indexes], providers, direct)
        kept += [indexes[i] for i in local_kept]
        cuts += local_cuts
    return [joins[i] for i in sorted(kept)], cuts


def _split_person(
    joins: list[tuple[int, int, float]], providers: dict[int, frozenset[str]], direct: set[frozenset[int]]
) -> tuple[list[int], int]:
    """Return the indexes of ``joins`` (one person's) that stay, and how many were cut."""
    kept, cuts = list(range(len(joins))), 0
    while True:
        neighbours: Neighbours = {}
        for index in kept:
            a, b, probability = joins[index]
            neighbours.setdefault(a, []).append((b, probability, index))
            neighbours.setdefault(b, []).append((a, probability, index))
        conflict = _first_conflict(neighbours, providers, direct)
        if conflict is None:
            return kept, cuts
        weakest = min(_path(neighbours, *conflict), key=lambda index: (joins[index][2], index))
        kept.remove(weakest)
        cuts += 1


def _first_conflict(
    neighbours: Neighbours, providers: dict[int, frozenset[str]], direct: set[frozenset[int]]
) -> tuple[int, int] | None:
    """Return two base clusters of one person that share a provider without a direct link."""
    seen: set[int] = set()
    for start in sorted(neighbours):
        if start in seen:
            continue
        component, stack = [], [start]
        seen.add(start)
        while stack:
            node = stack.pop()
            component.append(node)
            for other, _, _ in neighbours[node]:
                if other not in seen:
                    seen.add(other)
                    stack.append(other)
        by_provider: dict[str, list[int]] = {}
        for node in sorted(component):
            for provider in providers.get(node, frozenset()):
                by_provider.setdefault(provider, []).append(node)
        for nodes in by_provider.values():
            for i, a in enumerate(nodes):
                for b in nodes[i + 1 :]:
                    if frozenset((a, b)) not in direct:
                        return a, b
    return None


def _path(neighbours: Neighbours, start: int, goal: int) -> list[int]:
    """Return the indexes of the joins on the (only) path from ``start`` to ``goal`` in a forest."""
    previous: dict[int, tuple[int, int]] = {}
    stack, seen = [start], {start}
    while stack:
        node = stack.pop()
        if node == goal:
            break
        for other, _, index in neighbours[node]:
            if other not in seen:
                seen.add(other)
                previous[other] = (node, index)
                stack.append(other)
    path, node = [], goal
    while node != start:
        node, index = previous[node]
        path.append(index)
    return path


def cluster_links(
    con: duckdb.DuckDBPyConnection, links: pl.DataFrame, parameters: LinkageParameters, report: LinkageReport
) -> None:
    """Merge base clusters (one per BSN, else per entry) along ``links``, strongest first, split
    weakly joined persons (:func:`split_weak_joins`), and write ``entry_person``: per entry its
    person, how it was linked, the weakest join of its person (``zekerheid``) and the strongest
    accepted link of its own base cluster (``entry_zekerheid``; the person's weakest where it has
    none)."""
    base = touched_clusters(con, links)
    cluster_of = dict(zip(base["entry_id"].to_list(), base["cluster"].to_list(), strict=True))
    size = dict(base.select("cluster", "size").unique().iter_rows())
    bsn = dict(base.filter(pl.col("bsn_token").is_not_null()).select("cluster", "bsn_token").unique().iter_rows())
    providers = {c: frozenset(p) for c, p in base.group_by("cluster").agg(pl.col("provider").unique()).iter_rows()}
    merges = merge_clusters(
        [(cluster_of[left], cluster_of[right], probability) for left, right, probability in links.iter_rows()],
        bsn, size, parameters.max_cluster_size, report,
    )  # fmt: skip
    joins, report.split_clusters = split_weak_joins(merges.joins, providers, merges.accepted)
    report.links -= report.split_clusters
    con.register("cluster_mapping", person_mapping(joins, merges.accepted, list(size)))
    con.execute(
        """CREATE OR REPLACE TABLE entry_person AS
           WITH resolved AS (
               SELECT b.entry_id, b.bsn_token, coalesce(m.root, b.cluster) AS root, m.zekerheid,
                      m.entry_zekerheid
               FROM base_cluster AS b LEFT JOIN cluster_mapping AS m USING (cluster))
           SELECT entry_id,
                  dense_rank() OVER (ORDER BY root) AS person_id,
                  CASE WHEN bsn_token IS NOT NULL THEN 'bsn'
                       WHEN count(*) OVER (PARTITION BY root) > 1 THEN 'probabilistic'
                       ELSE 'none' END AS link_method,
                  coalesce(zekerheid, 1.0) AS zekerheid,
                  coalesce(entry_zekerheid, zekerheid, 1.0) AS entry_zekerheid
           FROM resolved"""
    )
    con.unregister("cluster_mapping")


def touched_clusters(con: duckdb.DuckDBPyConnection, links: pl.DataFrame) -> pl.DataFrame:
    """Make ``base_cluster`` (one cluster per BSN pseudonym, else per entry) and return the
    entries of the clusters that ``links`` touch, with their cluster's size."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE base_cluster AS
           SELECT entry_id, bsn_token, provider,
                  dense_rank() OVER (ORDER BY bsn_token IS NULL, bsn_token,
                                              CASE WHEN bsn_token IS NULL THEN entry_id END) AS cluster
           FROM entries"""
    )
    con.register("touched_entries", pl.concat([links["l"], links["r"]]).unique().to_frame("entry_id"))
    base = query_frame(
        con,
        """WITH sized AS (
               SELECT entry_id, cluster, bsn_token, provider, count(*) OVER (PARTITION BY cluster) AS size
               FROM base_cluster)
           SELECT * FROM sized
           WHERE cluster IN (SELECT cluster FROM base_cluster JOIN touched_entries USING (entry_id))""",
    )
    con.unregister("touched_entries")
    return base


def person_mapping(
    joins: list[tuple[int, int, float]], accepted: list[tuple[int, int, float]], clusters: list[int]
) -> pl.DataFrame:
    """Return, per touched cluster, its person's root cluster (the lowest, so that person ids do
    not depend on link order), the weakest join of that person (``zekerheid``) and the strongest
    accepted link of the cluster within its person (``entry_zekerheid``)."""
    sets: UnionFind[int] = UnionFind()
    weakest: dict[int, float] = {}
    for left, right, probability in sorted(joins, key=lambda join: (min(join[:2]), max(join[:2]))):
        a, b = sorted((sets.find(left), sets.find(right)))
        sets.union(a, b)  # the lower cluster stays the root: person ids do not depend on link order
        weakest[a] = min(weakest.get(a, 1.0), weakest.get(b, 1.0), probability)
    strongest: dict[int, float] = {}
    for left, right, probability in accepted:
        if sets.find(left) == sets.find(right):
            for cluster in (left, right):
                strongest[cluster] = max(strongest.get(cluster, 0.0), probability)
    return pl.DataFrame(
        {
            "cluster": clusters,
            "root": [sets.find(c) for c in clusters],
            "entry_zekerheid": [strongest.get(c) for c in clusters],
        },
        schema={"cluster": pl.Int64, "root": pl.Int64, "entry_zekerheid": pl.Float64},
    ).with_columns(pl.col("root").replace_strict(weakest, default=None, return_dtype=pl.Float64).alias("zekerheid"))
