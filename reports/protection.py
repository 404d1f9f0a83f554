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
from typing import cast

import numpy as np

from reports.disclosure import suppress
from reports.protection_problem import Exposure, ProtectionProblem, ProtectionStats
from reports.protection_search import Moves, chunk_task, groupings, witness_task
from reports.release import (
    TOTALS_ROW,
    Release,
    check_relations,
    release_relations,
)

PASSES: tuple[tuple[int, int, float | None, int], ...] = (
    (4, 1, None, 10),
    (4, 2, 0.05, 10),
    (8, 1, 0.05, 10),
    (16, 1, 0.05, 4),
)
"""The passes over groups of providers: (providers per group, spacing in size order, price of
suppressing a published cell per unit of its cost (None: only suppressed cells may change),
groups per linear program: small programs solve faster and share out less room)."""
PARALLEL_FROM = 100
"""Releases of fewer providers are protected in this process (workers would cost more)."""


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


_WORKER_PROBLEM: ProtectionProblem | None = None
"""The problem a forked worker inherited (set just before the pool forks)."""


class _Workers:
    """Worker processes forked from this one (they inherit the problem), or none: then the same
    work runs here, with the same result."""

    def __init__(self, problem: ProtectionProblem, workers: int) -> None:
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
        # tried holds -1, 0 or 1 per cell: sent as bytes, not as 8-byte floats (millions of cells)
        state = (np.packbits(self.problem.hidden), np.packbits(open_targets), self.problem.tried.astype(np.int8))
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
    problem: ProtectionProblem, function: str, open_targets: np.ndarray, tasks: Sequence[object]
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
    problem.tried = state[2].astype(float)
    open_targets = np.unpackbits(state[1])[:size].astype(bool)
    return _run_tasks(problem, function, open_targets, tasks)


_TASKS = {"chunk": chunk_task, "witness": witness_task}


def _run_passes(problem: ProtectionProblem, targets: np.ndarray, covered: np.ndarray, workers: _Workers) -> int:
    """Run :data:`PASSES` over the providers; mark the cells moved in ``covered``, suppress what
    priced passes moved, and return how many cells were suppressed."""
    added = 0
    for number, (size, spacing, price, chunk) in enumerate(PASSES):
        for grouping, groups in enumerate(groupings(problem.order, size, spacing)):
            for family in range(int(problem.family.max()) + 1):
                tasks = [
                    (groups[start : start + chunk], price, family, (number, grouping, family, start))
                    for start in range(0, len(groups), chunk)
                ]
                for moves in workers.map("chunk", tasks, targets & ~covered):
                    if isinstance(moves, Moves):
                        problem.tried[moves.cells] = moves.signs
                        added += _apply(problem, moves.moved, covered)
    return added


def _apply(problem: ProtectionProblem, moved: np.ndarray, covered: np.ndarray) -> int:
    """Suppress the published cells of a witness and mark all its cells; return how many were
    suppressed."""
    newly = moved[~problem.hidden[moved]]
    problem.hidden[newly] = True
    covered[moved] = True
    return len(newly)


def _own_witnesses(
    problem: ProtectionProblem, targets: np.ndarray, covered: np.ndarray, workers: _Workers, allow_new: bool
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
    problem = ProtectionProblem(release, relations)
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
    problem = ProtectionProblem(release, release_relations(release))
    truth = release.flat("counts")
    targets = problem.hidden & (truth >= 1) & (truth < threshold) & ~problem.fixed
    covered = np.zeros_like(targets)
    pool = _Workers(problem, workers)
    try:
        for number, (size, spacing, _, chunk) in enumerate(PASSES[:2]):
            for grouping, groups in enumerate(groupings(problem.order, size, spacing)):
                for family in range(int(problem.family.max()) + 1):
                    tasks = [(groups[start : start + chunk], None, family, (number, grouping, family, start))
                             for start in range(0, len(groups), chunk)]  # fmt: skip
                    for moves in pool.map("chunk", tasks, targets & ~covered):
                        if isinstance(moves, Moves):
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
