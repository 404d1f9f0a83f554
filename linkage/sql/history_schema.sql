-- The TTP's history store (attached as "history"): every round's pseudonymised result, kept
-- to compare each round with the one before. Entry keys and BSN pseudonyms only.
CREATE TABLE IF NOT EXISTS history.rounds (round_id VARCHAR, reference_date DATE, key_id VARCHAR);
CREATE TABLE IF NOT EXISTS history.round_entries (
    round_id VARCHAR, person_id BIGINT, provider VARCHAR, uzovi VARCHAR, entry_key VARCHAR, bsn_key VARCHAR,
    is_double BOOLEAN, is_internal BOOLEAN
);
CREATE TABLE IF NOT EXISTS history.feedback (round_id VARCHAR, entry_key VARCHAR, provider VARCHAR, uitkomst VARCHAR);
