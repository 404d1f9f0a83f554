"""Clustering: accepted links merge entries into persons, strongest first, never joining two
different BSNs or growing a person past the size cap."""

from __future__ import annotations

import duckdb
import polars as pl

from linkage.frames import query_frame
from linkage.parameters import LinkageParameters, LinkageReport
from linkage.union_find import UnionFind


def _note_strongest(strongest: dict[int, float], left: int, right: int, probability: float) -> None:
    """Keep, per base cluster, the probability of its strongest accepted link into its person."""
    for cluster in (left, right):
        strongest[cluster] = max(strongest.get(cluster, 0.0), probability)


def cluster_links(
    con: duckdb.DuckDBPyConnection, links: pl.DataFrame, parameters: LinkageParameters, report: LinkageReport
) -> None:
    """Merge base clusters (one per BSN, else per entry) along ``links``, strongest first, and
    write ``entry_person``: per entry its person, how it was linked, the weakest link of its
    person (``zekerheid``) and the strongest accepted link of its own base cluster
    (``entry_zekerheid``; the person's weakest where it has none)."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE base_cluster AS
           SELECT entry_id, bsn_token,
                  dense_rank() OVER (ORDER BY CASE WHEN bsn_token IS NOT NULL THEN 'b' || bsn_token
                                                   ELSE 'e' || entry_id END) AS cluster
           FROM entries"""
    )
    touched = pl.concat([links["l"], links["r"]]).unique().to_frame("entry_id")
    con.register("touched_entries", touched)
    base = query_frame(
        con,
        """WITH sized AS (
               SELECT entry_id, cluster, bsn_token, count(*) OVER (PARTITION BY cluster) AS size FROM base_cluster)
           SELECT * FROM sized
           WHERE cluster IN (SELECT cluster FROM base_cluster JOIN touched_entries USING (entry_id))""",
    )
    con.unregister("touched_entries")
    cluster_of = dict(zip(base["entry_id"].to_list(), base["cluster"].to_list(), strict=True))
    sets = UnionFind()
    bsn: dict[int, str | None] = {}
    size: dict[int, int] = {}
    weakest: dict[int, float] = {}
    for cluster, token, count in base.select("cluster", "bsn_token", "size").unique().iter_rows():
        size[cluster] = count
        if token is not None:
            bsn[cluster] = token

    def root(node: int) -> int:
        return int(sets.find(node))  # type: ignore[call-overload]

    strongest: dict[int, float] = {}
    for left, right, probability in links.iter_rows():
        a, b = root(cluster_of[left]), root(cluster_of[right])
        if a == b:
            _note_strongest(strongest, cluster_of[left], cluster_of[right], probability)
            continue
        if bsn.get(a) is not None and bsn.get(b) is not None and bsn[a] != bsn[b]:
            report.rejected_bsn_conflict += 1
            continue
        if size[a] + size[b] > parameters.max_cluster_size:
            report.rejected_cluster_size += 1
            continue
        a, b = min(a, b), max(a, b)
        sets.union(a, b)  # the lower cluster stays the root: person ids do not depend on link order
        size[a] += size[b]
        bsn[a] = bsn.get(a) or bsn.get(b)
        weakest[a] = min(weakest.get(a, 1.0), weakest.get(b, 1.0), probability)
        _note_strongest(strongest, cluster_of[left], cluster_of[right], probability)
        report.links += 1
    mapping = pl.DataFrame(
        {
            "cluster": list(size),
            "root": [root(c) for c in size],
            "entry_zekerheid": [strongest.get(c) for c in size],
        },
        schema={"cluster": pl.Int64, "root": pl.Int64, "entry_zekerheid": pl.Float64},
    ).with_columns(pl.col("root").replace_strict(weakest, default=None, return_dtype=pl.Float64).alias("zekerheid"))
    con.register("cluster_mapping", mapping)
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
