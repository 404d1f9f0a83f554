"""The operator's view of a round (``run_summary.html``), in Dutch: what needs attention, what
came in, what was rejected, what was delivered to whom, timings. Totals only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ingest.columns import FILE_REASONS_NL
from reports.linkage_section import linkage_context
from reports.templating import count_phrase, render

UNDELIVERED_NL: dict[str, str] = {
    "no public key in the recipients folder": "geen publieke sleutel in de map met ontvangers",
    "public key is neither an age recipient nor a usable X25519 key": "de publieke sleutel is geen bruikbare "
    "age- of X25519-sleutel",
    "public key differs from its pin": "de publieke sleutel wijkt af van de vastgelegde vingerafdruk",
    "public key not pinned": "de publieke sleutel is niet vastgelegd (keys pin)",
}
"""Dutch for the delivery reasons that run_summary.json gives in English."""


@dataclass(frozen=True)
class Section:
    """One table of the page: id, Dutch title and note, headers, rows and a CSS class per row."""

    id: str
    title: str
    note: str
    headers: Sequence[str]
    rows: Sequence[Sequence[object]]
    classes: Sequence[str] = ()


def _decimal(number: float) -> str:
    """Return ``number`` with a decimal comma, as Dutch readers write it."""
    return str(number).replace(".", ",")


def _file_reason(reason: str | None, detail: str | None) -> str:
    text = f"afgewezen: {reason}" + (f" ({FILE_REASONS_NL[reason]})" if reason in FILE_REASONS_NL else "")
    return text + (f"; {detail}" if detail else "")


def _attention(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return the (what, why) lines the operator must act on before the figures go out."""
    files = summary["files"]["details"]
    attention = [(f"bestand {f['file']}", _file_reason(f["reason"], f["detail"])) for f in files
                 if f["status"] == "rejected"]  # fmt: skip
    attention += [(f"aanbieder {u['agb_code']}", "niet geleverd: " + UNDELIVERED_NL.get(u["reason"], u["reason"]))
                  for u in summary["undelivered"]]  # fmt: skip
    linkage = summary.get("linkage", {})
    skipped = sum(linkage.get("skipped_blocks", {}).values())
    if linkage.get("frequent_value_entries") or skipped:
        attention.append(("koppeling", f"{linkage.get('frequent_value_entries', 0)} inschrijvingen delen achternaam, "
                          "geboortedatum en postcode met te veel andere (invulwaarden) en zijn niet probabilistisch "
                          f"gekoppeld; {skipped} te grote blokkeersleutels zijn overgeslagen"))  # fmt: skip
    history = summary.get("history", {})
    attention += [(f"terugmelding {f['file']}", _file_reason(f["reason"], None))
                  for f in history.get("feedback_files", []) if f["status"] == "rejected"]  # fmt: skip
    unverified = summary.get("senders", {}).get("unverified_files", 0)
    if unverified:
        attention.append((count_phrase(unverified, "bestand", "bestanden"), "zonder geverifieerde afzender: niet in "
                          "een afzendermap aangeleverd, dus de regels zijn niet getoetst aan de organisatie die ze "
                          "stuurde"))  # fmt: skip
    exposed = (summary.get("disclosure") or {}).get("exposed_by_previous_release", [])
    if exposed:
        attention.append((count_phrase(len(exposed), "cel", "cellen") + " voor verzekeraars", "een klein aantal dat "
                          "de vorige publicatie al vastlegde; geen onderdrukking in deze publicatie kan het "
                          "beschermen (zie het publicatielogboek: kolom, scope en aanbieder)"))  # fmt: skip
    if history.get("previous_key_differs"):
        attention.append(("historie", "de vorige ronde is met een andere sleutel gemaakt: deze ronde geen trend"))
    return attention


