"""The release ledger: what every insurer release published, cell by cell, so that a later
release cannot be differenced against an earlier one to reveal a small count.

A round released again (after a correction, or a rerun on other inputs) publishes cells that
an insurer can subtract from the first release: a change of 1..threshold-1 in a published
count tells how many entries changed. :func:`forced_suppressions` lists those cells, so the new
release suppresses them (and protects them like any other suppressed cell). A rerun on the
same inputs changes nothing and publishes the same files. The ledger is TTP-internal.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np

from hashing.files import write_atomic
from reports.release import TOTALS_ROW, Release

LEDGER_FORMAT = "wachtlijst-release-ledger/1"


def published_cells(release: Release) -> dict[str, dict[str, dict[str, int | None]]]:
    """Return {scope: {provider or ``TOTALS_ROW``: {column: published value or None}}} of a release."""
    cells: dict[str, dict[str, dict[str, int | None]]] = {}
    names = release.row_names
    for s, scope in enumerate(release.scopes):
        present = np.logical_or.reduce([release.counts[c][s] > 0 for c in release.columns])
        cells[scope] = {
            name: {
                column: None if release.hidden[column][s, p] else int(release.counts[column][s, p])
                for column in release.columns
                if name == TOTALS_ROW or column not in release.totals_only  # never published
            }
            for p, name in enumerate(names)
            if present[p] or name == TOTALS_ROW
        }
    return cells


def read_ledger(path: Path) -> list[dict[str, Any]]:
    """Return the ledger's releases, oldest first (empty when there is no ledger yet)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def forced_suppressions(
    ledger: list[dict[str, Any]], round_id: str, release: Release, threshold: int
) -> list[tuple[str, str, str]]:
    """Return (column, scope, provider) of each cell whose true count differs by 1..threshold-1
    from what an earlier release of the same round published for it."""
    earlier = [entry for entry in ledger if entry["round"] == round_id]
    forced = []
    names = release.row_names
    for entry in earlier:
        for s, scope in enumerate(release.scopes):
            before = entry["cells"].get(scope, {})
            for p, name in enumerate(names):
                for column in release.columns:
                    if name != TOTALS_ROW and column in release.totals_only:
                        continue  # a cell never published cannot be differenced
                    old = before.get(name, {}).get(column, 0 if name != TOTALS_ROW else None)
                    if old is None:
                        continue
                    if 1 <= abs(int(release.counts[column][s, p]) - old) < threshold:
                        forced.append((column, scope, name))
    return sorted(set(forced))


def protection_summary(release: Release) -> dict[str, Any]:
    """Return what protecting ``release`` took (see :class:`reports.protection.ProtectionStats`):
    cells suppressed for being small and further, and any small count that the previous
    release bounds so that no suppression here could protect it."""
    stats = release.stats
    if stats is None:
        return {}
    return {
        "primary": stats.primary,
        "secondary": stats.secondary,
        "exposed_by_previous_release": [
            {"column": e.column, "scope": e.scope, "provider": e.provider} for e in stats.exposed
        ],
    }


def record_release(
    path: Path, round_id: str, release: Release, threshold: int, rounding_base: int, files: dict[str, str]
) -> None:
    """Append this release (published cells, settings, file hashes) to the ledger, unless the
    last release of the round published exactly the same."""
    ledger = read_ledger(path)
    cells = published_cells(release)
    same_round = [entry for entry in ledger if entry["round"] == round_id]
    if same_round and same_round[-1]["cells"] == cells and same_round[-1]["rounding_base"] == rounding_base:
        return
    entry = {
        "format": LEDGER_FORMAT,
        "round": round_id,
        "released_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "threshold": threshold,
        "rounding_base": rounding_base,
        "files": files,
        "cells": cells,
        "protection": protection_summary(release),
    }
    lines = [json.dumps(e, sort_keys=True) for e in [*ledger, entry]]
    write_atomic(path, ("\n".join(lines) + "\n").encode("utf-8"))
