-- Entries of the round from the staged, pseudonymised extracts; locations mapped to
-- their organisation. entry_id is stable: by file content hash, then row number.
CREATE OR REPLACE TABLE entries AS
SELECT
    row_number() OVER (ORDER BY s.file_sha256, s.source_row) AS entry_id,
    coalesce(l.organisation, s.agb_code) AS provider,
    s.*
FROM read_parquet($files) AS s
LEFT JOIN locations AS l ON l.location = s.agb_code;
