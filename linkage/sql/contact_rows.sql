-- Person-level rows for the providers' contact lists: entries whose person waits at
-- another provider or twice at this one, in the same scope.
SELECT
    provider,
    client_id,
    aanmelddatum,
    wachtfase,
    zorgvraag,
    CASE WHEN is_double THEN 'dubbel' ELSE 'intern' END AS soort,
    other_providers AS aantal_andere_aanbieders,
    koppeling,
    zekerheid,
    agb_code
FROM entry_facts
WHERE is_double OR is_internal
ORDER BY provider, client_id, aanmelddatum, entry_id;