def _totals(summary: Mapping[str, Any]) -> list[tuple[str, object]]:
    files, rows, links = summary["files"], summary["rows"], summary["links"]
    senders, disclosure = summary.get("senders", {}), summary.get("disclosure") or {}
    names = (summary.get("registry") or {}).get("names", {})
    return [
        ("bestanden ontvangen / verwerkt / afgewezen",
         f"{files['received']} / {files['accepted']} / {files['rejected']}"),
        ("regels ontvangen / verwerkt / afgewezen", f"{rows['received']} / {rows['accepted']} / {rows['rejected']}"),
        ("inschrijvingen", summary["entries"]), ("personen", summary["persons"]),
        ("dubbel wachtenden", summary["double_waiters"]), ("interne dubbelingen", summary["internal_duplicates"]),
        ("koppelingen op BSN / probabilistisch / paren ter beoordeling",
         f"{links['bsn']} / {links['probabilistic']} / {links['review_pairs']}"),
        ("bestanden in afzendermappen / zonder geverifieerde afzender",
         f"{senders.get('verified_files', 0)} / {senders.get('unverified_files', 0)}"),
        ("geregistreerde codes", len(names) if summary.get("registry") else "geen register: codes niet getoetst"),
        ("cellen voor verzekeraars onderdrukt: klein / extra, ter bescherming",
         f"{disclosure.get('primary', 0)} / {disclosure.get('secondary', 0)}"),
        ("sleutelversie", summary["key_version"]),
        ("ontvangers vastgelegd", "ja" if summary.get("recipients_pinned") else "nee"),
        ("duur (s)", _decimal(summary["duration_s"])),
    ]  # fmt: skip


def _sections(summary: Mapping[str, Any]) -> list[Section]:
    files = summary["files"]["details"]
    history = summary.get("history", {})
    feedback = history.get("feedback_files", [])
    linkage = summary.get("linkage", {})
    rows = history.get("feedback_rows", {})
    names = (summary.get("registry") or {}).get("names", {})

    def named(code: str) -> str:
        return f"{code} ({names[code]})" if code in names else code

    def marked(items: Sequence[Mapping[str, Any]]) -> list[str]:
        return ["afgewezen" if item["status"] == "rejected" else "" for item in items]

    status_nl = {"accepted": "verwerkt", "rejected": "afgewezen"}
    previous = [
        ("vorige ronde", history.get("previous_round") or "geen"),
        ("terugmeldingsregels ontvangen / verwerkt / afgewezen",
         f"{rows.get('received', 0)} / {rows.get('accepted', 0)} / {rows.get('rejected', 0)}"),
        *[(f"terugmelding: {outcome}", n) for outcome, n in sorted(rows.get("by_outcome", {}).items())],
        *[(f"terugmelding afgewezen: {reason}", n) for reason, n in sorted(rows.get("rejected_by_reason", {}).items())],
    ]  # fmt: skip
    return [
        Section("aandacht", "Aandachtspunten", "Los deze op voordat de cijfers uitgaan: de regels van een afgewezen "
                "bestand tellen nergens mee, en een aanbieder zonder levering heeft zijn contactlijst niet ontvangen.",
                ("wat", "waarom"), _attention(summary)),
        Section("totalen", "Totalen", "Regels ontvangen = verwerkt + afgewezen, voor elk verwerkt bestand; de regels "
                "van een bestand dat in zijn geheel is afgewezen, tellen niet als regels.", ("", "aantal"),
                _totals(summary)),
        Section("bestanden", "Bestanden", "Elk bestand in de invoermap, met wat ermee gebeurde.",
                ("bestand", "status", "reden", "toelichting", "regels", "verwerkt", "afgewezen"),
                [(f["file"], status_nl.get(f["status"], f["status"]), f["reason"], f["detail"], f["rows_received"],
                  f["rows_accepted"], f["rows_rejected"]) for f in files], marked(files)),
        Section("afgewezen-regels", "Afgewezen regels per reden", "Regels die niet meetellen; elke aanbieder krijgt "
                "de zijne in afgewezen.csv met een Nederlandse toelichting, en datakwaliteit.csv telt ze per "
                "aanbieder.",
                ("reden", "regels"), sorted(summary["rows"]["rejected_by_reason"].items())),
        Section("waarschuwingen", "Waarschuwingen (regels behouden)", "Regels die wel meetellen, maar gekoppeld zijn "
                "zonder bruikbaar BSN, postcode of geslacht; elke aanbieder ziet ze per client_id in "
                "waarschuwingen.csv.", ("waarschuwing", "regels"), sorted(summary["rows"]["warnings"].items())),
        Section("geleverd", "Geleverd", "Versleuteld voor de eigen, vastgelegde sleutel van elke aanbieder.",
                ("aanbieder", "bestanden"), [(named(k), ", ".join(v)) for k, v in summary["delivered"].items()]),
        Section("niet-geleverd", "Niet geleverd", "Aanbieders voor wie niets is geschreven, en waarom (geen sleutel, "
                "sleutel niet vastgelegd, gewijzigde sleutel).", ("aanbieder", "reden"),
                [(named(u["agb_code"]), UNDELIVERED_NL.get(u["reason"], u["reason"])) for u in summary["undelivered"]],
                ["afgewezen"] * len(summary["undelivered"])),
        Section("vorige-ronde", "Vergeleken met de vorige ronde", "De ronde waarmee deze is vergeleken (de "
                "trendkolommen voor verzekeraars); geen bij een eerste ronde, of als de vorige ronde met een andere "
                "sleutel is gemaakt.", ("", "aantal"), previous),
        Section("terugmeldingen", "Terugmeldingen", "Terugmeldingen van aanbieders (terugmelding/) over de "
                "contactlijsten van de vorige ronde: regels ontvangen = verwerkt + afgewezen per bestand; afgewezen "
                "regels en bestanden gaan terug naar de aanbieder in afgewezen.csv.",
                ("bestand", "status", "reden", "regels", "verwerkt", "afgewezen"),
                [(f["file"], status_nl.get(f["status"], f["status"]), f["reason"], f["rows_received"],
                  f["rows_accepted"], f["rows_rejected"]) for f in feedback], marked(feedback)),
        Section("seconden", "Seconden per stap", "De looptijd van elke stap van deze run.", ("stap", "seconden"),
                list(summary.get("stage_seconds", {}).items())),
        *_linkage_sections(linkage),
    ]  # fmt: skip


