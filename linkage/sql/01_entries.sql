-- The linking table: per entry of the round, from the staged, pseudonymised extracts, only what
-- linking reads (its id, provider, BSN pseudonym and the keyed encodings), as fixed-width
-- integers: a 16-hex-digit token as the UBIGINT it spells (the same order, so blocking windows
-- are the same), the BSN and quasi-identifier pseudonyms as the UHUGEINT of their first 128
-- bits (only compared for equality), each name's key for term frequencies and its Bloom filter as
-- four 128-bit integers (NAME_COLUMNS_SQL of linkage.comparisons). Narrow rows keep the pair joins
-- in memory at national scale.
-- entry_id from entry_order (00_entry_order.sql).
-- A TEMP table: held in memory (spilled to the store's temporary folder beyond the memory
-- limit) and never written into the store file; it is dropped once linking is done.
CREATE OR REPLACE TEMP TABLE entries AS
SELECT o.entry_id,
       coalesce(l.organisation, s.agb_code) AS provider,
       ('0x' || left(s.bsn_token, 32))::UHUGEINT AS bsn_token,
       ('0x' || left(s.qid_token, 32))::UHUGEINT AS qid_token,
       s.birth_year,
       COLUMNS('^(sn|fn)_bits$'),
       {name_columns},
       ('0x' || COLUMNS('^(sn_phon|fn_phon|fn_initial|dob_month|dob_day|pc_full|pc_area|pc_anagram|sex_tok)$'))::UBIGINT
FROM read_parquet($files) AS s
JOIN entry_order AS o USING (file_sha256, source_row)
LEFT JOIN locations AS l ON l.location = s.agb_code;
