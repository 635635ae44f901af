"""Symmetry-adapted zero-field susceptibility: axial fields need no diagonalisation, n-fold ones
split into n small blocks (`chi_axes_blocks`, below).

With only q = 0 Stevens terms (B20, B40, B60: axial presets D4d, D-infinity-h, S8 to k <= 6)
H is diagonal in |J, m>: E_m = sum_k B_k0 O_k0(m). J_z is diagonal and J_x, J_y couple m to
m +- 1 only, so the Van Vleck sums (see `_spectral`) reduce to O(N) terms per temperature:
  R_z = sum_m m^2 w_m / Z,
  R_x = R_y = 2 sum_m |<m+1|J_x|m>|^2 g(x_m, x_{m+1}) / Z,   |<m+1|J_x|m>|^2 = (J(J+1) - m(m+1)) / 4,
with x_m = (E_m - E_min) / T, w_m = exp(-x_m), Z = sum_m w_m and
g(a, b) = -f[a, b] = exp(-min(a, b)) (1 - exp(-|a - b|)) / |a - b| (-> w at a = b), the same
degeneracy-safe divided difference as the general path (evaluated from the w's, `_g_pairs`), so
values agree to round-off and derivatives (plain autodiff) stay finite at degeneracies.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from lfjax.constants import NA_MUB2_OVER_KB_EMU_K_PER_MOL
from lfjax.physics.ions import Ion
from lfjax.physics.operators import operator_stack, parse_stevens_name, spin_matrices


def is_axial(names: tuple[str, ...]) -> bool:
    """True when every Stevens term has q = 0 (H diagonal in |J, m>)."""
    return all(parse_stevens_name(n)[1] == 0 for n in names)


def chi_axes_axial(ion: Ion, names: tuple[str, ...], values, temps) -> jnp.ndarray:
    """chi_xx, chi_yy, chi_zz (emu/mol) for axial terms `names`: values (..., n_p), temps (n_T,).

    Returns shape (..., n_T, 3), as `susceptibility.chi_axes`.
    """
    diag = np.real(np.stack([np.diag(o) for o in operator_stack(ion.j, names)]))  # (n_p, N)
    levels = jnp.einsum("...p,pm->...m", values, jnp.asarray(diag, values.dtype))
    x = (levels - jnp.min(levels, axis=-1, keepdims=True))[..., None, :] / temps[:, None]  # (..., n_T, N)
    w = jnp.exp(-x)
    z = jnp.sum(w, axis=-1)
    m = ion.j - np.arange(ion.dim)
    r_z = jnp.einsum("...tm,m->...t", w, jnp.asarray(m**2, values.dtype)) / z
    g = _g_pairs(w[..., :-1], w[..., 1:], x[..., :-1], x[..., 1:])
    ladder = (ion.j * (ion.j + 1) - m[1:] * (m[1:] + 1)) / 4  # |<m+1|J_x|m>|^2 for m = J-1, ..., -J
    r_x = 2 * jnp.einsum("...tm,m->...t", g, jnp.asarray(ladder, values.dtype)) / z
    ratio = jnp.stack([r_x, r_x, r_z], axis=-1)
    return NA_MUB2_OVER_KB_EMU_K_PER_MOL * ion.g**2 * ratio / temps[:, None]


# --- q multiples of n >= 3: n blocks by m mod n --------------------------------------------------
#
# With only q = 0 (mod n) terms, H couples index i = J - m only to i +- n, so it splits into n
# blocks of indices c, c + n, ... (c = 0..n-1). J_z is diagonal within a block, J_+ maps block c
# to block c - 1 (mod n), and for n >= 3 the tensor is uniaxial (chi_xx = chi_yy). With
# x = beta (E - E_min) over all levels, w = exp(-x), Z = sum w and g(a, b) the divided difference
# of the axial path:
#   R_z = sum_c sum_ij |(V_c^+ J_z V_c)_ij|^2 g(x_ci, x_cj) / Z,
#   R_x = R_y = 1/2 sum_c sum_ij |(V_{c-1}^+ J_+ V_c)_ij|^2 g(x_{c-1,i}, x_cj) / Z.
# Time reversal (i -> N - 1 - i, with signs (-1)^i and complex conjugation) maps block c onto
# block p(c) = (N - 1 - c) mod n with the same spectrum: V_p = Q conj(V_c) for a signed
# permutation Q, so only one block of each pair is diagonalised, and partner blocks (and partner
# links c -> c - 1 and p(c - 1) -> p(c)) enter the sums once with multiplicity 2.


def _g_pairs(wa, wb, xa, xb):
    """g(a, b) = exp(-min(a, b)) (1 - exp(-|a - b|)) / |a - b| from w = exp(-x): no transcendental.

    |a - b| >= 0.5: (w_a - w_b) / (x_b - x_a) (relative round-off <= 4 eps); below, the series
    of (1 - exp(-d)) / d to d^12 (truncation < 2e-15).
    """
    d = jnp.abs(xa - xb)
    far = d >= 0.5
    direct = (wa - wb) / jnp.where(far, xb - xa, 1.0)
    series = jnp.zeros_like(d)
    for k in range(12, -1, -1):
        series = series * (-d) + 1.0 / math.factorial(k + 1)
    return jnp.where(far, direct, jnp.maximum(wa, wb) * series)


class BlockPlan:
    """Static index bookkeeping of the n blocks of an ion (dimension N) for rotation order n."""

    def __init__(self, j: float, n: int):
        dim = int(round(2 * j)) + 1
        self.n, self.dim = n, dim
        self.idx = [np.arange(c, dim, n) for c in range(n)]
        self.partner = [(dim - 1 - c) % n for c in range(n)]
        self.reps = [c for c in range(n) if c <= self.partner[c]]  # diagonalised blocks
        jx, jy, jz = spin_matrices(j)
        jp = jx + 1j * jy
        self.m = [np.real(np.diag(jz))[i] for i in self.idx]
        self.jp = {c: np.real(jp[np.ix_(self.idx[(c - 1) % n], self.idx[c])]) for c in range(n)}
        # links c -> c - 1 (mod n), one per time-reversal pair, with multiplicity
        seen, self.links = set(), []
        for c in range(n):
            if c in seen:
                continue
            twin = self.partner[(c - 1) % n]
            seen |= {c, twin}
            self.links.append((c, 1 if twin == c else 2))

    def q_matrix(self, c: int) -> np.ndarray:
        """Signed permutation Q with H_p(c) = Q conj(H_c) Q^T: (s, s)."""
        p, ic = self.partner[c], self.idx[c]
        pos = {i: k for k, i in enumerate(self.idx[p])}
        q = np.zeros((ic.size, ic.size))
        for l, i in enumerate(ic):
            q[pos[self.dim - 1 - i], l] = (-1.0) ** i
        return q


def chi_axes_blocks(ion: Ion, names: tuple[str, ...], values, temps, n: int) -> jnp.ndarray:
    """chi_xx, chi_yy, chi_zz (emu/mol) for terms with q = 0 (mod n), n >= 3: values (..., n_p).

    Same values as the general path to round-off (see the comment above); forward only: callers
    attach the general path's exact derivatives (`susceptibility.chi_axes`). Shape (..., n_T, 3).
    """
    plan = BlockPlan(ion.j, n)
    ops = operator_stack(ion.j, names)
    real = bool(np.all(np.abs(ops.imag) < 1e-14))
    cdt = values.dtype if real else jnp.result_type(values.dtype, jnp.complex64)
    levels, vecs = {}, {}
    for c in plan.reps:
        block = ops[:, plan.idx[c]][:, :, plan.idx[c]]
        h = jnp.einsum("...p,pij->...ij", values.astype(cdt), jnp.asarray(block.real if real else block, cdt))
        levels[c], vecs[c] = jnp.linalg.eigh(h)
        p = plan.partner[c]
        if p != c:
            q = jnp.asarray(plan.q_matrix(c), cdt)
            levels[p], vecs[p] = levels[c], jnp.einsum("kl,...lj->...kj", q, jnp.conj(vecs[c]))
    e_min = jnp.min(jnp.stack([levels[c][..., 0] for c in plan.reps], -1), -1)
    x = {c: (levels[c] - e_min[..., None])[..., None, :] / temps[:, None] for c in levels}  # (..., T, s)
    w = {c: jnp.exp(-x[c]) for c in x}
    z = sum(jnp.sum(w[c], -1) for c in range(n))

    def pair_sum(a2, ca, cb):  # sum_ij |A_ij|^2 g(x_ai, x_bj): a2 (..., s_a, s_b)
        g = _g_pairs(w[ca][..., :, None], w[cb][..., None, :], x[ca][..., :, None], x[cb][..., None, :])
        return jnp.einsum("...ij,...tij->...t", a2, g)

    r_z = 0.0
    for c in plan.reps:
        jz_t = jnp.einsum("...ki,k,...kj->...ij", jnp.conj(vecs[c]), jnp.asarray(plan.m[c], cdt), vecs[c])
        r_z = r_z + (1 if plan.partner[c] == c else 2) * pair_sum(jnp.abs(jz_t) ** 2, c, c)
    r_x = 0.0
    for c, mult in plan.links:
        t = (c - 1) % n
        jp_t = jnp.einsum("...ki,kl,...lj->...ij", jnp.conj(vecs[t]), jnp.asarray(plan.jp[c], cdt), vecs[c])
        r_x = r_x + mult * pair_sum(jnp.abs(jp_t) ** 2, t, c)
    r_x = r_x / 2
    ratio = jnp.stack([r_x, r_x, r_z], -1) / z[..., None]
    return NA_MUB2_OVER_KB_EMU_K_PER_MOL * ion.g**2 * ratio / temps[:, None]
