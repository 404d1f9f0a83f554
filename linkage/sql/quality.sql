-- Per provider: accepted rows, rows without a usable BSN, stale entries (registered or
-- referred before $stale_from) and treatment-phase rows without an intake date (measured from
-- aanmelddatum against both norms), for the data-quality report.
SELECT
    provider AS agb_code,
    count(*) AS rijen_geaccepteerd,
    count(*) FILTER (WHERE bsn_status = 'missing') AS bsn_ontbrekend,
    count(*) FILTER (WHERE bsn_status = 'invalid') AS bsn_ongeldig,
    count(*) FILTER (WHERE aanmelddatum < $stale_from OR verwijsdatum < $stale_from) AS verouderd,
    count(*) FILTER (WHERE wachtfase = 'behandeling' AND intakedatum IS NULL) AS behandeling_zonder_intakedatum
FROM entries
GROUP BY provider
ORDER BY provider;
