-- Per entry: its person, its scope, whether the person waits at another provider
-- (double) or twice here (internal) in that scope, its waiting time and whether it is
-- over the norm (the treatment phase from the intake date), whether it is the one entry
-- counted in boven_norm_geschoond, and the person's insurer slice (slice_uzovi: the UZOVI of
-- the person's most recent entry, ties to the lowest code), so that the insurer slices
-- partition every national count exactly.
CREATE OR REPLACE TABLE entry_facts AS
WITH scoped AS (
    SELECT e.entry_id, e.provider, e.agb_code, e.client_id, e.uzovi, e.sector, e.zorgvraag,
           e.aanmelddatum, e.wachtfase, p.person_id, p.link_method, p.zekerheid AS link_zekerheid,
           {scope_key} AS scope_key,
           e.intakedatum,
           -- the treatment phase runs from the intake; without an intake date, from aanmelddatum
           -- against both phases' norms together (extract format version 2)
           date_diff('day', CASE WHEN e.wachtfase = 'behandeling' AND e.intakedatum IS NOT NULL
                                 THEN e.intakedatum ELSE e.aanmelddatum END, $reference_date::DATE) AS waiting_days,
           first_value(e.uzovi) OVER (
               PARTITION BY p.person_id ORDER BY e.aanmelddatum DESC NULLS LAST, e.uzovi
           ) AS slice_uzovi
    FROM entries AS e
    JOIN entry_person AS p USING (entry_id)
),
person_scope AS (
    SELECT person_id, scope_key,
           count(DISTINCT provider) AS n_providers,
           bool_and(link_method = 'bsn') AS all_bsn,
           min(link_zekerheid) AS min_zekerheid
    FROM scoped
    GROUP BY person_id, scope_key
),
person_scope_provider AS (
    SELECT person_id, scope_key, provider, count(*) AS n_here
    FROM scoped
    GROUP BY person_id, scope_key, provider
)
SELECT
    s.*,
    ps.n_providers >= 2 AS is_double,
    psp.n_here >= 2 AS is_internal,
    ps.n_providers - 1 AS other_providers,
    CASE WHEN ps.all_bsn THEN 'bsn' ELSE 'probabilistisch' END AS koppeling,
    CASE WHEN ps.all_bsn THEN 1.0 ELSE round(ps.min_zekerheid, 3) END AS zekerheid,
    s.waiting_days > CASE WHEN s.wachtfase = 'behandeling' AND s.intakedatum IS NULL
                          THEN n.norm_days + coalesce(a.norm_days, 0) ELSE n.norm_days END AS over_norm,
    ps.n_providers < 2 OR row_number() OVER (
        PARTITION BY s.person_id, s.scope_key
        ORDER BY s.waiting_days DESC, s.provider, s.client_id, s.entry_id
    ) = 1 AS counted_once
FROM scoped AS s
JOIN person_scope AS ps USING (person_id, scope_key)
JOIN person_scope_provider AS psp USING (person_id, scope_key, provider)
JOIN norms AS n USING (sector, wachtfase)
LEFT JOIN norms AS a ON a.sector = s.sector AND a.wachtfase = 'aanmelding';
