-- Entries of the round from the staged, pseudonymised extracts; locations mapped to
-- their organisation. entry_id is stable and independent of how the entries were
-- pseudonymised (plain or two-stage) and of file names: by location, client number and row
-- number, the file's content hash only breaking the last ties.
CREATE OR REPLACE TABLE entries AS
SELECT
    row_number() OVER (ORDER BY s.agb_code, s.client_id, s.source_row, s.file_sha256) AS entry_id,
    coalesce(l.organisation, s.agb_code) AS provider,
    s.*
FROM read_parquet($files) AS s
LEFT JOIN locations AS l ON l.location = s.agb_code;
