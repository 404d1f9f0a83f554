-- After linking: the entries as the store keeps them, without the keyed encodings of names,
-- birth date parts, postcode and sex that only linking needs (two thirds of the linking
-- table's width); from here on `entries` is this table.
CREATE OR REPLACE TABLE main.entries AS
SELECT COLUMNS(lambda c: NOT regexp_full_match(
    c, '(sn|fn)_(bf[0-9]+|bits|phon)|qid_token|dob_month|dob_day|pc_full|pc_area|pc_anagram|fn_initial|sex_tok'))
FROM temp.entries;
DROP TABLE temp.entries;
