-- Per accepted row that was counted but not rejected: which warning, for the provider's own
-- waarschuwingen.csv (the same counts as quality.sql, row by row). rij is the row in the file
-- as a spreadsheet numbers it (the header is row 1).
SELECT provider, source_file AS bestand, source_row + 1 AS rij, client_id, waarschuwing
FROM (
    SELECT provider, source_file, source_row, client_id, 'bsn_ontbrekend' AS waarschuwing, 1 AS n FROM entries WHERE bsn_status = 'missing'
    UNION ALL
    SELECT provider, source_file, source_row, client_id, 'bsn_ongeldig', 2 FROM entries WHERE bsn_status = 'invalid'
    UNION ALL
    SELECT provider, source_file, source_row, client_id, 'verouderd', 3 FROM entries WHERE aanmelddatum < $stale_from OR verwijsdatum < $stale_from
    UNION ALL
    SELECT provider, source_file, source_row, client_id, 'behandeling_zonder_intakedatum', 4 FROM entries WHERE wachtfase = 'behandeling' AND intakedatum IS NULL
)
ORDER BY provider, bestand, rij, n;
