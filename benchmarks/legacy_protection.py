"""The release protection of stop 17, kept as the baseline of the disclosure benchmark and as
the negative control of the attack tests: it models a person column's insurer slices as adding
up to *at least* the national count (inequalities), so an attacker who knows that every person
has one insurer (the slices add up exactly) can still difference it. Do not use it to publish.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from reports.protection import Exposure, suppress_each_table
from reports.release import ADDITIVE_COLUMNS, OUTCOME_COLUMNS, PREVIOUS_DOUBLE, Cell, Release

CROSS_RELATIONS: tuple[tuple[dict[str, int], str], ...] = (
    ({"dubbel_nieuw": 1, "dubbel_blijvend": 1, "dubbel_wachtenden": -1}, "eq"),
    ({**dict.fromkeys(OUTCOME_COLUMNS, 1), "dubbel_opgelost": -1}, "le"),
    ({"dubbel_opgelost": 1, PREVIOUS_DOUBLE: -1}, "le"),
)
Relation = tuple[dict[Cell, int], str]


def _constraints(release: Release, column: str) -> list[Relation]:
    """Return the relations between the cells of one column as ({cell: coefficient}, sense):
    sum(coefficient * count) == 0 (``eq``) or <= 0 (``le``)."""
    n_scopes, width = release.counts[column].shape
    additive = column in ADDITIVE_COLUMNS
    relations: list[Relation] = []
    for s in range(n_scopes):  # rows add up to the totals row (persons: at least the total)
        terms = {(column, s, p): 1 for p in range(width - 1)}
        terms[(column, s, width - 1)] = -1
        relations.append((terms, "eq") if additive else ({k: -v for k, v in terms.items()}, "le"))
    if n_scopes > 1:  # national = sum of the insurers' slices (persons: at most)
        for p in range(width):
            terms = {(column, 0, p): 1, **{(column, s, p): -1 for s in range(1, n_scopes)}}
            relations.append((terms, "eq" if additive else "le"))
    return relations


def column_groups(release: Release) -> list[list[str]]:
    """Return the release's columns (fixed ones too) in groups that relations connect: a
    column alone, or the double-waiter column with the trend columns related to it."""
    present = set(release.counts)
    groups = {column: {column} for column in present}
    for coefficients, _ in CROSS_RELATIONS:
        if set(coefficients) <= present:
            merged = set().union(*(groups[column] for column in coefficients))
            for column in merged:
                groups[column] = merged
    order = [*release.columns, *sorted(present - set(release.columns))]
    seen: list[list[str]] = []
    for column in order:
        group = [c for c in order if c in groups[column]]
        if group not in seen:
            seen.append(group)
    return seen


def _group_constraints(release: Release, group: Sequence[str]) -> list[Relation]:
    """Return the relations of a group of columns: each column's own, and between columns."""
    relations = [relation for column in group for relation in _constraints(release, column)]
    n_scopes, width = release.counts[group[0]].shape
    for coefficients, sense in CROSS_RELATIONS:
        if set(coefficients) <= set(group):
            for s in range(n_scopes):
                for p in range(width):
                    relations.append(({(column, s, p): c for column, c in coefficients.items()}, sense))
    return relations


UNBOUNDED = 10**12
LP_CEILING = 10**9
"""Upper bound given to the solver for a cell without one, so that no problem is unbounded."""


def _propagated_bounds(release: Release, group: Sequence[str], relations: Sequence[Relation]) -> dict[Cell, list[int]]:
    """Return [lowest, highest] of every suppressed cell by interval propagation over the
    relations (what an attacker gets by solving one relation at a time, over and over)."""
    bounds: dict[Cell, list[int]] = {
        (column, int(s), int(p)): [1, UNBOUNDED] for column in group for s, p in np.argwhere(release.hidden[column])
    }
    for _ in range(100):
        changed = False
        for terms, sense in relations:
            if not any(cell in bounds for cell in terms):
                continue
            low_sum = high_sum = 0
            ranges = []
            for cell, coefficient in terms.items():
                low, high = bounds.get(cell) or (release.value(cell), release.value(cell))
                if coefficient < 0:
                    low, high = -high, -low
                ranges.append((cell, coefficient, low, high))
                low_sum += low
                high_sum += high
            for cell, coefficient, low, high in ranges:
                if cell not in bounds:
                    continue
                rest_low, rest_high = low_sum - low, high_sum - high
                current = bounds[cell]
                if coefficient > 0:  # x <= -rest_low; equality also x >= -rest_high
                    new = [max(current[0], -rest_high) if sense == "eq" else current[0], min(current[1], -rest_low)]
                else:  # x >= rest_low; equality also x <= rest_high
                    new = [max(current[0], rest_low), min(current[1], rest_high) if sense == "eq" else current[1]]
                if new != current:
                    bounds[cell] = new
                    changed = True
        if not changed:
            break
    return bounds


