"""The searches for witnesses (see :mod:`reports.protection`): linear programs over chunks of
groups of providers, and a cell's own witness from a small integer program over its area."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
from scipy.sparse import csc_matrix, hstack

from reports.local_relations import LocalRelations, SharedCells, local_relations, local_relations_with
from reports.programs import Rows, SharedRows, program, program_with_row, solve
from reports.protection_problem import ProtectionProblem, step_bounds

REACH: tuple[int, ...] = (0, 1, 4, 16)
"""How many neighbours in size order on either side a cell's own witness may use, in turn."""


def groupings(order: np.ndarray, size: int, spacing: int) -> list[np.ndarray]:
    """Return two groupings of the providers in ``order``, each a (groups, size) array of
    disjoint groups: ``size`` providers ``spacing`` apart in that order, in blocks of ``size *
    spacing`` consecutive providers; the second grouping's blocks start half a block later."""
    span = size * spacing
    groupings = []
    for offset in (0, span // 2):
        usable = (len(order) - offset) // span * span
        if usable:
            blocks = order[offset : offset + usable].reshape(-1, size, spacing)
            groupings.append(blocks.transpose(0, 2, 1).reshape(-1, size))
    if not groupings and len(order):
        groupings.append(order.reshape(1, -1))
    return groupings


@dataclass(frozen=True)
class Moves:
    """What one linear program over a chunk of groups found."""

    cells: np.ndarray
    """Cells it tried to move (with the direction in ``signs``)."""
    signs: np.ndarray
    moved: np.ndarray
    """Cells of an integral solution that changed (a witness for each)."""


def chunk_moves(
    problem: ProtectionProblem,
    groups: np.ndarray,
    targets: np.ndarray,
    price: float | None,
    family: int,
    seed: Sequence[int],
) -> Moves | None:
    """Return the moves of one linear program over the disjoint ``groups`` (rows of provider
    indexes) and one ``family`` of columns: each group may change its own suppressed cells
    (with ``price``, published ones too, at ``price`` times their cost per unit); the totals rows
    keep their counts; a relation across groups must hold within each group (entry counts' changes
    add up to 0 there, and a person column's room is shared out equally among the groups); so
    the groups' problems are independent. A group whose solution is not integral is left out.
    None when no group has a target left."""
    open_targets = targets & (problem.family == family)
    busy = np.bincount(problem.provider_of[open_targets], minlength=problem.width) > 0
    groups = groups[busy[groups].any(axis=1)]
    if not len(groups):
        return None
    group_of_provider = np.full(problem.width, -1)
    for g, members in enumerate(groups):
        group_of_provider[members] = g
    open_cells = (problem.hidden | ((price is not None) & problem.hideable)) & (problem.family == family)
    cells = np.flatnonzero((group_of_provider[problem.provider_of] >= 0) & open_cells)
    wanted = open_targets[cells]
    owner = group_of_provider[problem.provider_of[cells]]
    n = len(cells)
    local = local_relations(problem.constraints, cells, *step_bounds(problem, cells), owner, len(groups))
    costs = np.zeros(n) if price is None else price * np.where(problem.hidden[cells], 0.0, problem.cost(cells))
    rng = np.random.default_rng(list(seed))
    last = problem.tried[cells]
    signs = np.where(last == 0, rng.choice([-1.0, 1.0], size=n), -last)  # the other way than last time
    signs = np.where(problem.truth[cells] <= 1, 1.0, signs) * wanted  # a count of 1 can only go up
    signs = np.where(local.high < 1, -1.0, np.where(local.low > -1, 1.0, signs)) * wanted
    x = _solve_moves(local.equal, local.at_most, local.room, local.high, -local.low, costs, wanted, signs)
    problem.programs += 1
    if x is None:
        return Moves(cells[wanted], signs[wanted], np.zeros(0, dtype=np.int64))
    fractional = np.unique(owner[np.abs(x - np.round(x)) > 1e-6])
    moved = (np.abs(x) >= 1 - 1e-6) & ~np.isin(owner, fractional)
    return Moves(cells[wanted], signs[wanted], cells[moved])


def _solve_moves(
    equal: csc_matrix,
    at_most: csc_matrix,
    room: np.ndarray,
    up: np.ndarray,
    down: np.ndarray,
    costs: np.ndarray,
    wanted: np.ndarray,
    signs: np.ndarray,
) -> np.ndarray | None:
    """Return the relaxed optimum ``x`` of: ``equal @ x == 0``, ``at_most @ x <= room``, ``-down
    <= x <= up``, moving the ``wanted`` variables in the direction of their ``signs``. Without
    costs every wanted variable is pushed as far as it goes; with costs (of ``|x|``, through
    ``x = plus - minus``) the reward of one target is capped at one, so that it buys no more
    suppression than one cell needs. None when the solver fails."""
    n = len(up)
    if not np.any(costs):
        rows: list[Rows] = [(equal, 0.0, 0.0), (at_most, -np.inf, room)]
        return solve(program(-signs, rows, -np.maximum(down, 0), up))
    chosen = np.flatnonzero(wanted)
    m = len(chosen)
    side = np.where(signs[chosen] > 0, chosen, n + chosen)
    columns = np.concatenate([2 * n + np.arange(m), side])
    values = np.concatenate([np.ones(m), -np.ones(m)])
    reward = csc_matrix((values, (np.tile(np.arange(m), 2), columns)), shape=(m, 2 * n + m))
    rows = [
        (hstack([equal, -equal, csc_matrix((equal.shape[0], m))]).tocsr(), 0.0, 0.0),
        (hstack([at_most, -at_most, csc_matrix((at_most.shape[0], m))]).tocsr(), -np.inf, room),
        (reward, -np.inf, 0.0),
    ]
    objective = np.concatenate([costs, costs, -np.ones(m)])
    high = np.concatenate([np.maximum(up, 0), np.maximum(down, 0), np.ones(m)])
    result = solve(program(objective, rows, np.zeros(2 * n + m), high))
    return None if result is None else result[:n] - result[n : 2 * n]


ChunkTask = tuple[np.ndarray, float | None, int, tuple[int, ...]]
"""(groups, price, family, seed) of one linear program over groups of providers."""


def chunk_task(problem: ProtectionProblem, open_targets: np.ndarray, task: object) -> Moves | None:
    """Return the moves of one chunk task (see :func:`chunk_moves`)."""
    groups, price, family, seed = cast(ChunkTask, task)
    return chunk_moves(problem, groups, open_targets, price, family, seed)


def witness_task(problem: ProtectionProblem, open_targets: np.ndarray, task: object) -> list[np.ndarray | None]:
    """Return, for each target of one task (targets that share their areas), the cells of its
    smallest witness in ever wider areas, or None. A target that an earlier target's witness
    moves gets that witness and no program of its own: where the earlier one is applied, the
    target is covered by it anyway (on a release of 100,000 entries this skips four in ten
    programs, with the same suppressions)."""
    targets, allow_new = cast(tuple[tuple[int, ...], bool], task)
    found: dict[int, np.ndarray] = {}
    for reach in range(len(REACH)):
        left = [target for target in targets if target not in found]
        if not left:
            break
        area = prepare_area(problem, witness_area(problem, left[0], reach), allow_new)
        waiting = set(left)
        for target in left:
            if target in found:
                continue
            moved = smallest_witness(problem, area, target)
            if moved is not None:
                found |= {int(cell): moved for cell in moved if int(cell) in waiting and int(cell) not in found}
                found[target] = moved
    return [found.get(target) for target in targets]


def witness_area(problem: ProtectionProblem, target: int, reach: int) -> np.ndarray:
    """Return the cells among which ``target``'s own witness is sought: its provider's, its
    ``REACH[reach]`` neighbours on either side in size order, as many of the providers with the
    largest counts in its column and scope, and the totals rows; for a totals cell, the providers
    with the largest counts in its column and scope and the totals rows.
    Only cells of the target's family of columns (the others share no relation with it)."""
    p = int(problem.provider_of[target])
    column, s, _ = problem.release.cell_of(target)
    sizes = problem.release.counts[column][s, :-1]
    if p < problem.width - 1 and problem.sector_rows:  # providers of the target provider's sector
        sizes = max(problem.sector_rows, key=lambda row: int(row[p]))
    largest = np.argsort(-sizes, kind="stable")[: 1 + 2 * REACH[reach]]
    if p == problem.width - 1:
        chosen = largest
    else:
        rank = int(problem.rank[p])
        neighbours = problem.order[max(0, rank - REACH[reach]) : rank + REACH[reach] + 1]
        # the largest providers in the target's column can give a count back without going below 1
        # where neighbours of a small provider cannot, so the totals row need not move
        chosen = np.unique(np.concatenate([neighbours, largest[: 1 + REACH[reach]]]))
    area = np.concatenate([*(problem.blocks[int(q)] for q in chosen), problem.blocks[-1]])
    return np.asarray(area[problem.family[area] == problem.family[target]])


@dataclass(frozen=True)
class WitnessArea:
    """The cells of an area that a witness may change, with their unit costs and relations on
    ``x = plus - minus`` (variables ``plus`` then ``minus``)."""

    cells: np.ndarray
    unit: np.ndarray
    local: LocalRelations
    rows: SharedRows
    """The relations on ``plus`` and ``minus`` (equalities, then the at-most rows), stacked once
    for every target of the area."""


def prepare_area(problem: ProtectionProblem, area: np.ndarray, allow_new: bool) -> WitnessArea:
    """Return the suppressed cells of ``area`` (with ``allow_new``, its published cells too, each
    at its cost, far above moving a suppressed cell) and their relations, for
    :func:`smallest_witness`. The area's totals cells come last, prepared once per family."""
    free = problem.hidden[area] | (allow_new & problem.hideable[area])
    cells = area[free]
    is_totals = problem.provider_of[cells] == problem.width - 1
    own, totals = cells[~is_totals], cells[is_totals]
    key = totals.tobytes()
    if key not in problem.shared:
        problem.shared[key] = SharedCells.prepare(problem.constraints, totals)
    cells = np.concatenate([own, totals])
    local = local_relations_with(problem.constraints, own, problem.shared[key], *step_bounds(problem, cells))
    equal = hstack([local.equal, -local.equal]).tocsr()
    at_most = hstack([local.at_most, -local.at_most]).tocsr()
    rows: list[Rows] = [(equal, 0.0, 0.0), (at_most, -np.inf, local.room)]
    return WitnessArea(
        cells,
        np.where(problem.hidden[cells], 1.0, 100.0 * problem.cost(cells)),
        local,
        SharedRows.of(rows, 2 * len(cells)),
    )


def smallest_witness(problem: ProtectionProblem, area: WitnessArea, target: int) -> np.ndarray | None:
    """Return the cells moved by the witness for ``target`` among the cells of ``area`` that
    changes the fewest cells by the least, or None when ``area`` has none."""
    cells, local = area.cells, area.local
    n = len(cells)
    position = int(np.flatnonzero(cells == target)[0])
    high = np.concatenate([np.maximum(local.high, 0), np.maximum(-local.low, 0)])
    objective = np.concatenate([area.unit, area.unit])
    best: tuple[float, np.ndarray] | None = None
    for direction in (1.0, -1.0):
        if (local.high if direction > 0 else -local.low)[position] < 1:
            continue  # the relations of this cell alone keep it from going this way
        pick = (np.array([position, n + position]), np.array([direction, -direction]), 1.0, np.inf)
        witness = program_with_row(objective, area.rows, pick, np.zeros(2 * n), high)
        problem.programs += 1
        solution = solve(witness)
        if solution is not None and np.abs(solution - np.round(solution)).max() > 1e-6:
            problem.programs += 1  # a fractional vertex: solve it as an integer program
            solution = solve(witness, integral=True)
        if solution is not None and (best is None or float(objective @ solution) < best[0]):
            best = (float(objective @ solution), np.round(solution[:n] - solution[n:]))
    return None if best is None else cells[best[1] != 0]
