-- Entries of the round from the staged, pseudonymised extracts; locations mapped to
-- their organisation. entry_id is stable and independent of how the entries were
-- pseudonymised (plain or two-stage) and of file names: by location, client number and row
-- number, the file's content hash only breaking the last ties.
-- A TEMP table: with every keyed encoding it is what linking reads, held in memory (spilled to
-- the store's temporary folder beyond the memory limit) and never written into the store file;
-- 02_stored_entries.sql keeps the columns the reports need once linking is done.
CREATE OR REPLACE TEMP TABLE entries AS
SELECT row_number() OVER () AS entry_id, *
FROM (
    SELECT coalesce(l.organisation, s.agb_code) AS provider, s.*
    FROM read_parquet($files) AS s
    LEFT JOIN locations AS l ON l.location = s.agb_code
    ORDER BY s.agb_code, s.client_id, s.source_row, s.file_sha256
);
