"""Protecting a whole insurer release so that no small count can be solved for.

An attacker holds every file of the release (national table, every insurer's slice, their
totals, the previous round's release) and knows every relation that holds by definition
(:func:`reports.release.release_relations`). A suppressed cell is safe when two integer
solutions of all those relations agree with everything published but differ in that cell: then
no attacker, however clever, can pin its value. The true counts are one solution; this module
finds the second as a *witness*, an integer change ``d`` of suppressed cells only that keeps
every relation (``truth + d`` is consistent with everything published).

Witnesses are sought in passes over disjoint groups of providers that are close in size (a
group's cells reach other providers only through the totals rows, which keep their counts; a
relation across groups gets a share of its room per group), one linear program per chunk of
groups and per family of columns that relations connect. A vertex solution that is integral is
a witness for every cell it moves. Later passes may also move published cells at a price, which
then get suppressed: the classic four-cell rectangle across two providers and two insurers,
found many at a time. Cells still without a witness get the cheapest one of their own, from a
small integer program over their provider, its neighbours and the totals rows. Hiding more cells
never spoils a witness found earlier, so one sweep suffices, and chunks of one pass are
independent, so they run in worker processes (the result does not depend on how many).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import cast

import numpy as np
from scipy.sparse import csc_matrix, csr_matrix, hstack

from reports.breakdowns import SECTOR_ROW, SEPARATOR
from reports.disclosure import suppress
from reports.local_relations import Constraints, LocalRelations, SharedCells, local_relations, local_relations_with
from reports.programs import Rows, program, solve
from reports.release import (
    TOTALS_RELATIONS,
    TOTALS_ROW,
    Relations,
    Release,
    cell_relations,
    check_relations,
    release_relations,
)

STEP = 10
"""The largest change of one cell a witness may use (one is enough for a rectangle)."""
TOTALS_COST = 5.0
NATIONAL_COST = 0.5
"""Extra cost of suppressing a totals cell or a national cell: readers lose more there."""
PASSES: tuple[tuple[int, int, float | None, int], ...] = (
    (4, 1, None, 10),
    (4, 2, 0.05, 10),
    (8, 1, 0.05, 10),
    (16, 1, 0.05, 4),
)
"""The passes over groups of providers: (providers per group, spacing in size order, price of
suppressing a published cell per unit of its cost (None: only suppressed cells may change),
groups per linear program: small programs solve faster and share out less room)."""
REACH: tuple[int, ...] = (0, 1, 4, 16)
"""How many neighbours in size order on either side a cell's own witness may use, in turn."""
PARALLEL_FROM = 100
"""Releases of fewer providers are protected in this process (workers would cost more)."""
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


class _Problem:
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
            release.counts[column][0, :-1]
            for column in release.totals_only
            if column.endswith(SECTOR_ENTRIES_SUFFIX)
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


def suppress_each_table(release: Release, threshold: int) -> Release:
    """Suppress each table of the release on its own: small counts, and complements against
    its totals row (the per-table baseline, which slices and the national table can be
    differenced against). Returns the release, updated."""
    import polars as pl

    columns = release.columns
    for s in range(len(release.scopes)):
        table = pl.DataFrame({"agb_code": release.providers, **{c: release.counts[c][s, :-1] for c in columns}})
        totals = pl.DataFrame({"agb_code": [TOTALS_ROW], **{c: [release.counts[c][s, -1]] for c in columns}})
        suppressed, suppressed_totals = suppress(table, totals, threshold, columns)
        for column in columns:
            release.hidden[column][s, :-1] = suppressed[column].is_null().to_numpy()
            release.hidden[column][s, -1] = bool(suppressed_totals[column].is_null()[0])
    return release


