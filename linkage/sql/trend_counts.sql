-- Trend columns of the insurer table, one row per provider plus the totals row ($uzovi NULL:
-- every insured): new and still double waiters (a partition of dubbel_wachtenden), the
-- previous round's double waiters resolved since, by the outcome their provider reported, and
-- the previous round's double waiters (for disclosure control only; never published).
WITH current_persons AS (
    SELECT provider, person_id, is_double, person_id IN (SELECT person_id FROM person_was_double) AS was_double
    FROM entry_facts
    WHERE $uzovi IS NULL OR slice_uzovi = $uzovi
),
now AS (
    SELECT
        CASE WHEN grouping(provider) = 1 THEN 'totaal' ELSE provider END AS agb_code,
        count(DISTINCT person_id) FILTER (WHERE is_double AND NOT was_double) AS dubbel_nieuw,
        count(DISTINCT person_id) FILTER (WHERE is_double AND was_double) AS dubbel_blijvend
    FROM current_persons
    GROUP BY GROUPING SETS ((provider), ())
),
resolved_rows AS (
    SELECT provider AS agb_code, person_id, uitkomst FROM previous_resolved WHERE $uzovi IS NULL OR uzovi = $uzovi
    UNION ALL
    SELECT 'totaal', person_id, person_uitkomst FROM previous_resolved WHERE $uzovi IS NULL OR uzovi = $uzovi
),
resolved AS (
    SELECT
        agb_code,
        count(DISTINCT person_id) AS dubbel_opgelost,
        count(DISTINCT person_id) FILTER (WHERE uitkomst = 'verwijderd') AS opgelost_verwijderd,
        count(DISTINCT person_id) FILTER (WHERE uitkomst = 'in_behandeling') AS opgelost_in_behandeling,
        count(DISTINCT person_id) FILTER (WHERE uitkomst = 'blijft_wachten') AS opgelost_blijft_wachten,
        count(DISTINCT person_id) FILTER (WHERE uitkomst = 'onbereikbaar') AS opgelost_onbereikbaar
    FROM resolved_rows
    GROUP BY agb_code
),
previous AS (
    SELECT
        CASE WHEN grouping(provider) = 1 THEN 'totaal' ELSE provider END AS agb_code,
        count(DISTINCT person_id) FILTER (WHERE is_double) AS vorig_dubbel
    FROM previous_entries
    WHERE $uzovi IS NULL OR uzovi = $uzovi
    GROUP BY GROUPING SETS ((provider), ())
)
SELECT
    agb_code,
    coalesce(now.dubbel_nieuw, 0) AS dubbel_nieuw,
    coalesce(now.dubbel_blijvend, 0) AS dubbel_blijvend,
    coalesce(resolved.dubbel_opgelost, 0) AS dubbel_opgelost,
    coalesce(resolved.opgelost_verwijderd, 0) AS opgelost_verwijderd,
    coalesce(resolved.opgelost_in_behandeling, 0) AS opgelost_in_behandeling,
    coalesce(resolved.opgelost_blijft_wachten, 0) AS opgelost_blijft_wachten,
    coalesce(resolved.opgelost_onbereikbaar, 0) AS opgelost_onbereikbaar,
    coalesce(previous.vorig_dubbel, 0) AS vorig_dubbel
FROM now
FULL JOIN resolved USING (agb_code)
FULL JOIN previous USING (agb_code)
ORDER BY agb_code = 'totaal', agb_code;
