"""Mean (molecular) field between magnetic ions: H_eff = H + lambda M, solved self-consistently.

Convention (cgs, per mole of ion): lambda in mol/emu, M in emu/mol, fields in Oe, so
lambda M is a field in Oe. lambda > 0 is ferromagnetic (the neighbours' moments add to the
applied field), lambda < 0 antiferromagnetic. Along a field direction b the moment solves
  M = M_0(H + lambda M),
where M_0(H) is the single-ion moment along b. In the linear regime M_0 = chi_0 H, so
M = chi_0 H / (1 - lambda chi_0): chi = chi_0 / (1 - lambda chi_0) per direction, valid while
lambda chi_0 < 1 (above an ordering transition).

Relation to an isotropic exchange. For H_ex = -2 J_ex sum_<ij> J_i . J_j (each pair once, z
neighbours, J_ex > 0 ferromagnetic), the mean field on ion i is -2 z J_ex J_i . <J>; with
Zeeman term + g mu_B B . J_i and <J> = -m / (g mu_B) (m the moment per ion) this is
g mu_B J_i . B_mf with B_mf = 2 z J_ex m / (g^2 mu_B^2). Per mole, M = N_A m, so
  lambda = 2 z J_ex / (N_A g^2 mu_B^2) = 2 (z J_ex / k_B) / (g^2 * 0.3751481 emu K/mol)
with z J_ex / k_B in K (`lambda_from_zj`). For the convention H_ex = -J_ex sum_<ij> J_i . J_j
use half of that.

Solver (`solve`): Newton iterations on r(M) = M - M_0(H + lambda M), from M = 0, each from M_0
and its field derivative (one diagonalisation per iteration), run until every point's step is
below `tol` relative (or `n_iter` steps; inside jit a `while_loop` stops at the slowest point).
The first step is the linear-response value chi_0 H / (1 - lambda chi_0); convergence is quadratic
in the paramagnetic regime (1 - lambda M_0' > 0), typically 3-4 steps to 1e-6, which the final step below squares (its error is of order the square of the last step). The returned value
is one further Newton step from the stopped-gradient iterate,
  M = M_k + (M_0(H + lambda M_k) - M_k) / (1 - lambda s),
with M_k and the slope s (from the last iteration) held constant under differentiation: at the
fixed point its derivative is the implicit-function one, dM = dM_0 / (1 - lambda M_0'), so
gradients are exact (forward and reverse mode) and need no derivative of the iterations.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lfjax.constants import NA_MUB2_OVER_KB_EMU_K_PER_MOL

#: Most Newton steps of `solve` before the final (differentiable) step.
DEFAULT_ITERATIONS = 12

#: Relative step below which `solve` stops iterating, per real precision.
TOLERANCE = {8: 1e-6, 4: 1e-3}


def lambda_from_zj(zj_k, g: float, pair_factor: float = 2.0):
    """Mean-field constant lambda (mol/emu) for an exchange z J_ex / k_B in K.

    Args:
      zj_k: z J_ex / k_B in kelvin (> 0 ferromagnetic).
      g: the Lande factor g_J.
      pair_factor: 2 for H_ex = -2 J_ex sum_<ij> J_i . J_j (default), 1 for -J_ex sum_<ij> J_i . J_j.
    """
    return pair_factor * zj_k / (g**2 * NA_MUB2_OVER_KB_EMU_K_PER_MOL)


def solve(moment_fn, theta, field, lam, n_iter: int = DEFAULT_ITERATIONS, tol: float | None = None):
    """Solves M = moment_fn(theta, field + lam M) elementwise.

    Args:
      moment_fn: (theta, H_eff (Oe, shape X)) -> M_0 (emu/mol, shape X), elementwise in the
        field (each entry depends only on its own field), differentiable.
      theta: the model (a pytree, e.g. the Hamiltonian); held constant inside the iterations.
      field: applied field in Oe, shape X.
      lam: lambda in mol/emu, broadcastable to X.
      n_iter: most Newton steps, starting from M = 0.
      tol: stop when every |step| <= tol (|M| + 1e-30) (default `TOLERANCE` of the precision).

    Returns:
      M in emu/mol, shape X, with implicit-function derivatives (see the module docstring).
    """
    theta_c, field_c, lam_c = jax.lax.stop_gradient((theta, field, lam))
    m_init = jnp.zeros_like(field_c * lam_c)
    if tol is None:
        tol = TOLERANCE.get(jnp.dtype(m_init.dtype).itemsize, 1e-6)

    def value_and_slope(h_eff):
        return jax.jvp(lambda b: moment_fn(theta_c, b), (h_eff,), (jnp.ones_like(h_eff),))

    def damped(slope):
        # Damped where the linearisation is unstable (near or past an ordering transition).
        denom = 1.0 - lam_c * slope
        return jnp.where(denom > 0.1, denom, 0.1)

    def body(carry):
        i, m, _, _ = carry
        m0, slope = value_and_slope(field_c + lam_c * m)
        step = (m0 - m) / damped(slope)
        return i + 1, m + step, slope, jnp.max(jnp.abs(step) - tol * (jnp.abs(m + step) + 1e-30))

    def cond(carry):
        i, _, _, excess = carry
        return (i < n_iter) & (excess > 0)

    start = (jnp.asarray(0), m_init, jnp.zeros_like(m_init), jnp.asarray(jnp.inf, m_init.dtype))
    _, m_k, slope, _ = jax.lax.while_loop(cond, body, start)
    m0 = moment_fn(theta, field + lam * m_k)
    return m_k + (m0 - m_k) / (1.0 - lam_c * slope)


def residual(moment_fn, theta, field, lam, m):
    """|M - M_0(H + lambda M)| in emu/mol: how far `m` is from self-consistency."""
    return jnp.abs(m - moment_fn(theta, field + lam * m))