def _primary(release: Release, threshold: int, forced: Iterable[tuple[str, str, str]]) -> np.ndarray:
    """Suppress every small count, every provider cell of a column published in its totals row
    only, and the ``forced`` cells; return the flat mask of cells that need a witness (small
    suppressed counts, fixed and unpublished ones included, and the forced cells)."""
    for column in release.columns:
        counts = release.counts[column]
        release.hidden[column] = (counts >= 1) & (counts < threshold)
        if column in release.totals_only:
            release.hidden[column][0, :-1] |= counts[0, :-1] > 0
    forced_mask = {column: np.zeros_like(release.hidden[column]) for column in release.all_columns}
    for column, scope, provider in forced:
        s = release.scopes.index(scope)
        p = len(release.providers) if provider == TOTALS_ROW else release.providers.index(provider)
        if column in release.columns and release.counts[column][s, p] > 0:
            release.hidden[column][s, p] = True
            forced_mask[column][s, p] = True
    truth = release.flat("counts")
    forced_flat = np.concatenate([forced_mask[c].ravel() for c in release.all_columns])
    return np.asarray(release.flat("hidden") & (((truth >= 1) & (truth < threshold)) | forced_flat))


def _groupings(order: np.ndarray, size: int, spacing: int) -> list[np.ndarray]:
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
class _Moves:
    """What one linear program over a chunk of groups found."""

    cells: np.ndarray
    """Cells it tried to move (with the direction in ``signs``)."""
    signs: np.ndarray
    moved: np.ndarray
    """Cells of an integral solution that changed (a witness for each)."""


