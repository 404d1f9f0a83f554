-- Entry counts per insurer slice, provider, sector and zorgvraag (a missing zorgvraag is ''),
-- for the insurer release's tables by sector and zorgvraag (reports/breakdowns.py).
SELECT
    slice_uzovi AS uzovi,
    provider AS agb_code,
    sector,
    coalesce(zorgvraag, '') AS zorgvraag,
    count(*) AS wachtenden,
    count(*) FILTER (WHERE is_double) AS dubbel_inschrijvingen,
    count(*) FILTER (WHERE over_norm) AS boven_norm
FROM entry_facts
GROUP BY ALL
ORDER BY ALL;
