-- Entries of the round from the staged, pseudonymised extracts; locations mapped to
-- their organisation. entry_id is stable: by file content hash, then row number.
CREATE OR REPLACE TABLE entries AS
SELECT
    row_number() OVER (ORDER BY s.file_sha256, s.source_row) AS entry_id,
    s.file_sha256,
    s.source_file,
    s.source_row,
    coalesce(l.organisation, s.agb_code) AS provider,
    s.agb_code,
    s.client_id,
    s.bsn_status,
    s.bsn_token,
    s.qid_token,
    s.key_id,
    s.birth_year,
    s.uzovi,
    s.sector,
    s.zorgvraag,
    s.verwijsdatum,
    s.aanmelddatum,
    s.wachtfase,
    s.peildatum
FROM read_parquet($files) AS s
LEFT JOIN locations AS l ON l.location = s.agb_code;
