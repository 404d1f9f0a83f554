"""The insurer release as a protection problem: its cells as flat arrays with their relations,
costs and step bounds, and what a protection reports (see :mod:`reports.protection`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csc_matrix

from reports.breakdowns import SECTOR_ROW, SEPARATOR
from reports.local_relations import Constraints, SharedCells
from reports.release import (
    TOTALS_RELATIONS,
    Relations,
    Release,
    cell_relations,
)

STEP = 10
"""The largest change of one cell a witness may use (one is enough for a rectangle)."""
TOTALS_COST = 5.0
NATIONAL_COST = 0.5
"""Extra cost of suppressing a totals cell or a national cell: readers lose more there."""
SECTOR_ENTRIES_SUFFIX = f"{SEPARATOR}{SECTOR_ROW}{SEPARATOR}wachtenden"
"""How a sector's entries column ends (see :mod:`reports.breakdowns`): a cell's own witness also
looks at the largest providers of its provider's sector."""


@dataclass(frozen=True)
class Exposure:
    """A suppressed count that no witness protects: the attacker may pin it to one value."""

    column: str
    scope: str
    provider: str
    value: int


@dataclass
class ProtectionStats:
    """What one protection did."""

    primary: int = 0
    """Cells suppressed for being small (or forced by the ledger)."""
    secondary: int = 0
    """Further cells suppressed to give a small one a witness."""
    grouped: int = 0
    """Small cells whose witness the passes over groups found."""
    programs: int = 0
    exposed: list[Exposure] = field(default_factory=list)
    """Small counts no suppression in this release can protect: bounded by cells of the previous
    release that it published (or, without a ledger, is assumed to have published)."""


class ProtectionProblem:
    """The release as flat arrays, with its relations in column form and the room each leaves."""

    def __init__(self, release: Release, relations: Relations) -> None:
        self.release = release
        self.truth = release.flat("counts").astype(np.float64)
        self.hidden = release.flat("hidden")
        size = release.counts[release.columns[0]].size
        self.fixed = np.concatenate([np.full(size, release.is_fixed(c)) for c in release.all_columns])
        self.hideable = (self.truth > 0) & ~self.fixed
        n_scopes, self.width = release.counts[release.columns[0]].shape
        cells = np.arange(self.truth.size)
        self.provider_of = cells % self.width
        self.scope_of = (cells // self.width) % n_scopes
        self.family = np.repeat(column_families(release), size)
        self.constraints = Constraints(
            csc_matrix(relations.equal, dtype=np.float64),
            csc_matrix(relations.at_most, dtype=np.float64),
            -(relations.at_most @ release.flat("counts")).astype(np.float64),
        )
        self.shared: dict[bytes, SharedCells] = {}
        """The totals rows' cells of one family that a witness may change, prepared once."""
        by_provider = np.argsort(self.provider_of, kind="stable")  # each provider's cells, ascending
        ends = np.cumsum(np.bincount(self.provider_of, minlength=self.width))[:-1]
        self.blocks = np.split(by_provider, ends)
        size_order = release.counts[release.columns[0]][0, :-1]
        self.order = np.lexsort((np.arange(self.width - 1), size_order))
        self.rank = np.empty(self.width - 1, dtype=np.int64)
        self.rank[self.order] = np.arange(self.width - 1)
        self.tried = np.zeros(self.truth.size)
        self.programs = 0
        self.sector_rows = [
            release.counts[column][0, :-1] for column in release.totals_only if column.endswith(SECTOR_ENTRIES_SUFFIX)
        ]
        """Each sector's national entries per provider (when the release has category columns)."""

    def cost(self, cells: np.ndarray) -> np.ndarray:
        """Return what suppressing each of ``cells`` costs readers."""
        return np.asarray(
            1.0
            + 0.001 * self.truth[cells]
            + TOTALS_COST * (self.provider_of[cells] == self.width - 1)
            + NATIONAL_COST * (self.scope_of[cells] == 0)
        )


def column_families(release: Release) -> np.ndarray:
    """Return, per column of ``release.all_columns``, the number of its family: columns that
    relations within a cell connect (counts with new and still double waiters; resolved ones
    with their outcomes and the previous round). Families share no relation, so witnesses can be
    sought for each alone."""
    columns = release.all_columns
    family = list(range(len(columns)))

    def root(i: int) -> int:
        while family[i] != i:
            i = family[i]
        return i

    for terms, _ in [*cell_relations(columns), *TOTALS_RELATIONS]:
        present = [columns.index(c) for c in terms if c in columns]
        for other in present[1:]:
            family[root(other)] = root(present[0])
    roots = sorted({root(i) for i in range(len(columns))})
    return np.array([roots.index(root(i)) for i in range(len(columns))])


def step_bounds(problem: ProtectionProblem, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return how far each of ``cells`` may go down and up in a witness: at most :data:`STEP`,
    and a count stays at 1 or more (a suppressed zero would not be suppressed)."""
    return -np.minimum(problem.truth[cells] - 1.0, STEP), np.full(len(cells), float(STEP))
