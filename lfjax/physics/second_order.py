"""Fast powder chi T for the second-order model H = D[Jz^2 - J(J+1)/3] + E(Jx^2 - Jy^2).

H couples |m> only to |m +- 2>, so it splits into two tridiagonal blocks: P = {J, J-2, ...}
and Q = the rest. For half-integer J (Kramers ions) Q, ordered as -P, has exactly the same
matrix as P, so one eigh of size (2J+1)/2 gives the whole spectrum and Kramers partners are
exactly degenerate by construction. Jz acts within a block; Jx, Jy couple P to Q.

With levels E_a and powder weights M_ab = sum_alpha |<a|J_alpha|b>|^2 (T-independent), the
Van Vleck powder sum per level reads
  chi T = N_A mu_B^2 g^2 / (3 k_B) * sum_a w_a (C_a + T V_a) / sum_a w_a,   w_a = exp(-E_a / T),
  C_a = sum_{b: E_b = E_a} M_ab,   V_a = sum_{b: E_b != E_a} 2 M_ab / (E_b - E_a),
so each temperature costs N exponentials. Levels closer than `tol_k` count as degenerate
(error O((dE / T)^2)). This path is for throughput (training, benchmarks); for gradients use
`susceptibility.chi_t_powder`, whose derivatives are exact at degeneracies.

Kramers ions use the doublet form: with U the eigenvectors of the P block (Q has the same),
Z = U^T Jz_P U, X = U^T Jx_QP U, Y = U^T (i Jy)_QP U, the doublet-to-doublet weight is
W_ij = 2 Z_ij^2 + X_ij^2 + X_ji^2 + Y_ij^2 + Y_ji^2 (the sum of M over both partners of i and
of j), and chi T = N_A mu_B^2 g^2 / (6 k_B) * sum_i w_i (C_i + T V_i) / sum_i w_i over the
(2J+1)/2 doublets, evaluated as the pair sum sum_ij W_ij g_ij with g_ij = -f[x_i, x_j] (the
divided difference of exp(-x), x = E / T), which is the same sum without a degeneracy threshold
and without the cancellation of the level form (float32 agrees with float64 to ~1e-6). That part runs as fused elementwise loops with the batch as the minor axis:
only the eigh is a per-matrix call.
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np

from lfjax.constants import NA_MUB2_OVER_KB_EMU_K_PER_MOL
from lfjax.physics.ions import Ion


@functools.lru_cache(maxsize=None)
def _structure(j: float) -> dict[str, np.ndarray]:
    """Block bases and the T-, D-, E-independent matrices of the two-block form (numpy)."""
    dim = int(round(2 * j)) + 1
    x = j * (j + 1)
    m = j - np.arange(dim)
    m_p = m[0::2]
    m_q = -m_p if dim % 2 == 0 else m[1::2]

    def jp_elem(m_from):  # <m_from + 1| J+ |m_from>
        return np.sqrt(np.maximum(j * (j + 1) - m_from * (m_from + 1), 0.0))

    def block(mm):
        diag = mm**2 - x / 3
        # <m| (J+^2 + J-^2)/2 |m - 2> for consecutive entries m, m - 2 (any sign of ordering)
        hi = np.maximum(mm[:-1], mm[1:])
        off = 0.5 * jp_elem(hi - 2) * jp_elem(hi - 1)
        return diag, off

    diag_p, off_p = block(m_p)
    diag_q, off_q = block(m_q)
    jp_qp = np.where(m_q[:, None] == m_p[None, :] + 1, jp_elem(m_p)[None, :], 0.0)
    jm_qp = np.where(m_q[:, None] == m_p[None, :] - 1, jp_elem(m_p - 1)[None, :], 0.0)
    return dict(
        m_p=m_p, m_q=m_q, diag_p=diag_p, off_p=off_p, diag_q=diag_q, off_q=off_q,
        jx_qp=(jp_qp + jm_qp) / 2, ijy_qp=(jp_qp - jm_qp) / 2, kramers=np.array(dim % 2 == 0),
    )


def _tridiag(diag, off, d, e):
    """D * diag + E * off on the first off-diagonals: (..., n, n), in the dtype of d and e."""
    dtype = jnp.result_type(d, e)
    band = jnp.asarray(np.diag(off, 1) + np.diag(off, -1), dtype)
    return d[..., None, None] * jnp.asarray(np.diag(diag), dtype) + e[..., None, None] * band


def level_weights(ion: Ion, d, e, dtype=jnp.float32):
    """Levels (..., N) in K (ground = 0) and powder weights M_ab (..., N, N) for (D, E) in K."""
    s = _structure(ion.j)
    d = jnp.asarray(d, dtype=dtype)
    e = jnp.asarray(e, dtype=dtype)
    d, e = jnp.broadcast_arrays(d, e)
    h_p = _tridiag(s["diag_p"], s["off_p"], d, e).astype(dtype)
    e_p, u_p = jnp.linalg.eigh(h_p)
    if bool(s["kramers"]):
        e_q, u_q = e_p, u_p
    else:
        e_q, u_q = jnp.linalg.eigh(_tridiag(s["diag_q"], s["off_q"], d, e).astype(dtype))
    rot = lambda a, mat, b: jnp.einsum("...ki,kl,...lj->...ij", a, jnp.asarray(mat, dtype), b)
    z_p = rot(u_p, np.diag(s["m_p"]), u_p) ** 2
    z_q = rot(u_q, np.diag(s["m_q"]), u_q) ** 2
    perp = rot(u_q, s["jx_qp"], u_p) ** 2 + rot(u_q, s["ijy_qp"], u_p) ** 2  # (n_q, n_p)
    weights = jnp.concatenate(
        [
            jnp.concatenate([z_p, jnp.swapaxes(perp, -1, -2)], axis=-1),
            jnp.concatenate([perp, z_q], axis=-1),
        ],
        axis=-2,
    )
    levels = jnp.concatenate([e_p, e_q], axis=-1)
    return levels - jnp.min(levels, axis=-1, keepdims=True), weights


def _sparse_apply(mat: np.ndarray, cols):
    """(mat @ U) row by row for a constant sparse `mat`; `cols` lists U's rows as (..., n, batch)."""
    rows = []
    for r in range(mat.shape[0]):
        terms = [float(mat[r, k]) * cols[k] for k in np.flatnonzero(mat[r])]
        rows.append(functools.reduce(lambda a, b: a + b, terms) if terms else jnp.zeros_like(cols[0]))
    return rows


