-- Person-level rows for the providers' contact lists: entries whose person waits at
-- another provider or twice at this one, in the same scope; whether the entry was on this
-- provider's list of the previous round too, and what the provider reported on it since.
SELECT
    f.provider,
    f.person_id,
    f.client_id,
    f.aanmelddatum,
    f.wachtfase,
    f.zorgvraag,
    CASE WHEN f.is_double THEN 'dubbel' ELSE 'intern' END AS soort,
    f.other_providers AS aantal_andere_aanbieders,
    f.koppeling,
    f.zekerheid,
    f.wachtfase_elders,
    f.weken_elders,
    f.other_provider_codes,
    f.agb_code,
    CASE WHEN k.entry_key IN (SELECT entry_key FROM previous_entries WHERE is_double OR is_internal)
        THEN 'ja' ELSE 'nee' END AS eerder_gemeld,
    r.uitkomst AS terugmelding
FROM entry_facts AS f
LEFT JOIN entry_keys AS k USING (entry_id)
LEFT JOIN received_feedback AS r USING (entry_key)
WHERE f.is_double OR f.is_internal
ORDER BY f.provider, f.client_id, f.aanmelddatum, f.entry_id;
