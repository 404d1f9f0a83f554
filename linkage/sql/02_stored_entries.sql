-- The entries as the store keeps them: every staged column but the keyed encodings of names,
-- birth date parts, postcode and sex that only linking needs (01_entries.sql), numbered as the
-- linking table numbers them (entry_order). A table of the store file, so that it leaves memory
-- when linking needs the room; named `entries` once linking is done and its table is dropped.
CREATE OR REPLACE TABLE entry_details AS
SELECT o.entry_id,
       coalesce(l.organisation, s.agb_code) AS provider,
       s.* EXCLUDE (sn_bf0, sn_bf1, sn_bf2, sn_bf3, sn_bf4, sn_bf5, sn_bf6, sn_bf7, sn_bits,
                    fn_bf0, fn_bf1, fn_bf2, fn_bf3, fn_bf4, fn_bf5, fn_bf6, fn_bf7, fn_bits,
                    sn_phon, fn_phon, fn_initial, qid_token, dob_month, dob_day, pc_full, pc_area, pc_anagram, sex_tok)
FROM read_parquet($files) AS s
JOIN entry_order AS o USING (file_sha256, source_row)
LEFT JOIN locations AS l ON l.location = s.agb_code;
