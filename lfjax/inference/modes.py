"""Folding (D, E) to the canonical wedge and merging nearby solutions (numpy, kelvin).

Two (D, E) sets are as far apart as the nearest of the six equivalents of one is from the other:
d((D1, E1), (D2, E2)) = min_k |eq_k(D1, E1) - (D2, E2)|. On the canonical wedge this identifies
(D, |D|/3) with (-D, |D|/3), where the sign of D is meaningless.
"""

from __future__ import annotations

import numpy as np


def equivalents_np(d, e) -> np.ndarray:
    """The six equivalent (D, E) pairs, shape (..., 6, 2) (docs/physics.md)."""
    d, e = np.broadcast_arrays(np.asarray(d, dtype=float), np.asarray(e, dtype=float))
    ds = np.stack([d, d, (3 * e - d) / 2, (3 * e - d) / 2, (-3 * e - d) / 2, (-3 * e - d) / 2], axis=-1)
    es = np.stack([e, -e, (d + e) / 2, -(d + e) / 2, (d - e) / 2, -(d - e) / 2], axis=-1)
    return np.stack([ds, es], axis=-1)


def canonical_np(d, e) -> np.ndarray:
    """The equivalent with 0 <= E <= |D|/3 (largest |D|), shape (..., 2)."""
    eq = equivalents_np(d, e)
    best = np.argmax(np.abs(eq[..., 0]) - 1e-12 * eq[..., 1], axis=-1)
    pick = np.take_along_axis(eq, best[..., None, None], axis=-2)[..., 0, :]
    return np.stack([pick[..., 0], np.abs(pick[..., 1])], axis=-1)


def equivalence_distance(a, b) -> np.ndarray:
    """Distance in K between (D, E) sets a and b (shape (..., 2)) modulo the six equivalents."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    eq = equivalents_np(a[..., 0], a[..., 1])
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

