"""Modes of a (D, E) posterior sample, folded onto the canonical wedge (numpy, kelvin).

Samples are folded with `canonical` (0 <= E <= |D|/3) and compared with the distance modulo the
six equivalents, so a mode on a wedge edge is not split in two. Density at each sample is a
Gaussian kernel estimate; each sample then points to the densest sample within one bandwidth
that is denser than itself (quick-shift). Following the pointers ends at a local density maximum:
that root is the mode, the samples reaching it are its members, their share is its mass.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from lfjax.physics.equivalents import canonical, equivalents


@dataclasses.dataclass(frozen=True)
class PosteriorMode:
    """One mode: canonical (D, E) of its densest sample (K), posterior mass, member indices."""

    d_k: float
    e_k: float
    mass: float
    density: float
    members: np.ndarray


def fold(d, e) -> np.ndarray:
    """(D, E) (K) folded onto the canonical wedge, shape (..., 2)."""
    return np.asarray(canonical(np.asarray(d, np.float64), np.asarray(e, np.float64)), dtype=np.float64)


def pairwise_distance(points: np.ndarray, others: np.ndarray | None = None) -> np.ndarray:
    """Distances (K) modulo the six equivalents between (n, 2) and (m, 2) (D, E) sets: (n, m)."""
    others = points if others is None else others
    eq = np.asarray(equivalents(points[:, 0], points[:, 1]), dtype=np.float64)  # (n, 6, 2)
    diff = eq[:, :, None, :] - others[None, None, :, :]
    return np.sqrt(np.min(np.sum(diff**2, axis=-1), axis=1))


def find_modes(
    d, e, *, bandwidth_k: float = 0.4, min_mass: float = 0.02, max_points: int = 2000
) -> list[PosteriorMode]:
    """Returns the posterior modes of samples (d, e) in K, densest first.

    Args:
      d, e: (n,) sample arrays in K (any of the six equivalents).
      bandwidth_k: kernel width and link radius in K.
      min_mass: modes holding a smaller share of the samples are dropped (their mass is lost).
      max_points: samples beyond this are ignored (the first max_points are used), bounding cost.
    """
    pts = fold(d, e)[:max_points]
    n = pts.shape[0]
    if n == 0:
        return []
    dist = pairwise_distance(pts)
    density = np.exp(-0.5 * (dist / bandwidth_k) ** 2).sum(axis=1)
    # Quick-shift: parent = densest neighbour within the bandwidth that is denser than oneself.
    denser = density[None, :] > density[:, None]
    near = dist <= bandwidth_k
    candidates = np.where(denser & near, density[None, :], -np.inf)
    parent = np.where(np.isfinite(candidates.max(axis=1)), candidates.argmax(axis=1), np.arange(n))
    root = parent.copy()
    for _ in range(n):
        nxt = parent[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    modes = []
    for r in np.unique(root):
        members = np.flatnonzero(root == r)
        mass = members.size / n
        if mass >= min_mass:
            modes.append(PosteriorMode(float(pts[r, 0]), float(pts[r, 1]), mass, float(density[r]), members))
    return sorted(modes, key=lambda m: -m.density)
