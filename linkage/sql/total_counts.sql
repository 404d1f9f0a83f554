-- The totals row of the insurer table: persons counted once nationally.
SELECT
    'totaal' AS agb_code,
    count(*) AS wachtenden,
    count(DISTINCT person_id) AS unieke_personen,
    count(DISTINCT person_id) FILTER (WHERE is_double) AS dubbel_wachtenden,
    count(DISTINCT person_id) FILTER (WHERE is_internal) AS interne_dubbelingen,
    count(*) FILTER (WHERE over_norm) AS boven_norm,
    count(*) FILTER (WHERE over_norm AND counted_once) AS boven_norm_geschoond
FROM entry_facts
WHERE $uzovi IS NULL OR uzovi = $uzovi;
