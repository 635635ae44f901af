"""Quadratures over field directions for powder averages of M(B) . B / |B|.

Three symmetries of b -> M(b) . b reduce the sphere to a small wedge:
- time reversal: M(-b) . (-b) = M(b) . b, so the upper hemisphere (cos theta in [0, 1]) suffices;
- a real ligand field (only cosine, q >= 0, Stevens terms): complex conjugation maps
  H_LF + c b.J to H_LF + c (b_x J_x - b_y J_y + b_z J_z) with the same spectrum, so the integrand
  is even in phi (mirror phi -> -phi);
- every present q a multiple of n (`field_symmetry`): H_LF is invariant under a turn by 2 pi / n
  about z, so the integrand has period 2 pi / n in phi; with only q = 0 it does not depend on phi.

For n = 1 or 2 (fields such as DE, D2h, general) the likelihood's symmetry group contains axis
permutations, which a product rule in (theta, phi) breaks (powder M of equivalent parameter sets
then differs by the rule's error). There the default is a Lebedev rule (`lebedev_quadrature`),
itself invariant under the octahedral group, reduced to one representative per orbit of the sign
flips that leave the integrand unchanged (time reversal b -> -b; the mirror y -> -y of a real field;
for n = 2 also the turn by pi about z, hence for a real n = 2 field one octant), with each
representative weighted by its whole orbit, so points on the boundary planes count once.

For n >= 3 (and when n_theta / n_phi are given) `powder_quadrature` integrates cos theta by Gauss-Legendre on [0, 1] and phi by the trapezoid rule
over one period, or over half a period [0, pi / n] (end nodes at half weight) with the mirror. The
phi rule is exact for harmonics of M(b) . b in phi below `n_phi` (the equivalent number of
nodes on the full circle), so the wedge costs n_phi / (2 n) + 1 directions per polar node instead
of n_phi. The cos-theta rule is exact for polynomials of degree < 2 n_theta; its error for a
strongly anisotropic (Ising) ground doublet in a field is set by the width of the step of M near
the equator, ~ k_B T / (g_eff mu_B B) (see tests/physics/test_magnetization.py for the measured
convergence).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from lfjax.physics.operators import parse_stevens_name

#: Default (n_theta, n_phi) of the powder rule per rotation order n about z (0: axial; n 1 and 2 use the
#: Lebedev rule unless n_theta or n_phi is given). Chosen from
#: the convergence table of `benchmarks/powder_quadrature.py`: powder M at 2 K, 100 Oe to 7 T,
#: within 2e-3 of a (64, 96) rule for ligand fields of a few K to hundreds of K (tests check it).
DEFAULT_RULES = {0: (16, 1), 1: (16, 48), 2: (16, 48), 3: (6, 18), 4: (12, 24), 6: (12, 24)}

#: Lebedev order (scipy.integrate.lebedev_rule) of the default rule for n = 1 and 2, from the same
#: convergence table (powder M within 2e-3 of a fine rule, including Ising doublets along x, y or z).
DEFAULT_LEBEDEV_ORDER = 41


def default_rule(n_rot: int) -> tuple[int, int]:
    """(n_theta, n_phi) used when a caller gives none."""
    return DEFAULT_RULES.get(n_rot, DEFAULT_RULES[1])


@functools.lru_cache(maxsize=None)
def hemisphere_quadrature(n_theta: int = 8, n_phi: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Returns (directions (n, 3), weights (n,)) on the upper hemisphere, weights summing to 1.

    Gauss-Legendre in cos(theta) on [0, 1] times the midpoint rule in phi over [0, 2 pi) (exact for
    trigonometric polynomials of degree < n_phi). Makes no use of the ligand field's symmetry.
    """
    if n_theta < 1 or n_phi < 1:
        raise ValueError(f"n_theta and n_phi must be >= 1; got {n_theta}, {n_phi}")
    phi = 2 * np.pi * (np.arange(n_phi) + 0.5) / n_phi
    return _product(n_theta, phi, np.full(n_phi, 1.0 / n_phi))


