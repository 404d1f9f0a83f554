-- Entries become persons: the BSN pseudonym where there is one; else the
-- quasi-identifier key, which joins the person of the one BSN that shares it. A key
-- shared by two different BSNs is ambiguous: such an entry stays a person of its own,
-- so two valid BSNs are never merged.
CREATE OR REPLACE TABLE qid_bsn AS
SELECT qid_token, count(DISTINCT bsn_token) AS n_bsn, min(bsn_token) AS bsn_token
FROM entries
WHERE qid_token IS NOT NULL AND bsn_token IS NOT NULL
GROUP BY qid_token;

CREATE OR REPLACE TABLE entry_person AS
WITH keyed AS (
    SELECT
        e.entry_id,
        CASE
            WHEN e.bsn_token IS NOT NULL THEN 'b:' || e.bsn_token
            WHEN q.n_bsn = 1 THEN 'b:' || q.bsn_token
            WHEN q.n_bsn > 1 THEN 'e:' || e.entry_id
            WHEN e.qid_token IS NOT NULL THEN 'q:' || e.qid_token
            ELSE 'e:' || e.entry_id
        END AS person_key,
        CASE
            WHEN e.bsn_token IS NOT NULL THEN 'bsn'
            WHEN q.n_bsn > 1 THEN 'ambiguous'
            WHEN e.qid_token IS NOT NULL THEN 'qid'
            ELSE 'none'
        END AS link_method
    FROM entries AS e
    LEFT JOIN qid_bsn AS q USING (qid_token)
)
SELECT entry_id, dense_rank() OVER (ORDER BY person_key) AS person_id, link_method
FROM keyed;