def _lp_problem(
    variables: list[Cell], relations: Sequence[Relation], release: Release, known: dict[Cell, list[int]]
) -> dict[str, object]:
    """Return ``linprog``'s arguments but the objective: ``relations`` over ``variables`` with
    the published cells moved to the right-hand side, and the ``known`` bounds."""
    position = {cell: i for i, cell in enumerate(variables)}
    parts: dict[str, tuple[list[int], list[int], list[float], list[float]]] = {
        "eq": ([], [], [], []),
        "le": ([], [], [], []),
    }
    for terms, sense in relations:
        rows, cols, values, rhs = parts[sense]
        constant = 0
        for cell, coefficient in terms.items():
            if cell in position:
                rows.append(len(rhs))
                cols.append(position[cell])
                values.append(coefficient)
            else:
                constant += coefficient * release.value(cell)
        rhs.append(-constant)
    n = len(variables)

    def matrix(sense: str) -> object:
        rows, cols, values, rhs = parts[sense]
        return coo_matrix((values, (rows, cols)), shape=(len(rhs), n)).tocsr() if rhs else None

    return {
        "A_eq": matrix("eq"),
        "b_eq": np.array(parts["eq"][3]) if parts["eq"][3] else None,
        "A_ub": matrix("le"),
        "b_ub": np.array(parts["le"][3]) if parts["le"][3] else None,
        "bounds": [(known[c][0], min(known[c][1], LP_CEILING)) for c in variables],
        "method": "highs",
    }


def _lp_pinned(
    variables: list[Cell], relations: Sequence[Relation], release: Release, known: dict[Cell, list[int]]
) -> list[Cell]:
    """Return the cells of ``variables`` (one connected group of suppressed cells) that linear
    programming pins to one integer, given the published cells, ``relations`` and the bounds
    already ``known`` by propagation."""
    problem = _lp_problem(variables, relations, release, known)
    n = len(variables)
    truth = np.array([release.value(cell) for cell in variables], dtype=float)
    # Each vertex solution frees every cell it moves by at least 1 from the true counts (which
    # are feasible): then two integers lie in that cell's range. Random signs over the cells
    # still in doubt make the solver move many of them at once.
    doubt = {i for i, cell in enumerate(variables) if known[cell][0] != known[cell][1]}
    rng = np.random.default_rng(0)
    stalled = 0
    while doubt and stalled < 3:
        objective = np.zeros(n)
        objective[list(doubt)] = rng.choice([-1.0, 1.0], size=len(doubt))
        result = linprog(objective, **problem)
        moved = {i for i in doubt if result.status == 0 and abs(result.x[i] - truth[i]) >= 1 - 1e-6}
        stalled = 0 if moved else stalled + 1
        doubt -= moved
    pinned = []
    for i in sorted(doubt):
        ends = []
        for direction in (1.0, -1.0):
            unit = np.zeros(n)
            unit[i] = direction
            result = linprog(unit, **problem)
            ends.append(result.x[i] if result.status == 0 else -direction * np.inf)
        if all(map(math.isfinite, ends)) and math.ceil(ends[0] - 1e-6) == math.floor(ends[1] + 1e-6):
            pinned.append(variables[i])
    return pinned


def _components(variables: list[Cell], relations: Sequence[Relation]) -> list[list[Cell]]:
    parent = {cell: cell for cell in variables}

    def root(cell: Cell) -> Cell:
        while parent[cell] != cell:
            parent[cell] = parent[parent[cell]]
            cell = parent[cell]
        return cell

    for terms, _ in relations:
        hidden = [cell for cell in terms if cell in parent]
        for other in hidden[1:]:
            parent[root(other)] = root(hidden[0])
    groups: dict[Cell, list[Cell]] = {}
    for cell in variables:
        groups.setdefault(root(cell), []).append(cell)
    return list(groups.values())


