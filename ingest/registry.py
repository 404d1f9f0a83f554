"""The provider registry (deelnemers): which AGB codes take part, their organisation, name and
sector (extract format, version 2). Rows are checked against it, and insurer tables and the
operator's pages show its names.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ingest.columns import SECTORS
from ingest.validate import RowRules

REGISTRY_COLUMNS: tuple[str, ...] = ("agb_code", "organisatie", "naam", "sector")
REQUIRED_REGISTRY_COLUMNS: tuple[str, ...] = ("agb_code", "organisatie", "naam")
MAX_REGISTRY_BYTES = 16 << 20
MAX_NAME_CHARS = 200


class RegistryError(Exception):
    """The registry file cannot be used; the message names the file and lists every problem."""


@dataclass(frozen=True)
class RegisteredCode:
    """One registered AGB code: the organisation that delivers and receives for it, its name
    and the sector it may deliver rows for (None: either)."""

    organisation: str
    name: str
    sector: str | None = None


@dataclass(frozen=True)
class ProviderRegistry:
    """The registered codes, by AGB code."""

    codes: Mapping[str, RegisteredCode] = field(default_factory=dict)

    def locations(self) -> dict[str, str]:
        """Return {agb_code: organisation} for every code whose organisation is another code."""
        return {code: entry.organisation for code, entry in self.codes.items() if entry.organisation != code}

    def organisations(self) -> frozenset[str]:
        """Return the organisations that deliver and receive."""
        return frozenset(entry.organisation for entry in self.codes.values())

    def codes_of(self, organisation: str) -> frozenset[str]:
        """Return the codes an organisation may deliver rows for."""
        return frozenset(code for code, entry in self.codes.items() if entry.organisation == organisation)

    def sectors(self) -> dict[str, str | None]:
        """Return {agb_code: registered sector or None}."""
        return {code: entry.sector for code, entry in self.codes.items()}

    def names(self) -> dict[str, str]:
        """Return {code: name} for every registered code and organisation; an organisation not
        registered as a code of its own takes the name of its first location."""
        names = {code: entry.name for code, entry in self.codes.items()}
        for _, entry in sorted(self.codes.items()):
            names.setdefault(entry.organisation, entry.name)
        return names


def _is_agb(value: str) -> bool:
    return len(value) == 8 and value.isascii() and value.isdigit()


def _entry_problems(code: str, entry: RegisteredCode) -> list[str]:
    """Return what is wrong with one registry line's values."""
    problems = []
    if not _is_agb(code):
        problems.append("agb_code is not 8 digits")
    if not _is_agb(entry.organisation):
        problems.append("organisatie is not 8 digits")
    if not entry.name or len(entry.name) > MAX_NAME_CHARS or not entry.name.isprintable():
        problems.append(f"naam is empty, longer than {MAX_NAME_CHARS} characters or not printable")
    if entry.sector is not None and entry.sector not in SECTORS:
        problems.append("sector is not ggz or msz")
    return problems


def parse_registry(text: str, source: str) -> ProviderRegistry:
    """Return the registry in CSV ``text`` (``;`` or ``,``). Raises :class:`RegistryError`
    naming ``source`` and every problem found, by line."""
    lines = text.removeprefix("\ufeff")
    header_line = lines.split("\n", 1)[0]
    delimiter = ";" if header_line.count(";") >= header_line.count(",") and ";" in header_line else ","
    reader = csv.reader(io.StringIO(lines, newline=""), delimiter=delimiter)
    problems: list[str] = []
    try:
        header = [h.strip().casefold() for h in next(reader)]
    except StopIteration:
        raise RegistryError(f"provider registry {source} is empty") from None
    missing = [c for c in REQUIRED_REGISTRY_COLUMNS if c not in header]
    if missing:
        raise RegistryError(f"provider registry {source} lacks the column(s) {', '.join(missing)}")
    position = {name: header.index(name) for name in REGISTRY_COLUMNS if name in header}
    codes: dict[str, RegisteredCode] = {}
    for line, record in enumerate(reader, start=2):
        if not any(value.strip() for value in record):
            continue
        if len(record) != len(header):
            problems.append(f"line {line}: {len(record)} fields where the header has {len(header)}")
            continue
        value = {name: record[index].strip() for name, index in position.items()}
        code = value["agb_code"]
        entry = RegisteredCode(organisation=value["organisatie"], name=value["naam"],
                               sector=value.get("sector", "").lower() or None)  # fmt: skip
        problems += [f"line {line}: {problem}" for problem in _entry_problems(code, entry)]
        if code in codes:
            problems.append(f"line {line}: agb_code {code} is registered twice")
        codes[code] = entry
    for code, entry in codes.items():
        parent = codes.get(entry.organisation)
        if parent is not None and parent.organisation != entry.organisation:
            problems.append(f"agb_code {code}: its organisation {entry.organisation} belongs to another organisation")
    if not codes and not problems:
        problems.append("no registered code")
    if problems:
        shown = "\n".join(f"  - {p}" for p in problems)
        raise RegistryError(f"provider registry {source} has {len(problems)} problem(s):\n{shown}")
    return ProviderRegistry(codes=codes)


def load_registry(path: Path) -> ProviderRegistry:
    """Return the registry in the file ``path``. Raises :class:`RegistryError` naming the file
    and every problem (missing, too large, not UTF-8, bad rows)."""
    try:
        size = path.stat().st_size
        if size > MAX_REGISTRY_BYTES:
            raise RegistryError(f"provider registry {path} is {size} bytes; the limit is {MAX_REGISTRY_BYTES}")
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise RegistryError(f"provider registry {path} does not exist") from None
    except UnicodeDecodeError:
        raise RegistryError(f"provider registry {path} is not UTF-8") from None
    except OSError as error:
        raise RegistryError(f"provider registry {path} cannot be read: {error.strerror}") from None
    return parse_registry(text, str(path))


class UnknownSender(Exception):
    """A file lies in a sender folder that is not a registered organisation."""


def rules_for_sender(
    folder: str | None,
    sender: str | None,
    registry: ProviderRegistry | None,
    locations: Mapping[str, str],
    field_chars: Mapping[str, int],
) -> RowRules:
    """Return the rules a file's rows are checked against, given the top-level ``folder`` it
    lies in and the ``sender`` organisation that folder names (None: not an AGB code).

    With a registry, every subfolder must be a registered organisation; without one, an AGB
    folder binds rows to that code and its configured locations, and another subfolder is read
    as a file without a verified sender. Raises :class:`UnknownSender`.
    """
    if folder is not None and registry is not None and (sender is None or sender not in registry.organisations()):
        raise UnknownSender("the sender folder is not a registered organisation")
    sender_codes: frozenset[str] | None = None
    if sender is not None:
        if registry is not None:
            sender_codes = registry.codes_of(sender)
        else:
            sender_codes = frozenset({sender, *(code for code, org in locations.items() if org == sender)})
    return RowRules(
        registered=registry.sectors() if registry is not None else None,
        sender_codes=sender_codes,
        field_chars=dict(field_chars),
    )
