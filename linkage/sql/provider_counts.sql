-- The insurer table: one row per provider plus the totals row (is_total, agb_code NULL;
-- persons counted once nationally, so the totals of person columns are not the sums of the rows).
-- $uzovi NULL means every insured; otherwise the persons of that insurer's slice (slice_uzovi).
SELECT
    provider AS agb_code,
    grouping(provider) = 1 AS is_total,
    count(*) AS wachtenden,
    count(DISTINCT person_id) AS unieke_personen,
    count(DISTINCT person_id) FILTER (WHERE is_double) AS dubbel_wachtenden,
    count(DISTINCT person_id) FILTER (WHERE is_internal) AS interne_dubbelingen,
    count(*) FILTER (WHERE is_double) AS dubbel_inschrijvingen,
    count(*) FILTER (WHERE over_norm) AS boven_norm,
    count(*) FILTER (WHERE over_norm AND counted_once) AS boven_norm_geschoond,
    count(*) FILTER (WHERE wachtfase = 'aanmelding') AS wachtenden_aanmelding,
    count(*) FILTER (WHERE wachtfase = 'behandeling') AS wachtenden_behandeling,
    -- waiting-time bands in whole days, as reports.disclosure.WAITING_BANDS
    count(*) FILTER (WHERE waiting_days <= 28) AS wacht_0_4_weken,
    count(*) FILTER (WHERE waiting_days BETWEEN 29 AND 70) AS wacht_4_10_weken,
    count(*) FILTER (WHERE waiting_days BETWEEN 71 AND 98) AS wacht_10_14_weken,
    count(*) FILTER (WHERE waiting_days >= 99) AS wacht_meer_14_weken
FROM entry_facts
WHERE $uzovi IS NULL OR slice_uzovi = $uzovi
GROUP BY GROUPING SETS ((provider), ())
ORDER BY grouping(provider), provider;
