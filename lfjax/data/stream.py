"""On-the-fly training batches: prior draw -> simulated powder chi T -> error model -> noise.

No curve is ever stored: every call simulates fresh curves from a key, so a training step
can run this inside its jit and a resumed run that folds the step into the key sees the
same batches. Zero field uses the fast second-order path `chi_t_powder_de` in float32
(agrees with float64 to ~1e-5 for Kramers ions); field_oe > 0 uses the exact finite-field
powder average (M/H, much slower).

Error model (per ion, docs/physics.md): chi_exp = f_m chi + chi_dia, i.e.
chi T_exp = f_m chi T + chi_dia T; then relative point noise chi T_exp (1 + noise_rel eps).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lfjax.data.config import DataConfig
from lfjax.data.prior import sample_theta
from lfjax.physics.error_model import apply_errors_chi_t
from lfjax.physics.ions import ion as make_ion
from lfjax.physics.second_order import chi_t_powder_de


def simulate_chi_t(cfg: DataConfig, d_k, e_k, dtype=jnp.float32) -> jnp.ndarray:
    """Noise-free powder chi T (emu K/mol per ion) on cfg's grid, shape d_k.shape + (n_T,)."""
    the_ion = make_ion(cfg.ion)
    temps = cfg.temps_k()
    if cfg.field_oe == 0:
        return chi_t_powder_de(the_ion, d_k, e_k, temps, dtype=dtype)
    from lfjax.physics.susceptibility import chi_powder_finite_field

    chi = chi_powder_finite_field(the_ion, {"D": d_k, "E": e_k}, temps, cfg.field_oe, dtype=dtype)
    return (chi * jnp.asarray(temps, chi.dtype)).astype(dtype)


def observe(key, cfg: DataConfig, theta, chi_t) -> jnp.ndarray:
    """Applies the error model of theta (..., 4) and relative point noise to chi T (..., n_T)."""
    out = apply_errors_chi_t(chi_t, cfg.temps_k(), theta[..., 2], theta[..., 3])
    if cfg.noise_rel > 0:
        out = out * (1 + cfg.noise_rel * jax.random.normal(key, out.shape, out.dtype))
    return out


def make_batch(key, cfg: DataConfig, batch_size: int, norm=None, sharding=None) -> dict[str, jnp.ndarray]:
    """One batch of simulated measurements.

    Args:
      key: a JAX key (e.g. `jax.random.fold_in(data_key, step)`).
      cfg: prior, error model and grid.
      batch_size: number of curves B.
      norm: optional `Normalisation`; if given, the batch also holds the network input "x".
      sharding: optional sharding of the batch axis (data parallel training).

    Returns:
      dict with "theta" (B, 4) = (D [K], E [K], chi_dia [emu/mol], f_m), "chi_t" (B, n_T) the
      observed chi T in emu K/mol, and "x" (B, n_T) the normalised curve when `norm` is given.
    """
    k_theta, k_noise = jax.random.split(key)
    theta = sample_theta(k_theta, batch_size, cfg)
    if sharding is not None:
        theta = jax.lax.with_sharding_constraint(theta, sharding)
    chi_t = observe(k_noise, cfg, theta, simulate_chi_t(cfg, theta[:, 0], theta[:, 1]))
    batch = {"theta": theta, "chi_t": chi_t}
    if norm is not None:
        batch["x"] = norm.normalise(chi_t)
    return batch
