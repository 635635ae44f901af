"""Batched Levenberg-Marquardt for (D, E) [+ chi_dia, f_m] on many curves and starts at once.

The model and residuals are those of `inference.refine` (relative residuals
r_i = (f_m chiT(D, E; T_i) + chi_dia T_i) / chiT_data_i - 1, zero field), but the curve comes
from the fast second-order path `chi_t_powder_de` (float64) and every (curve, start) pair is one
element of a single array program: B curves x S starts run in lockstep for a fixed number of
iterations. `inference.refine` (exact `chi_t_powder`, optimistix, one curve at a time) is the
user-facing refinement; this solver exists so that thousands of fits fit in an evaluation run
on a CPU.

It backs the least-squares baselines of `lfjax evaluate` only; the "lfjax refined" row runs
`inference.refine` itself. Float64 must be on (`compiled.require_x64`; `evaluate` does it).

Iteration (Marquardt's scaling): with J = dr/dp and the damping lambda,
  (J^T J + lambda diag(J^T J)) dp = -J^T r;
a step that lowers the RSS is taken and lambda /= 3, otherwise lambda *= 2 and the step is
rejected. Parameters are scaled to order one: p = (D [K], E [K], chi_dia [1e-3 emu/mol], f_m).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.inference.compiled import count_trace, require_x64
from lfjax.inference.likelihood import log_likelihood_from_rss
from lfjax.physics import chi_t_powder_de
from lfjax.physics.ions import Ion
from lfjax.symmetry import de_group, fold

_DIA_SCALE = 1e-3
_LAMBDA0 = 1e-2


def _residual_and_jac(ion: Ion, temps, y, p, free_errors: bool):
    """Relative residuals (..., n) and their Jacobian (..., n, P) at scaled parameters p (..., P)."""
    d, e = p[..., 0], p[..., 1]

    def curve(d_, e_):
        return chi_t_powder_de(ion, d_, e_, temps, dtype=jnp.float64)

    one, zero = jnp.ones_like(d), jnp.zeros_like(d)
    sim, dsim_dd = jax.jvp(curve, (d, e), (one, zero))
    _, dsim_de = jax.jvp(curve, (d, e), (zero, one))
    if free_errors:
        chi_dia, f_m = p[..., 2:3] * _DIA_SCALE, p[..., 3:4]
        model = f_m * sim + chi_dia * temps
        jac = jnp.stack([f_m * dsim_dd, f_m * dsim_de, jnp.broadcast_to(temps * _DIA_SCALE, sim.shape), sim], -1)
    else:
        model = sim
        jac = jnp.stack([dsim_dd, dsim_de], axis=-1)
    return model / y - 1.0, jac / y[..., None]


@functools.lru_cache(maxsize=16)
def make_solver(ion: Ion, temps_k: tuple[float, ...], free_errors: bool, n_iter: int = 60):
    """A jitted solver (chi_t (B, n), starts (B, S, P)) -> (p (B, S, P), rss (B, S)).

    P = 4 (D, E, chi_dia / 1e-3, f_m) with `free_errors`, else 2 (D, E; chi_dia = 0, f_m = 1).
    Compiles once per (B, S).
    """
    temps = np.asarray(temps_k, dtype=np.float64)

    def solve(chi_t, starts):
        count_trace("lsq.solve")
        y = chi_t[:, None, :]  # (B, 1, n)

        def rss_at(p):
            r, _ = _residual_and_jac(ion, temps, y, p, free_errors)
            return jnp.sum(r**2, axis=-1)

        def step(carry, _):
            p, lam, rss = carry
            r, jac = _residual_and_jac(ion, temps, y, p, free_errors)
            jtj = jnp.einsum("...ni,...nj->...ij", jac, jac)
            g = jnp.einsum("...ni,...n->...i", jac, r)
            diag = jnp.maximum(jnp.diagonal(jtj, axis1=-2, axis2=-1), 1e-12)
            a = jtj + lam[..., None, None] * jnp.eye(p.shape[-1]) * diag[..., None, :]
            dp = -jnp.linalg.solve(a, g[..., None])[..., 0]
            trial = p + dp
            new_rss = rss_at(trial)
            better = jnp.isfinite(new_rss) & (new_rss < rss)
            p = jnp.where(better[..., None], trial, p)
            rss = jnp.where(better, new_rss, rss)
            lam = jnp.clip(jnp.where(better, lam / 3, lam * 2), 1e-9, 1e9)
            return (p, lam, rss), None

        p0 = starts
        carry = (p0, jnp.full(p0.shape[:-1], _LAMBDA0), rss_at(p0))
        (p, _, rss), _ = jax.lax.scan(step, carry, None, length=n_iter)
        return p, rss

    return jax.jit(solve)


def fit(
    ion: Ion, temps_k, chi_t, starts_de, *, free_errors: bool, n_iter: int = 60,
    start_chi_dia=None, start_f_m=None,
) -> dict[str, np.ndarray]:
    """Least squares from S starts per curve for B curves.

    Args:
      ion: the ion; temps_k (n,) K; chi_t (B, n) measured chi T (emu K/mol, > 0).
      starts_de: (B, S, 2) start (D, E) in K.
      free_errors: fit chi_dia and f_m too (else fixed at 0 and 1).
      n_iter: LM iterations (fixed; every start runs all of them).
      start_chi_dia, start_f_m: (B, S) starts of the error parameters (default 0 and 1).

    Returns:
      dict of arrays over (B, S): "de" (B, S, 2) canonical (D, E) in K, "chi_dia" (emu/mol),
      "f_m", "rss", "log_likelihood" (profiled noise, as `refine.Solution.log_likelihood`).
    """
    chi_t = np.atleast_2d(np.asarray(chi_t, np.float64))
    starts_de = np.asarray(starts_de, np.float64)
    b, s = starts_de.shape[:2]
    if starts_de.shape != (b, s, 2) or chi_t.shape[0] != b:
        raise ValueError(f"starts_de must be (B, S, 2) with B = {chi_t.shape[0]} curves; got {starts_de.shape}")
    if not np.all(chi_t > 0):
        raise ValueError("chi T must be > 0 at every point for relative residuals")
    if free_errors:
        dia0 = np.zeros((b, s)) if start_chi_dia is None else np.asarray(start_chi_dia, np.float64)
        fm0 = np.ones((b, s)) if start_f_m is None else np.asarray(start_f_m, np.float64)
        starts = np.concatenate([starts_de, (dia0 / _DIA_SCALE)[..., None], fm0[..., None]], axis=-1)
    else:
        starts = starts_de
    require_x64("lsq.fit")
    solver = make_solver(ion, tuple(np.asarray(temps_k, np.float64).tolist()), free_errors, n_iter)
    p, rss = solver(jnp.asarray(chi_t), jnp.asarray(starts))
    p, rss = np.asarray(p), np.asarray(rss)
    de = fold(de_group(), p[..., :2])
    rss = np.where(np.isfinite(rss), rss, np.inf)
    return {
        "de": de,
        "chi_dia": p[..., 2] * _DIA_SCALE if free_errors else np.zeros((b, s)),
        "f_m": p[..., 3] if free_errors else np.ones((b, s)),
        "rss": rss,
        "log_likelihood": log_likelihood_from_rss(rss, chi_t.shape[1]),
    }


def best_solution(result: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The lowest-RSS start of each curve: arrays over (B,) (de: (B, 2))."""
    i = np.argmin(result["rss"], axis=1)
    return {k: np.take_along_axis(v, i.reshape((-1,) + (1,) * (v.ndim - 1)), axis=1)[:, 0] for k, v in result.items()}
