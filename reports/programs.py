"""Linear and integer programs for disclosure control, solved by HiGHS through ``highspy``.

Called directly rather than through ``scipy.optimize.linprog``: the protection of a national
release solves thousands of small programs, and scipy's checks and conversions cost more than
HiGHS itself on them. One solver object per process and kind (linear: dual simplex, which
gives the vertex solutions the witness search relies on; integer: branch and bound), made
after a fork, never inherited, because HiGHS may hold threads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
from scipy.sparse import csc_matrix, csr_matrix, vstack

Rows = tuple[csr_matrix | csc_matrix, float | np.ndarray, float | np.ndarray]
"""Constraint rows ``low <= matrix @ x <= high`` (bounds broadcast to the rows)."""


@dataclass(frozen=True)
class Program:
    """Minimise ``cost @ x`` subject to ``row_low <= matrix @ x <= row_high`` and ``low <= x <= high``."""

    cost: np.ndarray
    matrix: csc_matrix
    row_low: np.ndarray
    row_high: np.ndarray
    low: np.ndarray
    high: np.ndarray


def program(cost: np.ndarray, rows: Sequence[Rows], low: np.ndarray, high: np.ndarray) -> Program:
    """Return the program with objective ``cost``, the constraint ``rows`` stacked, and the
    variable bounds ``low`` and ``high``."""
    present = [(matrix, lo, hi) for matrix, lo, hi in rows if matrix.shape[0]]
    if present:
        matrix = csc_matrix(vstack([m for m, _, _ in present], format="csc"))
        matrix.sum_duplicates()
        row_low = np.concatenate([np.broadcast_to(np.asarray(lo, float), m.shape[0]) for m, lo, _ in present])
        row_high = np.concatenate([np.broadcast_to(np.asarray(hi, float), m.shape[0]) for m, _, hi in present])
    else:
        matrix, row_low, row_high = csc_matrix((0, len(cost))), np.zeros(0), np.zeros(0)
    return Program(np.asarray(cost, float), matrix, row_low, row_high, np.asarray(low, float), np.asarray(high, float))


@dataclass(frozen=True)
class SharedRows:
    """Constraint rows that many programs share (CSR), with their bounds: see :func:`program_with_row`."""

    matrix: csr_matrix
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def of(cls, rows: Sequence[Rows], width: int) -> SharedRows:
        """Return ``rows`` stacked once (as :func:`program` would stack them)."""
        present = [(matrix, lo, hi) for matrix, lo, hi in rows if matrix.shape[0]]
        if not present:
            return cls(csr_matrix((0, width)), np.zeros(0), np.zeros(0))
        low = np.concatenate([np.broadcast_to(np.asarray(lo, float), m.shape[0]) for m, lo, _ in present])
        high = np.concatenate([np.broadcast_to(np.asarray(hi, float), m.shape[0]) for m, _, hi in present])
        return cls(csr_matrix(vstack([m for m, _, _ in present], format="csr")), low, high)


def program_with_row(
    cost: np.ndarray,
    shared: SharedRows,
    row: tuple[np.ndarray, np.ndarray, float, float],
    low: np.ndarray,
    high: np.ndarray,
) -> Program:
    """Return the program :func:`program` makes of the ``shared`` rows and one more ``row``
    (columns, values, low, high), the same matrix entry for entry, without stacking matrices
    again: thousands of programs that differ in one row cost a fraction of the time."""
    columns, values, row_low, row_high = row
    order = np.argsort(columns, kind="stable")
    base = shared.matrix
    extended = csr_matrix(
        (
            np.concatenate([base.data.astype(float), np.asarray(values, float)[order]]),
            np.concatenate([base.indices, np.asarray(columns)[order]]),
            np.append(base.indptr, base.indptr[-1] + len(columns)),
        ),
        shape=(base.shape[0] + 1, base.shape[1]),
    )
    matrix = csc_matrix(extended.tocsc())
    matrix.sum_duplicates()
    return Program(
        np.asarray(cost, float), matrix, np.append(shared.low, row_low), np.append(shared.high, row_high),
        np.asarray(low, float), np.asarray(high, float),
    )  # fmt: skip


_SOLVERS: dict[tuple[int, bool], highspy.Highs] = {}


def _solver(integral: bool) -> highspy.Highs:
    """Return this process's HiGHS object for linear (dual simplex) or integer programs."""
    key = (os.getpid(), integral)
    if key not in _SOLVERS:
        if any(pid != key[0] for pid, _ in _SOLVERS):  # inherited through a fork: not ours to use
            _SOLVERS.clear()
        _SOLVERS[key] = _quiet_highs(integral)
    return _SOLVERS[key]


def _quiet_highs(integral: bool) -> highspy.Highs:
    """Return a new HiGHS object that prints nothing (its constructor writes a banner to the
    process's standard output, below Python, so that descriptor is pointed away meanwhile)."""
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 1)
            make: Any = highspy.Highs  # highspy does not annotate its constructor
            highs: highspy.Highs = make()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", 1)
    highs.setOptionValue("random_seed", 0)
    if not integral:
        highs.setOptionValue("solver", "simplex")
        highs.setOptionValue("simplex_strategy", 1)  # dual simplex: a vertex solution
        highs.setOptionValue("presolve", "off")  # the programs are small and sparse: presolve costs more than it saves
    return highs


def solve(problem: Program, integral: bool = False) -> np.ndarray | None:
    """Return an optimal solution of ``problem`` (with ``integral``, in integers; otherwise a
    vertex of the linear program), or None when it has none (infeasible, unbounded, failed)."""
    highs = _solver(integral)
    highs.clearModel()
    n = len(problem.cost)
    matrix = problem.matrix
    integrality = np.full(n, int(highspy.HighsVarType.kInteger) if integral else 0, dtype=np.int32)
    highs.passModel(
        n,
        matrix.shape[0],
        matrix.nnz,
        int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMinimize),
        0.0,
        problem.cost,
        problem.low,
        problem.high,
        problem.row_low,
        problem.row_high,
        matrix.indptr.astype(np.int32),
        matrix.indices.astype(np.int32),
        matrix.data.astype(np.float64),
        integrality,
    )
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return np.array(highs.getSolution().col_value)