def _group_exposures(
    release: Release,
    group: Sequence[str],
    threshold: int,
    relations: Sequence[Relation],
    search: bool = True,
    known_before: frozenset[Cell] = frozenset(),
    solved: dict[frozenset[Cell], list[Cell]] | None = None,
) -> list[Cell]:
    """Return the suppressed small counts of a group of columns that an attacker pins to one
    value: by propagation, and (``search``) by linear programming over each connected group.
    Cells in ``known_before`` (fixed cells an earlier release already gave away) are left out.
    ``solved`` caches the pinned cells per connected group: a group of the same suppressed cells
    has the same relations and published neighbours, so its answer does not change while
    other groups get more suppressions."""
    known = _propagated_bounds(release, group, relations)

    def small(cell: Cell) -> bool:
        return 1 <= release.value(cell) < threshold and cell not in known_before

    exposed = [cell for cell, (low, high) in known.items() if low == high and small(cell)]
    if exposed or not search:
        return exposed
    for component in _components(list(known), relations):
        members = frozenset(component)
        if solved is not None and members in solved:
            pinned = solved[members]
        else:
            own = [relation for relation in relations if members & relation[0].keys()]
            pinned = _lp_pinned(component, own, release, known)
            if solved is not None:
                solved[members] = pinned
        exposed.extend(cell for cell in pinned if small(cell))
    return exposed


def _fixed_exposures(release: Release, threshold: int) -> frozenset[Cell]:
    """Return the small suppressed cells of fixed columns that their own release already pins
    (nothing this release does can hide them again)."""
    found: set[Cell] = set()
    for column in release.counts:
        if release.is_fixed(column):
            found |= set(_group_exposures(release, [column], threshold, _constraints(release, column)))
    return frozenset(found)


def legacy_audit_release(release: Release, threshold: int) -> list[Exposure]:
    """Return every suppressed small count that can be computed exactly from what the release
    publishes (every table of it together, and the earlier release in its fixed columns),
    found by propagation and linear programming."""
    exposures = []
    known_before = _fixed_exposures(release, threshold)
    for group in column_groups(release):
        relations = _group_constraints(release, group)
        for cell in _group_exposures(release, group, threshold, relations, known_before=known_before):
            column, s, p = cell
            provider = "totaal" if p == len(release.providers) else release.providers[p]
            exposures.append(Exposure(column, release.scopes[s], provider, release.value(cell)))
    return exposures


def legacy_protect_release(
    release: Release, threshold: int, forced: Iterable[tuple[str, str, str]] = (), max_rounds: int = 10_000
) -> Release:
    """Suppress the release: small counts, each table's complements, the ``forced`` cells
    ((column, scope, provider or 'totaal'), e.g. from the release ledger), and then further
    cells until :func:`audit_release` finds nothing. Returns the same release, updated."""
    suppress_each_table(release, threshold)
    for column, scope, provider in forced:
        s = release.scopes.index(scope)
        p = len(release.providers) if provider == "totaal" else release.providers.index(provider)
        if column in release.columns and release.counts[column][s, p] > 0:
            release.hidden[column][s, p] = True
    known_before = _fixed_exposures(release, threshold)
    for group in column_groups(release):
        if all(release.is_fixed(column) for column in group):
            continue
        relations = _group_constraints(release, group)
        solved: dict[frozenset[Cell], list[Cell]] = {}
        for _ in range(max_rounds):
            exposed = _group_exposures(release, group, threshold, relations, search=False, known_before=known_before)
            if not exposed:
                exposed = _group_exposures(
                    release, group, threshold, relations, known_before=known_before, solved=solved
                )
            if not exposed:
                break
            touched: set[int] = set()
            for cell in exposed:  # one more cell per exposure, unless a relation of it just got one
                mine = {i for i, (terms, _) in enumerate(relations) if cell in terms}
                if not mine & touched:
                    touched |= mine | _hide_one_more(release, cell, relations)
        else:
            raise RuntimeError(f"disclosure protection of {', '.join(group)} did not converge")
    return release


def _hide_one_more(release: Release, exposed: Cell, relations: Sequence[Relation]) -> set[int]:
    """Suppress one more published non-zero cell: the nearest to ``exposed`` along relations
    through suppressed cells, then a provider cell before a totals cell, then the smallest.
    Returns the indexes of the relations the chosen cell is in."""
    totals_index = len(release.providers)
    distance: dict[Cell, int] = {exposed: 0}
    frontier = [exposed]
    candidates: list[tuple[int, bool, int, Cell]] = []
    while frontier and not candidates:
        reached = []
        for cell in frontier:
            for terms, _ in relations:
                if cell not in terms:
                    continue
                for other in terms:
                    if other in distance:
                        continue
                    distance[other] = distance[cell] + 1
                    if release.is_hidden(other):
                        reached.append(other)
                    elif release.value(other) > 0 and not release.is_fixed(other[0]):
                        candidates.append((distance[other], other[2] == totals_index, release.value(other), other))
        frontier = reached
    if not candidates:
        raise RuntimeError(f"no cell left to protect a suppressed {exposed[0]} count")
    chosen = min(candidates)[3]
    release.hidden[chosen[0]][chosen[1:]] = True
    return {i for i, (terms, _) in enumerate(relations) if chosen in terms}
