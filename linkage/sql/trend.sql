-- Compare the round with the previous one. A person of either round is the same as a person
-- of the other when they share an entry key (same client on the same list) or a BSN pseudonym.
CREATE OR REPLACE TEMP TABLE current_keys AS
SELECT f.entry_id, f.person_id, f.is_double, k.entry_key, e.bsn_token AS bsn_key
FROM entry_facts AS f
JOIN entry_keys AS k USING (entry_id)
JOIN entries AS e USING (entry_id);

-- This round's persons who were double waiters in the previous round.
CREATE OR REPLACE TABLE person_was_double AS
SELECT c.person_id FROM current_keys AS c JOIN previous_entries AS p USING (entry_key) WHERE p.is_double
UNION
SELECT c.person_id FROM current_keys AS c JOIN previous_entries AS p ON p.bsn_key = c.bsn_key WHERE p.is_double;

-- The previous round's persons who are double waiters now.
CREATE OR REPLACE TEMP TABLE previous_still_double AS
SELECT p.person_id FROM previous_entries AS p JOIN current_keys AS c USING (entry_key) WHERE c.is_double
UNION
SELECT p.person_id FROM previous_entries AS p JOIN current_keys AS c ON c.bsn_key = p.bsn_key WHERE c.is_double;

-- The previous round's double entries whose person is a double waiter nowhere now, with the
-- outcome their provider reported (the first in $outcomes when it reported several), and the
-- person's outcome over all providers (for the totals rows).
CREATE OR REPLACE TABLE previous_resolved AS
WITH reported AS (
    SELECT p.person_id, p.provider, arg_min(r.uitkomst, list_position($outcomes, r.uitkomst)) AS uitkomst
    FROM previous_entries AS p
    JOIN received_feedback AS r USING (entry_key)
    GROUP BY p.person_id, p.provider
),
resolved AS (
    SELECT p.person_id, p.provider, p.uzovi, o.uitkomst
    FROM previous_entries AS p
    LEFT JOIN reported AS o USING (person_id, provider)
    WHERE p.is_double AND p.person_id NOT IN (SELECT person_id FROM previous_still_double)
)
SELECT *, arg_min(uitkomst, list_position($outcomes, uitkomst)) OVER (PARTITION BY person_id) AS person_uitkomst
FROM resolved;
