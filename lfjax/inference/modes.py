"""Distances modulo the six (D, E) equivalents and merging nearby solutions (numpy, kelvin).

Two (D, E) sets are as far apart as the nearest of the six equivalents of one is from the other:
d((D1, E1), (D2, E2)) = min_k |eq_k(D1, E1) - (D2, E2)|. On the canonical wedge this identifies
(D, |D|/3) with (-D, |D|/3), where the sign of D is meaningless.
"""

from __future__ import annotations

import numpy as np

from lfjax.physics.equivalents import equivalents


def equivalence_distance(a, b) -> np.ndarray:
    """Distance in K between (D, E) sets a and b (shape (..., 2)) modulo the six equivalents."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    eq = equivalents(a[..., 0], a[..., 1])
    return np.min(np.linalg.norm(eq - b[..., None, :], axis=-1), axis=-1)


def merge_indices(points_de: np.ndarray, scores: np.ndarray, merge_k: float) -> list[int]:
    """Indices of the best-scoring points, dropping any within `merge_k` (K) of a better one.

    Args:
      points_de: (n, 2) (D, E) in K; scores: (n,) higher is better.
    Returns:
      Kept indices, best first.
    """
    kept: list[int] = []
    for i in np.argsort(-np.asarray(scores), kind="stable"):
        if all(equivalence_distance(points_de[i], points_de[j]) > merge_k for j in kept):
            kept.append(int(i))
    return kept

