-- The insurer table: one row per provider plus the totals row (persons counted once
-- nationally, so the totals of person columns are not the sums of the rows).
-- $uzovi NULL means every insured; otherwise the persons of that insurer's slice (slice_uzovi).
SELECT
    CASE WHEN grouping(provider) = 1 THEN 'totaal' ELSE provider END AS agb_code,
    count(*) AS wachtenden,
    count(DISTINCT person_id) AS unieke_personen,
    count(DISTINCT person_id) FILTER (WHERE is_double) AS dubbel_wachtenden,
    count(DISTINCT person_id) FILTER (WHERE is_internal) AS interne_dubbelingen,
    count(*) FILTER (WHERE over_norm) AS boven_norm,
    count(*) FILTER (WHERE over_norm AND counted_once) AS boven_norm_geschoond
FROM entry_facts
WHERE $uzovi IS NULL OR slice_uzovi = $uzovi
GROUP BY GROUPING SETS ((provider), ())
ORDER BY grouping(provider), provider;
