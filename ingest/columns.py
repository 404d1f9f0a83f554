"""The columns of the extract format (version 2) and the reason codes of validation."""

from __future__ import annotations

REQUIRED_COLUMNS: tuple[str, ...] = (
    "agb_code",
    "client_id",
    "geboortedatum",
    "achternaam",
    "uzovi",
    "sector",
    "aanmelddatum",
    "wachtfase",
)
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "bsn",
    "tussenvoegsel",
    "voornaam",
    "voorletters",
    "geslacht",
    "postcode",
    "huisnummer",
    "zorgvraag",
    "verwijsdatum",
    "peildatum",
    "intakedatum",
)
ALL_COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
DATE_COLUMNS: tuple[str, ...] = ("geboortedatum", "verwijsdatum", "aanmelddatum", "peildatum", "intakedatum")
SECTORS: tuple[str, ...] = ("ggz", "msz")
WACHTFASEN: tuple[str, ...] = ("aanmelding", "behandeling")
DEFAULT_NORMS_WEEKS: dict[str, dict[str, int]] = {
    "ggz": {"aanmelding": 4, "behandeling": 10},
    "msz": {"aanmelding": 4, "behandeling": 7},
}
"""The Treeknormen in weeks per sector and wachtfase (the settings' default; they are being revised,
so the settings may replace them)."""
GESLACHTEN: tuple[str, ...] = ("M", "V", "X", "O")
PLAIN_IDENTIFIER_COLUMNS: tuple[str, ...] = (
    "bsn",
    "geboortedatum",
    "achternaam",
    "tussenvoegsel",
    "voornaam",
    "voorletters",
    "geslacht",
    "postcode",
    "huisnummer",
)

ROW_MALFORMED = "row_malformed"
ROW_MALFORMED_TEXT = "the line has more or fewer fields than the header"
ROW_MALFORMED_NL = (
    "de regel heeft meer of minder velden dan de kopregel (alleen deze regel; de rest van het bestand wordt gelezen)"
)
"""A CSV line set aside by the reader; the only row reason not checked by validation."""

FIELD_REASONS: dict[str, str] = {
    **{f"{column}_too_long": f"{column} is longer than its limit" for column in ALL_COLUMNS},
    "control_characters": "a field holds control characters (such as NUL or ESC)",
}
FIELD_REASONS_NL: dict[str, str] = {
    **{f"{column}_too_long": f"{column} is langer dan toegestaan" for column in ALL_COLUMNS},
    "control_characters": "een veld bevat stuurtekens (zoals NUL of ESC)",
}

ROW_REASONS: dict[str, str] = {
    **FIELD_REASONS,
    "agb_code_missing": "agb_code is empty",
    "agb_code_invalid": "agb_code is not 8 digits (7 only for a registered code with a leading 0)",
    "agb_code_unknown": "agb_code is not in the provider registry",
    "agb_code_not_sender": "agb_code is not a code of the organisation that sent the file",
    "client_id_missing": "client_id is empty",
    "geboortedatum_missing": "geboortedatum is empty",
    "geboortedatum_invalid": "geboortedatum is not a possible date in a supported format",
    "geboortedatum_future": "geboortedatum lies after the peildatum",
    "achternaam_missing": "achternaam is empty",
    "uzovi_missing": "uzovi is empty",
    "uzovi_invalid": "uzovi is not 4 digits",
    "sector_missing": "sector is empty",
    "sector_invalid": "sector is not ggz or msz",
    "sector_not_registered": "sector differs from the provider's sector in the registry",
    "aanmelddatum_missing": "aanmelddatum is empty",
    "aanmelddatum_invalid": "aanmelddatum is not a possible date in a supported format",
    "aanmelddatum_future": "aanmelddatum lies after the peildatum",
    "aanmelddatum_before_geboortedatum": "aanmelddatum lies before geboortedatum",
    "wachtfase_missing": "wachtfase is empty",
    "wachtfase_invalid": "wachtfase is not aanmelding or behandeling",
    "verwijsdatum_invalid": "verwijsdatum is not a possible date in a supported format",
    "verwijsdatum_future": "verwijsdatum lies after the peildatum",
    "peildatum_invalid": "peildatum is not a possible date in a supported format",
    "intakedatum_invalid": "intakedatum is not a possible date, or lies before aanmelddatum or after the peildatum",
    ROW_MALFORMED: ROW_MALFORMED_TEXT,
}
"""Reason codes of rejected rows, in the order they are checked: a row gets its first."""


