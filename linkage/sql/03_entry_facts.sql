-- Per entry: its person, its scope, whether the person waits at another provider
-- (double) or twice here (internal) in that scope, its waiting time and whether it is
-- over the norm (the treatment phase from the intake date), whether it is the one entry
-- counted in boven_norm_geschoond, and the person's insurer slice (slice_uzovi: the UZOVI of
-- the person's most recent entry, ties to the lowest code), so that the insurer slices
-- partition every national count exactly.
-- For the contact lists, per entry: koppeling 'bsn' (zekerheid 1) when an entry of the same
-- person and scope with the same BSN pseudonym is at another provider (for an internal
-- duplicate: at this one), else 'probabilistisch' with the probability of the strongest
-- accepted link of the entry's own base cluster (four decimals, rounded down so that a
-- probabilistic link never reads 1); and, for double waiters, the most advanced wachtfase
-- and the longest whole weeks since aanmelddatum at the other providers (and their codes, which
-- reach a contact list only when name_other_providers is set).
-- Most persons have one entry: their facts need no grouping (not double, not internal, counted
-- once, their own UZOVI as slice), so the groupings and windows below run over the entries of
-- persons with more than one entry only, and the single entries join them at the end.
CREATE OR REPLACE TABLE entry_facts AS
WITH person_entries AS (
    SELECT person_id, count(*) AS n_entries FROM entry_person GROUP BY person_id
),
every_entry AS (
    SELECT e.entry_id, e.provider, e.agb_code, e.client_id, e.uzovi, e.sector, e.zorgvraag,
           e.aanmelddatum, e.wachtfase, e.bsn_token, p.person_id, p.link_method, p.entry_zekerheid,
           {scope_key} AS scope_key,
           e.intakedatum,
           -- the treatment phase runs from the intake; without an intake date, from aanmelddatum
           -- against both phases' norms together (extract format version 2)
           date_diff('day', CASE WHEN e.wachtfase = 'behandeling' AND e.intakedatum IS NOT NULL
                                 THEN e.intakedatum ELSE e.aanmelddatum END, $reference_date::DATE) AS waiting_days,
           pe.n_entries
    FROM entries AS e
    JOIN entry_person AS p USING (entry_id)
    JOIN person_entries AS pe USING (person_id)
),
scoped AS (
    SELECT * EXCLUDE (n_entries),
           first_value(uzovi) OVER (
               PARTITION BY person_id ORDER BY aanmelddatum DESC NULLS LAST, uzovi
           ) AS slice_uzovi
    FROM every_entry WHERE n_entries > 1
),
person_scope AS (
    SELECT person_id, scope_key,
           count(DISTINCT provider) AS n_providers
    FROM scoped
    GROUP BY person_id, scope_key
),
person_scope_provider AS (
    SELECT person_id, scope_key, provider, count(*) AS n_here,
           max(CASE WHEN wachtfase = 'behandeling' THEN 2 ELSE 1 END) AS phase_rank,
           max(date_diff('day', aanmelddatum, $reference_date::DATE)) AS days_listed
    FROM scoped
    GROUP BY person_id, scope_key, provider
),
elsewhere AS (
    SELECT here.person_id, here.scope_key, here.provider,
           CASE WHEN max(there.phase_rank) = 2 THEN 'behandeling' ELSE 'aanmelding' END AS wachtfase_elders,
           greatest(max(there.days_listed), 0) // 7 AS weken_elders,
           string_agg(DISTINCT there.provider, ';' ORDER BY there.provider) AS other_provider_codes
    FROM person_scope_provider AS here
    JOIN person_scope_provider AS there
      ON there.person_id = here.person_id AND there.scope_key = here.scope_key AND there.provider <> here.provider
    GROUP BY ALL
),
same_bsn AS (
    SELECT person_id, scope_key, bsn_token, count(DISTINCT provider) AS bsn_providers
    FROM scoped WHERE bsn_token IS NOT NULL
    GROUP BY ALL
),
same_bsn_here AS (
    SELECT person_id, scope_key, bsn_token, provider, count(*) AS n_bsn_here
    FROM scoped WHERE bsn_token IS NOT NULL
    GROUP BY ALL
),
linked AS (
    SELECT s.entry_id,
           CASE WHEN ps.n_providers >= 2 THEN coalesce(b.bsn_providers >= 2, false)
                ELSE coalesce(h.n_bsn_here >= 2, false) END AS by_bsn
    FROM scoped AS s
    JOIN person_scope AS ps USING (person_id, scope_key)
    LEFT JOIN same_bsn AS b USING (person_id, scope_key, bsn_token)
    LEFT JOIN same_bsn_here AS h USING (person_id, scope_key, bsn_token, provider)
),
multi_entry_facts AS (
SELECT
    s.*,
    ps.n_providers >= 2 AS is_double,
    psp.n_here >= 2 AS is_internal,
    ps.n_providers - 1 AS other_providers,
    CASE WHEN l.by_bsn THEN 'bsn' ELSE 'probabilistisch' END AS koppeling,
    CASE WHEN l.by_bsn THEN 1.0 ELSE floor(s.entry_zekerheid * 10000) / 10000 END AS zekerheid,
    o.wachtfase_elders,
    o.weken_elders,
    o.other_provider_codes,
    s.waiting_days > CASE WHEN s.wachtfase = 'behandeling' AND s.intakedatum IS NULL
                          THEN n.norm_days + coalesce(a.norm_days, 0) ELSE n.norm_days END AS over_norm,
    ps.n_providers < 2 OR row_number() OVER (
        PARTITION BY s.person_id, s.scope_key
        ORDER BY s.waiting_days DESC, s.provider, s.client_id, s.entry_id
    ) = 1 AS counted_once
FROM scoped AS s
JOIN person_scope AS ps USING (person_id, scope_key)
JOIN person_scope_provider AS psp USING (person_id, scope_key, provider)
JOIN linked AS l USING (entry_id)
LEFT JOIN elsewhere AS o USING (person_id, scope_key, provider)
JOIN norms AS n USING (sector, wachtfase)
LEFT JOIN norms AS a ON a.sector = s.sector AND a.wachtfase = 'aanmelding'
),
single_entry_facts AS (
SELECT
    s.* EXCLUDE (n_entries),
    s.uzovi AS slice_uzovi,
    false AS is_double,
    false AS is_internal,
    0::BIGINT AS other_providers,
    'probabilistisch' AS koppeling,
    floor(s.entry_zekerheid * 10000) / 10000 AS zekerheid,
    NULL::VARCHAR AS wachtfase_elders,
    NULL::BIGINT AS weken_elders,
    NULL::VARCHAR AS other_provider_codes,
    s.waiting_days > CASE WHEN s.wachtfase = 'behandeling' AND s.intakedatum IS NULL
                          THEN n.norm_days + coalesce(a.norm_days, 0) ELSE n.norm_days END AS over_norm,
    true AS counted_once
FROM every_entry AS s
JOIN norms AS n USING (sector, wachtfase)
LEFT JOIN norms AS a ON a.sector = s.sector AND a.wachtfase = 'aanmelding'
WHERE s.n_entries = 1
)
SELECT * EXCLUDE (bsn_token) FROM multi_entry_facts
UNION ALL BY NAME
SELECT * EXCLUDE (bsn_token) FROM single_entry_facts;
