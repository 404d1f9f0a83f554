"""Scoring: each candidate pair's match probability from its comparison pattern, adjusted
by how common the values it shares exactly are."""

from __future__ import annotations

from linkage.comparisons import FIELDS, TERM_FREQUENCY_FIELDS


def scoring_sql() -> str:
    """Return SQL creating ``scored_pairs``: each pair's probability from its pattern's log-odds,
    adjusted where it agrees exactly on a surname, first name or postcode by how common that
    value is (a shared rare name is stronger evidence than a shared common one); only pairs whose
    evidence favours a match (probability at or above the prior, ``$keep``) are kept, with both
    entries' providers."""
    joins, adjustments = [], []
    for name, (key_sql, level) in TERM_FREQUENCY_FIELDS.items():
        joins.append(
            f"LEFT JOIN (SELECT {key_sql.format(side='e')} AS k, count(*) / (SELECT count(*) FROM linkable_entries) "
            f"AS tf FROM linkable_entries AS e GROUP BY k) AS tf_{name} ON tf_{name}.k = p.{name}_shared "
            f"AND p.{name} = {level}"
        )
        adjustments.append(
            f"CASE WHEN tf_{name}.tf IS NULL THEN 0 ELSE ln($u_{name} / greatest(tf_{name}.tf, $floor)) END"
        )
    return f"""
        CREATE OR REPLACE TEMP TABLE scored_pairs AS
        WITH scored AS (
            SELECT p.l, p.r, 1 / (1 + exp(-(f.log_odds + {" + ".join(adjustments)}))) AS probability
            FROM pair_levels AS p JOIN log_odds_frame AS f USING ({", ".join(FIELDS)})
            {" ".join(joins)})
        SELECT s.l, s.r, s.probability, a.provider AS provider_l, b.provider AS provider_r
        FROM scored AS s JOIN entries AS a ON a.entry_id = s.l JOIN entries AS b ON b.entry_id = s.r
        WHERE s.probability >= $keep"""