def _kramers_chi_t(ion: Ion, d, e, temps, dtype, tol_k: float):
    """Doublet form of chi T (see the module docstring) for flat d, e (batch,), shape (batch, n_T)."""
    s = _structure(ion.j)
    h_p = _tridiag(s["diag_p"], s["off_p"], d, e).astype(dtype)
    levels, vecs = jnp.linalg.eigh(h_p, symmetrize_input=False)  # (batch, n), (batch, n, n)
    u = jnp.transpose(vecs, (1, 2, 0))  # u[k] = row k of U, shape (n, batch)
    n = u.shape[0]

    def rotate(a_u):  # U^T (A U) as (n, n, batch) from the rows of A U
        return functools.reduce(lambda acc, k: acc + u[k][:, None, :] * a_u[k][None, :, :], range(1, n),
                                u[0][:, None, :] * a_u[0][None, :, :])

    z = rotate([float(s["m_p"][k]) * u[k] for k in range(n)])
    x = rotate(_sparse_apply(s["jx_qp"], u))
    y = rotate(_sparse_apply(s["ijy_qp"], u))
    x2, y2 = x * x, y * y
    weights = 2 * z * z + x2 + jnp.swapaxes(x2, 0, 1) + y2 + jnp.swapaxes(y2, 0, 1)  # W_ij, (n, n, batch)
    lv = jnp.transpose(levels - levels[:, :1])  # (n, batch), ascending from 0
    x = lv[None, :, :] / temps[:, None, None]  # (n_T, n, batch)
    w = jnp.exp(-x)
    # g_ij = -f[x_i, x_j] = exp(-min(x_i, x_j)) phi(|x_i - x_j|): no threshold, no cancellation.
    gap = jnp.abs(x[:, :, None, :] - x[:, None, :, :])  # (n_T, n, n, batch)
    safe = jnp.where(gap > 0, gap, 1.0)
    phi = jnp.where(gap > 0, -jnp.expm1(-safe) / safe, 1.0)
    g = jnp.maximum(w[:, :, None, :], w[:, None, :, :]) * phi
    num = jnp.sum(weights[None] * g, axis=(1, 2))  # (n_T, batch)
    const = NA_MUB2_OVER_KB_EMU_K_PER_MOL * ion.g**2 / 6
    return jnp.transpose(const * num / jnp.sum(w, axis=1))


def chi_t_powder_de(ion: Ion, d, e, temps_k, dtype=jnp.float32, tol_k: float | None = None):
    """Zero-field powder chi T (emu K/mol) for D, E in K; shape broadcast(d, e) + (n_T,).

    Args:
      ion: the ion.
      d, e: arrays of one (broadcastable) shape, kelvin.
      temps_k: (n_T,) temperatures in K.
      dtype: jnp.float32 (default, for throughput) or jnp.float64.
      tol_k: non-Kramers ions only (level form): level spacing (K) below which two levels count
        as degenerate (default 3e-3 in float32, 1e-4 in float64). Kramers ions use the
        threshold-free pair sum: float32 agrees with float64 to ~2e-6 (as the general path);
        non-Kramers ions have near-degenerate quasi-doublets whose float32 level errors cost
        up to ~1e-3 here — use float64 or `chi_t_powder` for them.
    """
    if tol_k is None:
        tol_k = 1e-4 if jnp.dtype(dtype) == jnp.float64 else 3e-3
    if ion.kramers:
        d, e = jnp.broadcast_arrays(jnp.asarray(d, dtype=dtype), jnp.asarray(e, dtype=dtype))
        temps = jnp.asarray(temps_k, dtype=dtype)
        flat = _kramers_chi_t(ion, d.reshape(-1), e.reshape(-1), temps, dtype, tol_k)
        return flat.reshape(d.shape + temps.shape)
    levels, weights = level_weights(ion, d, e, dtype)
    gap = levels[..., None, :] - levels[..., :, None]  # E_b - E_a
    degenerate = jnp.abs(gap) < tol_k
    curie = jnp.sum(jnp.where(degenerate, weights, 0.0), axis=-1)
    safe_gap = jnp.where(degenerate, 1.0, gap)
    vanvleck = jnp.sum(jnp.where(degenerate, 0.0, 2 * weights / safe_gap), axis=-1)
    temps = jnp.asarray(temps_k, dtype=dtype)
    boltz = jnp.exp(-levels[..., None, :] / temps[:, None])  # (..., n_T, N)
    num = jnp.einsum("...tn,...n->...t", boltz, curie) + temps * jnp.einsum("...tn,...n->...t", boltz, vanvleck)
    const = NA_MUB2_OVER_KB_EMU_K_PER_MOL * ion.g**2 / 3
    return const * num / jnp.sum(boltz, axis=-1)
