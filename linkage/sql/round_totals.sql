-- Totals of the round for the operator's summary.
SELECT
    count(*) AS entries,
    count(DISTINCT person_id) AS persons,
    count(DISTINCT person_id) FILTER (WHERE is_double) AS double_waiters,
    count(DISTINCT person_id) FILTER (WHERE is_internal) AS internal_duplicates,
    count(DISTINCT provider) AS providers,
    count(*) FILTER (WHERE link_method = 'bsn') AS links_bsn,
    count(*) FILTER (WHERE link_method = 'probabilistic') AS links_probabilistic,
    count(*) FILTER (WHERE link_method = 'none') AS unlinked_without_bsn,
    count(DISTINCT uzovi) AS insurers,
    count(*) - count(DISTINCT (provider, client_id, sector, zorgvraag, aanmelddatum, wachtfase)) AS duplicate_rows
FROM entry_facts;
