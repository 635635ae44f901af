"""Quadrature over field directions for powder averages of M(B) . B / |B|."""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=None)
def hemisphere_quadrature(n_theta: int = 8, n_phi: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Returns (directions (n, 3), weights (n,)) on the upper hemisphere, weights summing to 1.

    Gauss-Legendre in cos(theta) on [0, 1] times the trapezoid rule in phi (exact for
    trigonometric polynomials of degree < n_phi). A hemisphere suffices because a ligand field
    is even under inversion, so M(-B) . (-B) = M(B) . B.
    """
    if n_theta < 1 or n_phi < 1:
        raise ValueError(f"n_theta and n_phi must be >= 1; got {n_theta}, {n_phi}")
    nodes, weights = np.polynomial.legendre.leggauss(n_theta)
    cos_t, w_t = (nodes + 1) / 2, weights / 2
    phi = 2 * np.pi * (np.arange(n_phi) + 0.5) / n_phi
    sin_t = np.sqrt(1 - cos_t**2)
    dirs = np.stack(
        [
            (sin_t[:, None] * np.cos(phi)[None, :]).ravel(),
            (sin_t[:, None] * np.sin(phi)[None, :]).ravel(),
            np.repeat(cos_t, n_phi),
        ],
        axis=-1,
    )
    return dirs, np.repeat(w_t, n_phi) / n_phi
