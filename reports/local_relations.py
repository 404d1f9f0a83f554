"""The relations of a release restricted to changes of a few cells (a witness's area).

Every cell outside the area keeps its count, so a relation reduces to the terms of the area's
cells; a relation left with one term becomes a bound on that cell. Most areas share one set of
cells, the totals rows, which have a term in thousands of relations (every provider's row is at
most its total): :class:`SharedCells` prepares those once, so that an area costs only its own
cells' terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
from scipy.sparse import csc_matrix

Terms = tuple[np.ndarray, np.ndarray, np.ndarray]
"""Terms of relations: (relation, position of the cell among the area's cells, coefficient)."""


@dataclass(frozen=True)
class Constraints:
    """The release's relations on changes ``x`` of its flat cells: ``equal @ x == 0`` and
    ``at_most @ x <= slack``."""

    equal: csc_matrix
    at_most: csc_matrix
    slack: np.ndarray


@dataclass(frozen=True)
class LocalRelations:
    """The relations that changes of some cells must keep, with one-cell relations folded into
    the cells' bounds: ``equal @ x == 0``, ``at_most @ x <= room``, ``low <= x <= high``."""

    equal: csc_matrix
    at_most: csc_matrix
    room: np.ndarray
    low: np.ndarray
    high: np.ndarray


def _terms(matrix: csc_matrix, cells: np.ndarray) -> Terms:
    """Return the terms of ``matrix``'s relations on ``cells``."""
    part = matrix[:, cells].tocoo()
    return part.row.astype(np.int64), part.col.astype(np.int64), part.data


def local_relations(
    constraints: Constraints,
    cells: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    owner: np.ndarray | None = None,
    groups: int = 1,
) -> LocalRelations:
    """Return the relations on changes of ``cells`` within the bounds ``low`` and ``high``. With
    ``owner`` (a group per cell), a relation across groups is split into one per group: entry
    counts' changes add up to 0 within each, and a person column's room is shared out equally."""
    terms = (_terms(constraints.equal, cells), _terms(constraints.at_most, cells))
    owner = np.zeros(len(cells), dtype=np.int64) if owner is None else owner
    return _fold(constraints, terms, low.copy(), high.copy(), owner, groups)


def _fold(
    constraints: Constraints,
    terms: tuple[Terms, Terms],
    low: np.ndarray,
    high: np.ndarray,
    owner: np.ndarray,
    groups: int,
) -> LocalRelations:
    """Return the relations of ``terms`` (all terms on the area's cells of every relation given),
    relations of one term folded into ``low`` and ``high`` (updated in place)."""
    n = len(low)
    kept: list[csc_matrix] = []
    room = np.zeros(0)
    for (row, col, data), matrix, slack in zip(
        terms, (constraints.equal, constraints.at_most), (None, constraints.slack), strict=True
    ):
        rows, split = _number_rows(row * groups + owner[col], matrix.shape[0] * groups)
        relation = rows // groups
        if slack is None:
            share = np.zeros(len(rows))
        elif groups == 1:
            share = slack[relation]
        else:
            share = np.floor(slack[relation] / np.bincount(relation, minlength=matrix.shape[0])[relation])
        single = np.bincount(split, minlength=len(rows)) == 1
        one = single[split]  # terms of one-cell relations: a x <= share (or a x == 0)
        column, coefficient, bound = col[one], data[one], share[split[one]] / data[one]
        if slack is None:
            low[column], high[column] = np.maximum(low[column], 0.0), np.minimum(high[column], 0.0)
        else:
            up = coefficient > 0
            np.minimum.at(high, column[up], np.floor(bound[up] + 1e-9))
            np.maximum.at(low, column[~up], np.ceil(bound[~up] - 1e-9))
        many = ~single
        index = np.cumsum(many) - 1
        keep = many[split]
        kept.append(csc_matrix((data[keep], (index[split[keep]], col[keep])), shape=(int(many.sum()), n)))
        if slack is not None:
            room = share[many]
    return LocalRelations(kept[0], kept[1], room, low, high)


def _number_rows(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the distinct ``keys`` (each below ``size``), ascending, and each key's position
    among them: ``np.unique(keys, return_inverse=True)``, by counting rather than sorting when
    ``size`` is small enough."""
    if size > 8 * len(keys) + 1_000_000:
        return cast(tuple[np.ndarray, np.ndarray], np.unique(keys, return_inverse=True))
    present = np.zeros(size, dtype=bool)
    present[keys] = True
    number = np.cumsum(present) - 1
    return np.flatnonzero(present), number[keys]


@dataclass(frozen=True)
class _Ranked:
    """Bounds of the shared cells from their one-shared-term relations, tightest first per cell."""

    key: np.ndarray
    """Per bound: its relation as ``relation * 2 + matrix`` (0 equal, 1 at most)."""
    value: np.ndarray
    start: np.ndarray
    """Per shared cell (and one past the last): where its bounds begin."""

    def tightest(self, cells: np.ndarray, default: float) -> np.ndarray:
        """Return each of ``cells``' tightest bound (``default`` when it has none)."""
        if not len(self.value):
            return np.full(len(cells), default)
        has = self.start[cells + 1] > self.start[cells]
        return np.where(has, self.value[np.minimum(self.start[cells], len(self.value) - 1)], default)

    def tightest_without(self, cell: int, touched: set[int], default: float) -> float:
        """Return ``cell``'s tightest bound from relations not in ``touched``."""
        for i in range(int(self.start[cell]), int(self.start[cell + 1])):
            if int(self.key[i]) not in touched:
                return float(self.value[i])
        return default


def _ranked(cell: np.ndarray, key: np.ndarray, value: np.ndarray, count: int, ascending: bool) -> _Ranked:
    """Return the bounds (``cell``, ``key``, ``value``) ranked per cell, tightest first."""
    order = np.lexsort((value if ascending else -value, cell))
    start = np.concatenate([[0], np.cumsum(np.bincount(cell, minlength=count))])
    return _Ranked(key[order], value[order], start)


@dataclass(frozen=True)
class SharedCells:
    """Cells that many areas share, with their relations prepared once: the terms of relations
    with two or more of them (always in an area's relations), and the relations with one, as a
    term to add when an area's own cells touch that relation and as a bound otherwise."""

    cells: np.ndarray
    always: tuple[Terms, Terms]
    single: tuple[Terms, Terms]
    single_of_relation: tuple[np.ndarray, np.ndarray]
    """Per matrix and relation: its term in ``single``, or -1."""
    upper: _Ranked
    lower: _Ranked

    @staticmethod
    def prepare(constraints: Constraints, cells: np.ndarray) -> SharedCells:
        """Return ``cells`` prepared for :func:`local_relations_with`."""
        always, single, lookups = [], [], []
        bound_cell, bound_key, bound_value, bound_up = [], [], [], []
        for m, (matrix, slack) in enumerate(((constraints.equal, None), (constraints.at_most, constraints.slack))):
            row, col, data = _terms(matrix, cells)
            count = np.bincount(row, minlength=matrix.shape[0])
            one = count[row] == 1
            always.append((row[~one], col[~one], data[~one]))
            single.append((row[one], col[one], data[one]))
            lookup = np.full(matrix.shape[0], -1, dtype=np.int64)
            lookup[row[one]] = np.arange(int(one.sum()))
            lookups.append(lookup)
            r, c, a = row[one], col[one], data[one]
            if slack is None:  # a x == 0: at most 0 and at least 0
                bound_cell += [c, c]
                bound_key += [r * 2 + m] * 2
                bound_value += [np.zeros(len(c)), np.zeros(len(c))]
                bound_up += [np.ones(len(c), bool), np.zeros(len(c), bool)]
            else:
                up = a > 0
                value = slack[r] / a
                bound_cell.append(c)
                bound_key.append(r * 2 + m)
                bound_value.append(np.where(up, np.floor(value + 1e-9), np.ceil(value - 1e-9)))
                bound_up.append(up)
        cell, key, value, up = (np.concatenate(x) for x in (bound_cell, bound_key, bound_value, bound_up))
        n = len(cells)
        return SharedCells(
            cells,
            (always[0], always[1]),
            (single[0], single[1]),
            (lookups[0], lookups[1]),
            _ranked(cell[up], key[up], value[up], n, ascending=True),
            _ranked(cell[~up], key[~up], value[~up], n, ascending=False),
        )


def local_relations_with(
    constraints: Constraints, own: np.ndarray, shared: SharedCells, low: np.ndarray, high: np.ndarray
) -> LocalRelations:
    """Return the relations on changes of the cells ``own`` followed by ``shared.cells``
    (bounds ``low`` and ``high`` over both), the same as :func:`local_relations` on them."""
    n_own = len(own)
    terms: list[Terms] = []
    touched_keys: list[np.ndarray] = []
    affected: list[np.ndarray] = []
    for m, matrix in enumerate((constraints.equal, constraints.at_most)):
        row, col, data = _terms(matrix, own)
        touched = np.unique(row)
        entries = shared.single_of_relation[m][touched]
        entries = entries[entries >= 0]
        always_row, always_col, always_data = shared.always[m]
        single_row, single_col, single_data = shared.single[m]
        terms.append(
            (
                np.concatenate([row, always_row, single_row[entries]]),
                np.concatenate([col, n_own + always_col, n_own + single_col[entries]]),
                np.concatenate([data, always_data, single_data[entries]]),
            )
        )
        touched_keys.append(touched * 2 + m)
        affected.append(single_col[entries])
    count = len(shared.cells)
    everything = np.arange(count)
    shared_high = shared.upper.tightest(everything, np.inf)
    shared_low = shared.lower.tightest(everything, -np.inf)
    touched_set = {int(k) for k in np.concatenate(touched_keys)}
    for cell in np.unique(np.concatenate(affected)):  # a bound whose relation now has an own term
        c = int(cell)
        shared_high[c] = shared.upper.tightest_without(c, touched_set, np.inf)
        shared_low[c] = shared.lower.tightest_without(c, touched_set, -np.inf)
    low, high = low.copy(), high.copy()
    high[n_own:] = np.minimum(high[n_own:], shared_high)
    low[n_own:] = np.maximum(low[n_own:], shared_low)
    return _fold(constraints, (terms[0], terms[1]), low, high, np.zeros(n_own + count, dtype=np.int64), 1)