ROW_REASONS_NL: dict[str, str] = {
    **FIELD_REASONS_NL,
    "agb_code_missing": "agb_code is leeg",
    "agb_code_invalid": "agb_code bestaat niet uit 8 cijfers",
    "agb_code_unknown": "agb_code staat niet in het deelnemersregister",
    "agb_code_not_sender": "agb_code hoort niet bij de organisatie die het bestand aanleverde",
    "client_id_missing": "client_id is leeg",
    "geboortedatum_missing": "geboortedatum is leeg",
    "geboortedatum_invalid": "geboortedatum is geen bestaande datum in een toegestane notatie",
    "geboortedatum_future": "geboortedatum ligt na de peildatum",
    "achternaam_missing": "achternaam is leeg",
    "uzovi_missing": "uzovi is leeg",
    "uzovi_invalid": "uzovi bestaat niet uit 4 cijfers",
    "sector_missing": "sector is leeg",
    "sector_invalid": "sector is niet ggz of msz",
    "sector_not_registered": "sector wijkt af van de sector van de aanbieder in het deelnemersregister",
    "aanmelddatum_missing": "aanmelddatum is leeg",
    "aanmelddatum_invalid": "aanmelddatum is geen bestaande datum in een toegestane notatie",
    "aanmelddatum_future": "aanmelddatum ligt na de peildatum",
    "aanmelddatum_before_geboortedatum": "aanmelddatum ligt voor de geboortedatum",
    "wachtfase_missing": "wachtfase is leeg",
    "wachtfase_invalid": "wachtfase is niet aanmelding of behandeling",
    "verwijsdatum_invalid": "verwijsdatum is geen bestaande datum in een toegestane notatie",
    "verwijsdatum_future": "verwijsdatum ligt na de peildatum",
    "peildatum_invalid": "peildatum is geen bestaande datum in een toegestane notatie",
    "intakedatum_invalid": "intakedatum is geen bestaande datum, of ligt voor de aanmelddatum of na de peildatum",
    ROW_MALFORMED: ROW_MALFORMED_NL,
}
"""Dutch explanation of each reason code, for the providers' ``afgewezen.csv``."""

ROW_WARNINGS: dict[str, str] = {
    "bsn_missing": "no BSN delivered; the row is linked on other identifiers",
    "bsn_invalid": "BSN fails the 11-check or is malformed; treated as missing",
    "postcode_invalid": "postcode is not a Dutch postcode; treated as missing",
    "geslacht_invalid": "geslacht is not M, V, X or O; treated as missing",
    "placeholder_value": "a name, birth date or postcode is a placeholder (Onbekend, 1900-01-01, 1000AA); "
    "it is not used for linking",
    "intakedatum_missing": "wachtfase behandeling without intakedatum; its waiting time runs from aanmelddatum "
    "against the norms of both phases together",
}
"""Counted but not rejected."""

FILE_REASONS: dict[str, str] = {
    "unsupported_format": "the file is not .csv, .xlsx or .parquet",
    "unreadable": "the file could not be parsed as its format",
    "unreadable_encoding": "the file is UTF-16, mixes encodings or is not in the configured encoding",
    "too_large": "the file is over a size limit (bytes, rows, columns or cells), checked before decoding",
    "reader_failed": "reading the file exhausted the reader's memory or time limit; it cost only itself",
    "unknown_sender": "the file lies in a sender folder that is not a registered organisation",
    "empty": "the file holds no header or no data rows",
    "missing_columns": "required columns are missing",
    "ambiguous_columns": "two columns map to the same extract column",
    "duplicate_content": "the same content was already delivered in this round",
    "superseded": "a newer file of the same provider replaces it (replace_earlier_deliveries)",
    "processing_failed": "the file was read but could not be processed (an internal error)",
    "prepseudonymised_invalid": "a pre-pseudonymised file lacks columns, mixes stage-1 keys or breaks the format",
}
"""Reason codes of files rejected whole."""
FILE_REASONS_NL: dict[str, str] = {
    "unsupported_format": "het bestand is geen .csv, .xlsx of .parquet",
    "unreadable": "het bestand is niet te lezen als zijn bestandsformaat",
    "unreadable_encoding": "het bestand is UTF-16, mengt tekensets of heeft niet de afgesproken tekenset",
    "too_large": "het bestand is groter dan toegestaan (bytes, rijen, kolommen of cellen)",
    "reader_failed": "het lezen van het bestand overschreed de geheugen- of tijdslimiet",
    "unknown_sender": "het bestand staat in een map van een organisatie die niet is aangemeld",
    "empty": "het bestand heeft geen kopregel of geen gegevensregels",
    "missing_columns": "verplichte kolommen ontbreken",
    "ambiguous_columns": "twee kolommen horen bij dezelfde kolom van het aanleverformaat",
    "duplicate_content": "dezelfde inhoud is deze ronde al eerder aangeleverd",
    "superseded": "een nieuwer bestand van dezelfde aanbieder vervangt dit bestand",
    "processing_failed": "het bestand is gelezen maar kon niet worden verwerkt (een interne fout)",
    "prepseudonymised_invalid": "een vooraf gepseudonimiseerd bestand mist kolommen, mengt sleutels of wijkt af "
    "van het formaat",
}
"""Dutch explanation of each file reason code, for the provider's ``afgewezen.csv``."""
