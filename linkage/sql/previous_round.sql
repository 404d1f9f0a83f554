-- The round before $round_id in the history: the latest earlier reference date (ties: the
-- round id), whatever order the rounds were run in.
SELECT round_id, key_id
FROM history.rounds
WHERE round_id <> $round_id
  AND (reference_date < $reference_date OR (reference_date = $reference_date AND round_id < $round_id))
ORDER BY reference_date DESC, round_id DESC
LIMIT 1;
