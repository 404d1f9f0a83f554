"""The Dutch cover note (``toelichting.html``) of a provider's package: what the package holds,
what each contact-list column means and what the provider is asked to do."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from reports.templating import render

CONTACT_COLUMNS_NL: tuple[tuple[str, str], ...] = (
    ("groep", "Inschrijvingen van dezelfde cliënt hebben dezelfde groep (G0001, G0002, ...); alleen geldig "
              "binnen deze lijst en deze ronde."),
    ("client_id", "Uw eigen cliëntnummer, zoals u het aanleverde."),
    ("aanmelddatum, wachtfase, zorgvraag", "Zoals u ze aanleverde."),
    ("soort", "dubbel: de cliënt wacht ook bij een andere aanbieder; intern: de cliënt staat meer dan eens op "
              "uw eigen lijst."),
    ("aantal_andere_aanbieders", "Bij hoeveel andere aanbieders de cliënt ook wacht (zelfde sector, bij msz "
                                 "zelfde specialisme)."),
    ("andere_aanbieders", "De andere aanbieders waar de cliënt ook wacht (AGB-code en naam); deze kolom staat er "
                          "alleen in als de deelnemers dat hebben afgesproken."),
    ("wachtfase_elders", "Bij soort dubbel: de verste wachtfase bij de andere aanbieders (behandeling gaat voor "
                         "aanmelding)."),
    ("weken_elders", "Bij soort dubbel: hoe lang de cliënt op de peildatum al op een andere wachtlijst staat, in "
                     "hele weken vanaf de aanmelddatum daar (de langste)."),
    ("koppeling", "bsn: dezelfde BSN staat bij de andere inschrijving; probabilistisch: gekoppeld op naam, "
                  "geboortedatum en postcode."),
    ("zekerheid", "De kans dat deze inschrijving bij dezelfde persoon hoort (1 bij een BSN-koppeling; bij een "
                  "probabilistische koppeling naar beneden afgerond op 4 decimalen, dus nooit 1)."),
    ("zekerheid_label", "zeker (BSN, of een kans van ten minste 0,99) of waarschijnlijk (controleer de "
                        "identiteit)."),
    ("agb_code", "De AGB-code (vestiging) waaronder u de inschrijving aanleverde."),
    ("eerder_gemeld", "ja: de inschrijving stond ook op uw contactlijst van de vorige ronde."),
    ("terugmelding", "Wat u over deze cliënt terugmeldde na de vorige ronde, als u dat deed."),
)  # fmt: skip
"""Each contact-list column and what it means, for the cover note."""


def cover_note(
    provider: str,
    round_id: str,
    contacts: pl.DataFrame,
    rejected: pl.DataFrame,
    quality: pl.DataFrame | None,
    files: Sequence[str],
    certain_link: float,
) -> bytes:
    """Return the Dutch cover note of a provider's package as a self-contained HTML page, from its
    contact list, its ``afgewezen.csv`` rows and its row of the data-quality report."""
    double = int((contacts["soort"] == "dubbel").sum())
    probabilistic = contacts.filter(pl.col("koppeling") == "probabilistisch")
    whole_files = rejected.filter(pl.col("rij").is_null())
    rows = rejected.filter(pl.col("rij").is_not_null())
    return render(
        "toelichting.html",
        provider=provider,
        round_id=round_id,
        double=double,
        internal=contacts.height - double,
        groups=contacts["groep"].n_unique(),
        rejected_rows=int((rows["soort"] == "aanlevering").sum()),
        rejected_feedback=int((rows["soort"] == "terugmelding").sum()),
        rejected_files=whole_files.height,
        probabilistic=probabilistic.height,
        uncertain=int((probabilistic["zekerheid_label"] == "waarschijnlijk").sum()),
        certain_link=f"{certain_link:.2f}".replace(".", ","),
        columns=[(c, m) for c, m in CONTACT_COLUMNS_NL if set(c.split(", ")) <= set(contacts.columns)],
        names_others="andere_aanbieders" in contacts.columns,
        quality=quality.row(0, named=True) if quality is not None and quality.height else None,
        files=files,
    )
