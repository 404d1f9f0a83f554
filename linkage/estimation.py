"""Fellegi-Sunter estimation on comparison patterns (numpy, pure): level shares, pattern
probabilities and m by expectation maximisation."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from linkage.comparisons import FIELDS, LEVEL_COUNTS, MISSING

SMOOTHING_COUNT = 1.0
"""Pseudo-count added to every level, so that no level is ever judged impossible."""


DEFAULT_M: dict[str, list[float]] = {
    "sn": [0.03, 0.03, 0.04, 0.05, 0.1, 0.75], "fn": [0.03, 0.02, 0.03, 0.04, 0.05, 0.08, 0.75],
    "dob": [0.02, 0.02, 0.03, 0.03, 0.05, 0.85], "pc": [0.1, 0.03, 0.07, 0.8], "sex": [0.05, 0.95],
}  # fmt: skip


def level_distribution(patterns: np.ndarray, counts: np.ndarray, weights: np.ndarray) -> dict[str, list[float]]:
    """Return per field the weighted share of each level, ignoring missing values (smoothed)."""
    result = {}
    for index, name in enumerate(FIELDS):
        levels = patterns[:, index]
        present = levels >= 0
        totals = (
            np.array(
                [
                    np.sum(counts[present & (levels == lv)] * weights[present & (levels == lv)])
                    for lv in range(LEVEL_COUNTS[name])
                ]
            )
            + SMOOTHING_COUNT
        )
        result[name] = list(totals / totals.sum())
    return result


def pattern_probabilities(
    patterns: np.ndarray, m: Mapping[str, list[float]], u: Mapping[str, list[float]], prior: float
) -> np.ndarray:
    """Return the match probability of each comparison pattern under m, u and the prior."""
    log_odds = np.full(len(patterns), np.log(prior / (1 - prior)))
    for index, name in enumerate(FIELDS):
        levels = patterns[:, index]
        present = levels >= 0
        m_values, u_values = np.asarray(m[name]), np.asarray(u[name])
        log_odds[present] += np.log(m_values[levels[present]]) - np.log(u_values[levels[present]])
    return np.asarray(1 / (1 + np.exp(-log_odds)))


def estimate_m_by_em(
    patterns: np.ndarray,
    counts: np.ndarray,
    fields: frozenset[str],
    u: Mapping[str, list[float]],
    iterations: int,
) -> tuple[dict[str, list[float]], float]:
    """Return (m for ``fields``, match share) estimated by EM with ``u`` held fixed.

    Only the columns of ``fields`` enter the likelihood, so a pass's blocking fields, which
    agree by construction, do not bias the estimate.
    """
    m = {name: list(DEFAULT_M[name]) for name in fields}
    prior = 0.1
    mask = [name in fields for name in FIELDS]
    for _ in range(iterations):
        full_m = {name: m.get(name, [1.0] * LEVEL_COUNTS[name]) for name in FIELDS}
        full_u = {name: list(u[name]) if name in fields else [1.0] * LEVEL_COUNTS[name] for name in FIELDS}
        weights = pattern_probabilities(np.where(mask, patterns, MISSING), full_m, full_u, prior)
        new_prior = float(np.sum(counts * weights) / np.sum(counts))
        estimated = level_distribution(patterns, counts, weights)
        m = {name: estimated[name] for name in fields}
        converged = abs(new_prior - prior) < 1e-6
        prior = min(max(new_prior, 1e-6), 0.999)
        if converged:
            break
    return m, prior