def _product(n_theta: int, phi: np.ndarray, w_phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = np.polynomial.legendre.leggauss(n_theta)
    cos_t, w_t = (nodes + 1) / 2, weights / 2
    sin_t = np.sqrt(1 - cos_t**2)
    dirs = np.stack(
        [
            (sin_t[:, None] * np.cos(phi)[None, :]).ravel(),
            (sin_t[:, None] * np.sin(phi)[None, :]).ravel(),
            np.repeat(cos_t, phi.size),
        ],
        axis=-1,
    )
    dirs[np.abs(dirs) < 1e-15] = 0.0  # exact zeros keep b_y = 0 directions real
    return dirs, (w_t[:, None] * w_phi[None, :]).ravel()


def field_symmetry(names: tuple[str, ...]) -> tuple[int, bool]:
    """(n, mirror) of a ligand field with Stevens terms `names` (see the module docstring).

    n = 0 for an axial field (only q = 0), otherwise the gcd of the |q| present; mirror is True
    when no sine-type (q < 0) term appears. D and E count as B20 and B22.
    """
    qs = []
    for name in names:
        if name in ("D", "E"):
            qs.append(0 if name == "D" else 2)
        else:
            qs.append(parse_stevens_name(name)[1])
    n = 0
    for q in qs:
        n = math.gcd(n, abs(q))
    return n, all(q >= 0 for q in qs)


def _sign_group(n_rot: int, mirror: bool) -> np.ndarray:
    """Sign flips (g, 3) of b that leave M(b) . b unchanged (see the module docstring)."""
    gens = [np.array([-1.0, -1.0, -1.0])]  # time reversal
    if mirror:
        gens.append(np.array([1.0, -1.0, 1.0]))
    if n_rot % 2 == 0 and n_rot > 0:
        gens.append(np.array([-1.0, -1.0, 1.0]))
    group = {(1.0, 1.0, 1.0)}
    while True:
        new = {tuple(np.array(a) * g) for a in group for g in gens} | group
        if new == group:
            return np.array(sorted(group))
        group = new


@functools.lru_cache(maxsize=None)
def lebedev_quadrature(order: int, n_rot: int = 1, mirror: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Lebedev rule of `order` reduced by the sign flips of (n_rot, mirror): (dirs (n, 3), weights (n,)).

    Every point is replaced by the lexicographically largest image under the group and the weights
    of coinciding images are summed, so the reduced rule integrates every integrand that is
    invariant under the group exactly as the full rule does. Weights sum to 1.
    """
    from scipy.integrate import lebedev_rule

    if n_rot not in (1, 2):
        raise ValueError(f"the Lebedev powder rule serves n_rot 1 or 2; got {n_rot}")
    pts, w = lebedev_rule(order)
    pts = pts.T.copy()
    pts[np.abs(pts) < 1e-14] = 0.0
    images = _sign_group(n_rot, mirror)[:, None, :] * pts[None]  # (g, n, 3)
    key = np.round(images, 12)
    order_idx = np.lexsort((key[..., 2], key[..., 1], key[..., 0]), axis=0)[-1]  # largest image per point
    canon = key[order_idx, np.arange(pts.shape[0])]
    uniq, inverse = np.unique(canon, axis=0, return_inverse=True)
    weights = np.zeros(uniq.shape[0])
    np.add.at(weights, inverse.ravel(), w)
    dirs = uniq / np.linalg.norm(uniq, axis=1, keepdims=True)
    dirs[np.abs(dirs) < 1e-14] = 0.0
    return dirs, weights / weights.sum()


@functools.lru_cache(maxsize=None)
def powder_quadrature(
    n_rot: int, mirror: bool, n_theta: int | None = None, n_phi: int | None = None, order: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Directions (n, 3) and weights (n,) (summing to 1) on the irreducible wedge of the sphere.

    Args:
      n_rot: rotation order about z (0: axial, phi-independent; 1: no rotation symmetry).
      mirror: the integrand is even in phi (real ligand field).
      n_theta: Gauss-Legendre nodes in cos(theta) on [0, 1].
      n_phi: equivalent number of trapezoid nodes on the full circle (ignored when axial).
      order: Lebedev order (n_rot 1 or 2 only).
      Defaults: for n_rot 1 or 2 with neither n_theta nor n_phi given, the reduced Lebedev rule of
      `DEFAULT_LEBEDEV_ORDER` (invariant under axis permutations); otherwise the product rule with
      `default_rule(n_rot)`.
    """
    if n_rot in (1, 2) and (order is not None or (n_theta is None and n_phi is None)):
        return lebedev_quadrature(order or DEFAULT_LEBEDEV_ORDER, n_rot, mirror)
    if order is not None:
        raise ValueError(f"a Lebedev order applies to n_rot 1 or 2 only; got n_rot = {n_rot}")
    n_theta = n_theta or default_rule(n_rot)[0]
    n_phi = n_phi or default_rule(n_rot)[1]
    if n_theta < 1 or n_phi < 1 or n_rot < 0:
        raise ValueError(f"n_theta, n_phi must be >= 1 and n_rot >= 0; got {n_theta}, {n_phi}, {n_rot}")
    if n_rot == 0:
        return _product(n_theta, np.zeros(1), np.ones(1))
    period = 2 * np.pi / n_rot
    if mirror:
        m = max(1, math.ceil(n_phi / (2 * n_rot)))
        phi = np.linspace(0.0, period / 2, m + 1)
        w = np.full(m + 1, 1.0 / m)
        w[[0, -1]] /= 2
        return _product(n_theta, phi, w)
    m = max(1, math.ceil(n_phi / n_rot))
    return _product(n_theta, period * np.arange(m) / m, np.full(m, 1.0 / m))
