-- The round's entry ids: stable and independent of how the entries were pseudonymised (plain or
-- two-stage) and of file names, by location, client number and row number, the file's content
-- hash only breaking the last ties. Numbered on these narrow columns alone; the stored table
-- (02_stored_entries.sql) and the linking table (01_entries.sql) take their ids from here by
-- (file, row), so that neither wide table is sorted.
CREATE OR REPLACE TEMP TABLE entry_order AS
SELECT row_number() OVER (ORDER BY agb_code, client_id, source_row, file_sha256) AS entry_id, file_sha256, source_row
FROM read_parquet($files);
