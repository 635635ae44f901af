"""Modes of a (D, E) posterior sample, folded onto the canonical wedge (numpy, kelvin).

Samples are folded onto the canonical wedge (0 <= E <= |D|/3) and compared with the distance
modulo the six equivalents (`lfjax.symmetry`), so a mode on a wedge edge is not split in two.
Density at each sample is the Gaussian kernel estimate `symmetry.kde_density`; each sample then points to the densest sample within one bandwidth
that is denser than itself (quick-shift). Following the pointers ends at a local density maximum:
that root is the mode, the samples reaching it are its members, their share is its mass.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from lfjax.symmetry import de_group, kde_density, pairwise_distance


@dataclasses.dataclass(frozen=True)
class PosteriorMode:
    """One mode: canonical (D, E) of its densest sample (K), posterior mass, member indices."""

    d_k: float
    e_k: float
    mass: float
    density: float
    members: np.ndarray


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
    group = de_group()
    draws = np.stack([np.asarray(d, np.float64), np.asarray(e, np.float64)], axis=-1)[:max_points]
    n = draws.shape[0]
    if n == 0:
        return []
    pts, density = kde_density(group, draws, bandwidth=bandwidth_k)
    dist = pairwise_distance(group, pts)
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
