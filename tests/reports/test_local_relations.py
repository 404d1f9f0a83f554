"""The relations of a witness's area: prepared once for the totals rows, they are the same as
computed afresh for the whole area."""

import duckdb
import numpy as np
import pytest

import reports.insurers as insurers
from reports.local_relations import LocalRelations, SharedCells, local_relations, local_relations_with
from reports.protection import _primary
from reports.protection_problem import ProtectionProblem
from reports.protection_search import witness_area
from reports.release import Release, release_relations
from sample_data.populations import PopulationSpec, load_population


def unprotected_release(spec: PopulationSpec) -> Release:
    """Return a population's release before protection."""
    con = duckdb.connect()
    load_population(con, spec)
    captured: list[Release] = []
    original = insurers.protect_release
    insurers.protect_release = lambda release, threshold, forced=(), workers=2: captured.append(release) or release
    try:
        insurers.protected_release(con, 10)
    finally:
        insurers.protect_release = original
    return captured[0]


def canonical(local: LocalRelations) -> tuple[set, set, list, list]:
    """Return the relations as sets of rows (order-free) and the bounds."""

    def rows(matrix, room=None):
        matrix = matrix.tocsr()
        out = set()
        for i in range(matrix.shape[0]):
            start, end = matrix.indptr[i], matrix.indptr[i + 1]
            terms = tuple(sorted(zip(matrix.indices[start:end].tolist(), matrix.data[start:end].tolist(), strict=True)))
            out.add((terms, None if room is None else float(room[i])))
        return out

    return rows(local.equal), rows(local.at_most, local.room), local.low.tolist(), local.high.tolist()


@pytest.mark.parametrize("allow_new", [True, False])
def test_areas_with_prepared_totals_have_the_same_relations(allow_new: bool):
    release = unprotected_release(PopulationSpec(providers=30, insurers=4, seed=3))
    targets = _primary(release, 10, ())
    problem = ProtectionProblem(release, release_relations(release))
    rng = np.random.default_rng(0)
    chosen = rng.choice(np.flatnonzero(targets), size=25, replace=False)
    compared = 0
    for target in chosen:
        for reach in (0, 1, 2):
            area = witness_area(problem, int(target), reach)
            free = problem.hidden[area] | (allow_new & problem.hideable[area])
            cells = area[free]
            totals = problem.provider_of[cells] == problem.width - 1
            own, shared = cells[~totals], cells[totals]
            ordered = np.concatenate([own, shared])
            low = -np.minimum(problem.truth[ordered] - 1.0, 10)
            high = np.full(len(ordered), 10.0)
            fresh = local_relations(problem.constraints, ordered, low, high)
            prepared = local_relations_with(
                problem.constraints, own, SharedCells.prepare(problem.constraints, shared), low, high
            )
            assert canonical(prepared) == canonical(fresh)
            compared += 1
    assert compared == 75