def _linkage_sections(linkage: Mapping[str, Any]) -> list[Section]:
    """Return the tables of the linkage stage's own counts: pairs per blocking pass, seconds per
    step and the blocking keys skipped for being too common."""
    return [
        Section("koppeling-paren", "Koppeling: kandidaatparen per blokkeerstap", "Hoeveel paren van inschrijvingen "
                "elke blokkeerstap voorstelde om te vergelijken.", ("blokkeerstap", "paren"),
                sorted(linkage.get("pairs_per_pass", {}).items())),
        Section("koppeling-seconden", "Koppeling: seconden per stap", "De looptijd van elke stap van de "
                "probabilistische koppeling.", ("stap", "seconden"), sorted(linkage.get("seconds", {}).items())),
        Section("koppeling-overgeslagen", "Koppeling: overgeslagen blokkeersleutels", "Sleutels die meer "
                "inschrijvingen delen dan max_block_entries (invulnamen of -datums, de postcode van een "
                "zorginstelling) stellen geen paren voor, zodat een waarde die niemand aanwijst geen "
                "inschrijvingen koppelt.",
                ("blokkeerstap", "sleutels overgeslagen", "inschrijvingen daarin"),
                [(name, n, linkage.get("skipped_block_entries", {}).get(name, 0))
                 for name, n in sorted(linkage.get("skipped_blocks", {}).items()) if n]),
    ]  # fmt: skip


def summary_html(summary: Mapping[str, Any]) -> bytes:
    """Return the operator's view of a round as one self-contained Dutch HTML page (no scripts, no
    network), rendered from ``run_summary.json``'s content."""
    attention = _attention(summary)
    rejected = summary["files"]["rejected"]
    undelivered = len(summary["undelivered"])
    status = (
        f"{count_phrase(rejected, 'bestand', 'bestanden')} afgewezen en "
        f"{count_phrase(undelivered, 'aanbieder', 'aanbieders')} zonder levering: zie Aandachtspunten."
        if attention
        else "Elk bestand is verwerkt en elke aanbieder heeft zijn bestanden ontvangen."
    )
    sections = [
        {**section.__dict__, "classes": list(section.classes) or [""] * len(section.rows)}
        for section in _sections(summary)
    ]
    return render(
        "run_summary.html",
        title=f"Ronde {summary['round']} (peildatum {summary['reference_date']})",
        duration=_decimal(summary["duration_s"]),
        status=status,
        sections=sections,
        linkage=linkage_context(summary.get("linkage", {}), summary.get("settings", {})),
    )