def _step_bounds(problem: _Problem, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return how far each of ``cells`` may go down and up in a witness: at most :data:`STEP`,
    and a count stays at 1 or more (a suppressed zero would not be suppressed)."""
    return -np.minimum(problem.truth[cells] - 1.0, STEP), np.full(len(cells), float(STEP))


def _chunk_moves(
    problem: _Problem, groups: np.ndarray, targets: np.ndarray, price: float | None, family: int, seed: Sequence[int]
) -> _Moves | None:
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
    local = local_relations(problem.constraints, cells, *_step_bounds(problem, cells), owner, len(groups))
    costs = np.zeros(n) if price is None else price * np.where(problem.hidden[cells], 0.0, problem.cost(cells))
    rng = np.random.default_rng(list(seed))
    last = problem.tried[cells]
    signs = np.where(last == 0, rng.choice([-1.0, 1.0], size=n), -last)  # the other way than last time
    signs = np.where(problem.truth[cells] <= 1, 1.0, signs) * wanted  # a count of 1 can only go up
    signs = np.where(local.high < 1, -1.0, np.where(local.low > -1, 1.0, signs)) * wanted
    x = _solve_moves(local.equal, local.at_most, local.room, local.high, -local.low, costs, wanted, signs)
    problem.programs += 1
    if x is None:
        return _Moves(cells[wanted], signs[wanted], np.zeros(0, dtype=np.int64))
    fractional = np.unique(owner[np.abs(x - np.round(x)) > 1e-6])
    moved = (np.abs(x) >= 1 - 1e-6) & ~np.isin(owner, fractional)
    return _Moves(cells[wanted], signs[wanted], cells[moved])


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


_WORKER_PROBLEM: _Problem | None = None
"""The problem a forked worker inherited (set just before the pool forks)."""


class _Workers:
    """Worker processes forked from this one (they inherit the problem), or none: then the same
    work runs here, with the same result."""

    def __init__(self, problem: _Problem, workers: int) -> None:
        global _WORKER_PROBLEM
        self.problem = problem
        self.count = workers
        self.pool: ProcessPoolExecutor | None = None
        if workers > 1 and problem.width > PARALLEL_FROM and not multiprocessing.current_process().daemon:
            try:
                _WORKER_PROBLEM = problem
                self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
            except (OSError, ValueError):  # no processes to be had: run in this one
                self.pool = None

    def map(self, function: str, tasks: Sequence[object], open_targets: np.ndarray) -> list[object]:
        """Return ``function`` (a name in :data:`_TASKS`) applied to every task, in order."""
        before = self.problem.programs
        done = None if self.pool is None else self._map_in_workers(function, tasks, open_targets)
        if done is None:  # no workers, or they could not start or died: run here
            done = [_run_tasks(self.problem, function, open_targets, tasks)]
        self.problem.programs = before + sum(programs for batch in done for _, programs in batch)
        results: list[object] = [None] * len(tasks)
        for i, batch in enumerate(done):
            results[i :: len(done)] = [result for result, _ in batch]
        return results

    def _map_in_workers(
        self, function: str, tasks: Sequence[object], open_targets: np.ndarray
    ) -> list[list[tuple[object, int]]] | None:
        """Return the results of ``tasks`` run in the workers, one batch per worker (every
        ``count``-th task), or None when the workers fail (they are stopped then)."""
        if self.pool is None:
            return None
        state = (np.packbits(self.problem.hidden), np.packbits(open_targets), self.problem.tried)
        batches = [list(tasks[i :: self.count]) for i in range(self.count)]
        try:
            futures = [self.pool.submit(_worker_run, function, state, batch) for batch in batches]
            return [future.result() for future in futures]
        except (OSError, BrokenProcessPool):
            self.close()
            self.pool = None
            return None

    def close(self) -> None:
        """Stop the worker processes."""
        global _WORKER_PROBLEM
        if self.pool is not None:
            self.pool.shutdown()
        _WORKER_PROBLEM = None


def _run_tasks(
    problem: _Problem, function: str, open_targets: np.ndarray, tasks: Sequence[object]
) -> list[tuple[object, int]]:
    """Return each task's result with the number of programs it solved."""
    results: list[tuple[object, int]] = []
    for task in tasks:
        before = problem.programs
        results.append((_TASKS[function](problem, open_targets, task), problem.programs - before))
    return results


def _worker_run(
    function: str, state: tuple[np.ndarray, np.ndarray, np.ndarray], tasks: Sequence[object]
) -> list[tuple[object, int]]:
    """Run ``tasks`` in a worker process on the parent's current ``state`` (hidden, open targets,
    tried directions)."""
    problem = _WORKER_PROBLEM
    if problem is None:
        raise RuntimeError("the protection worker was started without its problem")
    size = problem.truth.size
    problem.hidden = np.unpackbits(state[0])[:size].astype(bool)
    problem.tried = state[2]
    open_targets = np.unpackbits(state[1])[:size].astype(bool)
    return _run_tasks(problem, function, open_targets, tasks)


ChunkTask = tuple[np.ndarray, float | None, int, tuple[int, ...]]
"""(groups, price, family, seed) of one linear program over groups of providers."""


def _chunk_task(problem: _Problem, open_targets: np.ndarray, task: object) -> _Moves | None:
    """Return the moves of one chunk task (see :func:`_chunk_moves`)."""
    groups, price, family, seed = cast(ChunkTask, task)
    return _chunk_moves(problem, groups, open_targets, price, family, seed)


def _witness_task(problem: _Problem, open_targets: np.ndarray, task: object) -> list[np.ndarray | None]:
    """Return, for each target of one task (targets that share their areas), the cells of its
    smallest witness in ever wider areas, or None."""
    targets, allow_new = cast(tuple[tuple[int, ...], bool], task)
    found: dict[int, np.ndarray] = {}
    for reach in range(len(REACH)):
        left = [target for target in targets if target not in found]
        if not left:
            break
        area = _prepare_area(problem, _area(problem, left[0], reach), allow_new)
        for target in left:
            moved = _smallest_witness(problem, area, target)
            if moved is not None:
                found[target] = moved
    return [found.get(target) for target in targets]


_TASKS = {"chunk": _chunk_task, "witness": _witness_task}


def _run_passes(problem: _Problem, targets: np.ndarray, covered: np.ndarray, workers: _Workers) -> int:
    """Run :data:`PASSES` over the providers; mark the cells moved in ``covered``, suppress what
    priced passes moved, and return how many cells were suppressed."""
    added = 0
    for number, (size, spacing, price, chunk) in enumerate(PASSES):
        for grouping, groups in enumerate(_groupings(problem.order, size, spacing)):
            for family in range(int(problem.family.max()) + 1):
                tasks = [
                    (groups[start : start + chunk], price, family, (number, grouping, family, start))
                    for start in range(0, len(groups), chunk)
                ]
                for moves in workers.map("chunk", tasks, targets & ~covered):
                    if isinstance(moves, _Moves):
                        problem.tried[moves.cells] = moves.signs
                        added += _apply(problem, moves.moved, covered)
    return added


def _apply(problem: _Problem, moved: np.ndarray, covered: np.ndarray) -> int:
    """Suppress the published cells of a witness and mark all its cells; return how many were
    suppressed."""
    newly = moved[~problem.hidden[moved]]
    problem.hidden[newly] = True
    covered[moved] = True
    return len(newly)


def _own_witnesses(
    problem: _Problem, targets: np.ndarray, covered: np.ndarray, workers: _Workers, allow_new: bool
) -> list[int]:
    """Give every target still without a witness one of its own (found for all on the same
    state, which stays valid as more cells are suppressed); suppress what they need. Returns the
    targets that have none."""
    waiting = [int(t) for t in np.flatnonzero(targets & ~covered)]
    sharing: dict[tuple[int, int], list[int]] = {}  # targets whose areas are the same
    for target in waiting:
        provider = int(problem.provider_of[target])
        key = (provider, int(problem.family[target])) if provider < problem.width - 1 else (-1, target)
        sharing.setdefault(key, []).append(target)
    tasks = [(tuple(group), allow_new) for group in sharing.values()]
    found: dict[int, np.ndarray | None] = {}
    for (group, _), results in zip(tasks, workers.map("witness", tasks, targets & ~covered), strict=True):
        found.update(zip(group, cast(list[np.ndarray | None], results), strict=True))
    unprotected = []
    for target in waiting:
        moved = found[target]
        if covered[target]:
            continue
        if isinstance(moved, np.ndarray):
            _apply(problem, moved, covered)
        else:
            unprotected.append(target)
    return unprotected


def _area(problem: _Problem, target: int, reach: int) -> np.ndarray:
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
class _Area:
    """The cells of an area that a witness may change, with their unit costs and relations on
    ``x = plus - minus`` (variables ``plus`` then ``minus``)."""

    cells: np.ndarray
    unit: np.ndarray
    local: LocalRelations
    equal: csr_matrix
    at_most: csr_matrix


def _prepare_area(problem: _Problem, area: np.ndarray, allow_new: bool) -> _Area:
    """Return the suppressed cells of ``area`` (with ``allow_new``, its published cells too, each
    at its cost, far above moving a suppressed cell) and their relations, for
    :func:`_smallest_witness`. The area's totals cells come last, prepared once per family."""
    free = problem.hidden[area] | (allow_new & problem.hideable[area])
    cells = area[free]
    is_totals = problem.provider_of[cells] == problem.width - 1
    own, totals = cells[~is_totals], cells[is_totals]
    key = totals.tobytes()
    if key not in problem.shared:
        problem.shared[key] = SharedCells.prepare(problem.constraints, totals)
    cells = np.concatenate([own, totals])
    local = local_relations_with(problem.constraints, own, problem.shared[key], *_step_bounds(problem, cells))
    return _Area(
        cells,
        np.where(problem.hidden[cells], 1.0, 100.0 * problem.cost(cells)),
        local,
        hstack([local.equal, -local.equal]).tocsr(),
        hstack([local.at_most, -local.at_most]).tocsr(),
    )


def _smallest_witness(problem: _Problem, area: _Area, target: int) -> np.ndarray | None:
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
        pick = csr_matrix(([direction, -direction], ([0, 0], [position, n + position])), shape=(1, 2 * n))
        rows: list[Rows] = [(area.equal, 0.0, 0.0), (area.at_most, -np.inf, local.room), (pick, 1.0, np.inf)]
        witness = program(objective, rows, np.zeros(2 * n), high)
        problem.programs += 1
        solution = solve(witness)
        if solution is not None and np.abs(solution - np.round(solution)).max() > 1e-6:
            problem.programs += 1  # a fractional vertex: solve it as an integer program
            solution = solve(witness, integral=True)
        if solution is not None and (best is None or float(objective @ solution) < best[0]):
            best = (float(objective @ solution), np.round(solution[:n] - solution[n:]))
    return None if best is None else cells[best[1] != 0]


def protect_release(
    release: Release, threshold: int, forced: Iterable[tuple[str, str, str]] = (), workers: int = 2
) -> Release:
    """Suppress the release: every count from 1 to ``threshold - 1``, the ``forced`` cells
    ((column, scope, provider or 'totaal'), e.g. from the release ledger), and the cheapest
    further cells until every such cell has a witness (see the module docstring), using up to
    ``workers`` processes. A small count that the previous release's published cells pin is
    listed in ``release.stats.exposed``. Raises :class:`reports.release.InconsistentRelease`
    when the true counts break a relation. Returns the same release, updated."""
    relations = release_relations(release)
    check_relations(release, relations)
    targets = _primary(release, threshold, forced)
    problem = _Problem(release, relations)
    unpublished = sum(int(release.hidden[c][0, :-1].sum()) for c in release.totals_only)
    stats = ProtectionStats(primary=int(problem.hidden.sum()) - unpublished)
    covered = np.zeros_like(targets)
    pool = _Workers(problem, workers)
    try:
        stats.secondary += _run_passes(problem, targets, covered, pool)
        stats.grouped = int((covered & targets).sum())
        hidden_before = int(problem.hidden.sum())
        unprotected = _own_witnesses(problem, targets, covered, pool, allow_new=True)
        stats.secondary += int(problem.hidden.sum()) - hidden_before
    finally:
        pool.close()
    stats.exposed = [_exposure(release, target) for target in unprotected]
    release.set_hidden_flat(problem.hidden)
    stats.programs = problem.programs
    release.stats = stats
    return release


def audit_release(release: Release, threshold: int, workers: int = 2) -> list[Exposure]:
    """Return every suppressed small count of ``release`` for which the search finds no witness
    among the suppressed cells (a cell a wider search would clear may be listed; one that is
    pinned is never missed). Fixed cells are left out: their own release answers for them."""
    problem = _Problem(release, release_relations(release))
    truth = release.flat("counts")
    targets = problem.hidden & (truth >= 1) & (truth < threshold) & ~problem.fixed
    covered = np.zeros_like(targets)
    pool = _Workers(problem, workers)
    try:
        for number, (size, spacing, _, chunk) in enumerate(PASSES[:2]):
            for grouping, groups in enumerate(_groupings(problem.order, size, spacing)):
                for family in range(int(problem.family.max()) + 1):
                    tasks = [(groups[start : start + chunk], None, family, (number, grouping, family, start))
                             for start in range(0, len(groups), chunk)]  # fmt: skip
                    for moves in pool.map("chunk", tasks, targets & ~covered):
                        if isinstance(moves, _Moves):
                            problem.tried[moves.cells] = moves.signs
                            covered[moves.moved] = True
        _own_witnesses(problem, targets, covered, pool, allow_new=False)
    finally:
        pool.close()
    return [_exposure(release, int(index)) for index in np.flatnonzero(targets & ~covered)]


def _exposure(release: Release, index: int) -> Exposure:
    """Return the exposure of the cell at flat ``index``."""
    column, s, p = release.cell_of(index)
    provider = TOTALS_ROW if p == len(release.providers) else release.providers[p]
    return Exposure(column, release.scopes[s], provider, int(release.counts[column][s, p]))
