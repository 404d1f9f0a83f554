-- The round's view of the previous round, empty until linkage.history fills it: entry keys,
-- the previous round's entries, feedback received, and what follows from them.
CREATE OR REPLACE TABLE entry_keys (entry_id BIGINT, entry_key VARCHAR);
CREATE OR REPLACE TABLE previous_entries (
    person_id BIGINT, provider VARCHAR, uzovi VARCHAR, entry_key VARCHAR, bsn_key VARCHAR,
    is_double BOOLEAN, is_internal BOOLEAN
);
CREATE OR REPLACE TABLE received_feedback (entry_key VARCHAR, provider VARCHAR, uitkomst VARCHAR);
CREATE OR REPLACE TABLE person_was_double (person_id BIGINT);
CREATE OR REPLACE TABLE previous_resolved (
    person_id BIGINT, provider VARCHAR, uzovi VARCHAR, uitkomst VARCHAR, person_uitkomst VARCHAR
);
