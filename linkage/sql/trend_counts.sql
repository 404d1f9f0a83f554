-- Trend columns of the insurer table, one row per provider plus the totals row (is_total,
-- agb_code NULL; $uzovi NULL: every insured): new and still double waiters (a partition of dubbel_wachtenden), the
-- previous round's double waiters resolved since, by the outcome their provider reported, and
-- the previous round's double waiters (for disclosure control only; never published).
WITH current_persons AS (
    SELECT provider, person_id, is_double, person_id IN (SELECT person_id FROM person_was_double) AS was_double
    FROM entry_facts
    WHERE $uzovi IS NULL OR slice_uzovi = $uzovi
),
now AS (
    SELECT
        provider AS agb_code,
        grouping(provider) = 1 AS is_total,
        count(DISTINCT person_id) FILTER (WHERE is_double AND NOT was_double) AS dubbel_nieuw,
        count(DISTINCT person_id) FILTER (WHERE is_double AND was_double) AS dubbel_blijvend
    FROM current_persons
    GROUP BY GROUPING SETS ((provider), ())
),
resolved_rows AS (
    SELECT provider AS agb_code, false AS is_total, person_id, uitkomst
    FROM previous_resolved WHERE $uzovi IS NULL OR uzovi = $uzovi
    UNION ALL
    SELECT NULL, true, person_id, person_uitkomst FROM previous_resolved WHERE $uzovi IS NULL OR uzovi = $uzovi
),
resolved AS (
    SELECT
        agb_code,
        is_total,
        count(DISTINCT person_id) AS dubbel_opgelost,
        count(DISTINCT person_id) FILTER (WHERE uitkomst = 'verwijderd') AS opgelost_verwijderd,
        count(DISTINCT person_id) FILTER (WHERE uitkomst = 'in_behandeling') AS opgelost_in_behandeling,
        count(DISTINCT person_id) FILTER (WHERE uitkomst = 'blijft_wachten') AS opgelost_blijft_wachten,
        count(DISTINCT person_id) FILTER (WHERE uitkomst = 'onbereikbaar') AS opgelost_onbereikbaar
    FROM resolved_rows
    GROUP BY agb_code, is_total
),
previous AS (
    SELECT
        provider AS agb_code,
        grouping(provider) = 1 AS is_total,
        count(DISTINCT person_id) FILTER (WHERE is_double) AS vorig_dubbel
    FROM previous_entries
    WHERE $uzovi IS NULL OR uzovi = $uzovi
    GROUP BY GROUPING SETS ((provider), ())
)
SELECT
    coalesce(now.agb_code, resolved.agb_code, previous.agb_code) AS agb_code,
    coalesce(now.is_total, resolved.is_total, previous.is_total) AS is_total,
    coalesce(now.dubbel_nieuw, 0) AS dubbel_nieuw,
    coalesce(now.dubbel_blijvend, 0) AS dubbel_blijvend,
    coalesce(resolved.dubbel_opgelost, 0) AS dubbel_opgelost,
    coalesce(resolved.opgelost_verwijderd, 0) AS opgelost_verwijderd,
    coalesce(resolved.opgelost_in_behandeling, 0) AS opgelost_in_behandeling,
    coalesce(resolved.opgelost_blijft_wachten, 0) AS opgelost_blijft_wachten,
    coalesce(resolved.opgelost_onbereikbaar, 0) AS opgelost_onbereikbaar,
    coalesce(previous.vorig_dubbel, 0) AS vorig_dubbel
FROM now
FULL JOIN resolved ON now.agb_code IS NOT DISTINCT FROM resolved.agb_code
-- the totals row is the one row whose code is NULL on either side
FULL JOIN previous ON coalesce(now.agb_code, resolved.agb_code) IS NOT DISTINCT FROM previous.agb_code
ORDER BY is_total, agb_code;
