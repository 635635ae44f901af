"""On-the-fly training batches: prior draw -> simulated observables -> error model -> noise.

No curve is ever stored: every call simulates fresh curves from a key, so a training step
can run this inside its jit and a resumed run that folds the step into the key sees the
same batches.

Simulator paths for the powder chi T curve (float32 in training; each agrees with float64 to
~1e-6 relative on prior draws, tested):
- DE at zero field: the two-block tridiagonal path `chi_t_powder_de`;
- axial (B20, B40, B60 only) at zero field: the diagonal Van Vleck sums of `physics.blocks`
  (no eigh; with a mean field the exact per-direction correction, Gauss-Legendre over cos theta);
- any other model at zero field: the general Van Vleck path `chi_t_powder` (one eigh per curve),
  or `lfjax.physics.chi` with a mean field;
- field_oe > 0: the finite-field powder M/H (one eigh per field direction, 8 x 16 directions by
  default: ~100x the zero-field cost).
M(H) observables (`mh_temps_k` x `mh_fields_oe`) use `lfjax.physics.magnetization` (one eigh per
point and powder direction; see README for the cost per curve).

Error model (per ion, docs/physics.md): chi_exp = f_m chi + chi_dia, i.e.
chi T_exp = f_m chi T + chi_dia T, and M_exp = f_m M + chi_dia H (mu_B per ion); then relative
point noise x (1 + noise_rel eps) on every point.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.constants import NA_MUB_EMU_PER_MOL
from lfjax.data.config import DataConfig
from lfjax.data.cut import draw_cut
from lfjax.data.prior import model_spec_of, n_model_params, sample_theta
from lfjax.physics.blocks import chi_axes_axial
from lfjax.physics.blocks import is_axial as _axial_names
from lfjax.physics.error_model import apply_errors_chi_t
from lfjax.physics.ions import ion as make_ion
from lfjax.physics.second_order import chi_t_powder_de

#: Gauss-Legendre nodes in cos(theta) for the powder average of an axial mean-field correction.
_GL_NODES = 24


def simulate_chi_t(cfg: DataConfig, d_k, e_k, dtype=jnp.float32) -> jnp.ndarray:
    """DE model: noise-free powder chi T (emu K/mol per ion) on cfg's grid, shape d_k.shape + (n_T,)."""
    the_ion = make_ion(cfg.ion)
    temps = cfg.temps_k()
    if cfg.field_oe == 0:
        return chi_t_powder_de(the_ion, d_k, e_k, temps, dtype=dtype)
    from lfjax.physics.susceptibility import chi_powder_finite_field

    chi = chi_powder_finite_field(the_ion, {"D": d_k, "E": e_k}, temps, cfg.field_oe, dtype=dtype)
    return (chi * jnp.asarray(temps, chi.dtype)).astype(dtype)


def is_axial(cfg: DataConfig) -> bool:
    """True when the model's Stevens terms are a subset of (B20, B40, B60) with identity constraint."""
    if cfg.is_de:
        return False
    spec = model_spec_of(cfg)
    return _axial_names(spec.stevens_names) and np.allclose(spec.constraint_array(), np.eye(spec.n_params))


def _axial_mean_field_chi_t(xx_t, zz_t, lam, temps):
    """Powder chi T with chi_b / (1 - lambda chi_b) per field direction b, chi_b = sin^2 chi_xx + cos^2 chi_zz."""
    u, w = np.polynomial.legendre.leggauss(_GL_NODES)  # cos(theta) on [-1, 1], weights sum to 2
    u2 = jnp.asarray(u**2, xx_t.dtype)
    chi_b = (xx_t[..., None] * (1 - u2) + zz_t[..., None] * u2) / temps[:, None]
    corrected = chi_b / (1.0 - lam[..., None, None] * chi_b)
    return jnp.sum(corrected * jnp.asarray(w / 2, xx_t.dtype), axis=-1) * temps


def simulate(cfg: DataConfig, theta, dtype=jnp.float32) -> dict[str, jnp.ndarray]:
    """Noise-free observables of theta (B, n_theta) without chi_dia / f_m (the mean field included).

    Returns:
      dict with "chi_t" (B, n_T) powder chi T in emu K/mol per ion and, with M(H) observables,
      "mh" (B, n_mh) powder M in mu_B per ion at `cfg.mh_points()`.
    """
    if cfg.is_de and not cfg.has_mean_field:
        out = {"chi_t": simulate_chi_t(cfg, theta[:, 0], theta[:, 1], dtype)}
    else:
        out = {"chi_t": _chi_t_general(cfg, theta, dtype)}
    if cfg.n_mh:
        out["mh"] = _mh(cfg, theta, dtype)
    return out


def _params(cfg: DataConfig, theta) -> dict:
    if cfg.is_de:
        return {"D": theta[:, 0], "E": theta[:, 1]}
    return model_spec_of(cfg).stevens_params(theta[:, : n_model_params(cfg)])


def _lambda(cfg: DataConfig, theta):
    return theta[:, -1] if cfg.has_mean_field else None


def _chi_t_general(cfg: DataConfig, theta, dtype) -> jnp.ndarray:
    the_ion = make_ion(cfg.ion)
    temps_np = cfg.temps_k()
    temps = jnp.asarray(temps_np, dtype)
    lam = _lambda(cfg, theta)
    if cfg.field_oe == 0 and is_axial(cfg):
        p = _params(cfg, theta)
        names = tuple(p)
        values = jnp.stack([p[n].astype(dtype) for n in names], axis=-1)
        axes_t = chi_axes_axial(the_ion, names, values, temps) * temps[:, None]  # (B, n_T, 3), emu K/mol
        xx_t, zz_t = axes_t[..., 0], axes_t[..., 2]
        if lam is None:
            return (2.0 * xx_t + zz_t) / 3.0
        return _axial_mean_field_chi_t(xx_t, zz_t, lam.astype(dtype), temps)
    params = {k: v.astype(dtype) for k, v in _params(cfg, theta).items()}
    if lam is None:
        from lfjax.physics.susceptibility import chi_t_powder

        field = 0.0 if cfg.field_oe == 0 else float(cfg.field_oe)
        return chi_t_powder(the_ion, params, temps_np, field, dtype=dtype).astype(dtype)
    from lfjax.physics.magnetization import chi

    fields = np.full_like(temps_np, float(cfg.field_oe))
    return (chi(the_ion, params, temps_np, fields, mean_field=lam.astype(dtype), dtype=dtype) * temps).astype(dtype)


def _mh(cfg: DataConfig, theta, dtype) -> jnp.ndarray:
    from lfjax.physics.magnetization import magnetization

    the_ion = make_ion(cfg.ion)
    temps, fields = cfg.mh_points()
    params = {k: v.astype(dtype) for k, v in _params(cfg, theta).items()}
    lam = _lambda(cfg, theta)
    mean_field = 0.0 if lam is None else lam.astype(dtype)
    return magnetization(the_ion, params, temps, fields, "powder", mean_field=mean_field, dtype=dtype).astype(dtype)


def observe(key, cfg: DataConfig, theta, chi_t, mh=None):
    """Applies the error model of theta (..., n_theta) and relative point noise.

    Returns chi T (..., n_T) (emu K/mol) when `mh` is None, else (chi T, M (..., n_mh) in mu_B/ion).
    """
    p = n_model_params(cfg)
    chi_dia, f_m = theta[..., p], theta[..., p + 1]
    out = apply_errors_chi_t(chi_t, cfg.temps_k(), chi_dia, f_m)
    k_chi, k_mh = jax.random.split(key) if mh is not None else (key, None)
    if cfg.noise_rel > 0:
        out = out * (1 + cfg.noise_rel * jax.random.normal(k_chi, out.shape, out.dtype))
    if mh is None:
        return out
    _, fields = cfg.mh_points()
    m_out = f_m[..., None] * mh + chi_dia[..., None] * jnp.asarray(fields, mh.dtype) / NA_MUB_EMU_PER_MOL
    if cfg.noise_rel > 0:
        m_out = m_out * (1 + cfg.noise_rel * jax.random.normal(k_mh, m_out.shape, m_out.dtype))
    return out, m_out


def observation(batch: dict) -> jnp.ndarray:
    """The network's observation vector (B, n_points): chi T, then the M(H) points if any."""
    if "mh" in batch:
        return jnp.concatenate([batch["chi_t"], batch["mh"]], axis=-1)
    return batch["chi_t"]


def make_batch(key, cfg: DataConfig, batch_size: int, norm=None, sharding=None) -> dict[str, jnp.ndarray]:
    """One batch of simulated measurements.

    Args:
      key: a JAX key (e.g. `jax.random.fold_in(data_key, step)`).
      cfg: model, prior, error model and observables.
      batch_size: number of curves B.
      norm: optional `Normalisation`; if given, the batch also holds the network input "x".
      sharding: optional sharding of the batch axis (data parallel training).

    Returns:
      dict with "theta" (B, n_theta) (`prior.theta_names`; DE: D [K], E [K], chi_dia [emu/mol], f_m),
      "chi_t" (B, n_T) the observed chi T in emu K/mol, "mh" (B, n_mh) the observed M in mu_B per
      ion (M(H) models only), "t_cut_k" (B,) the cut-off temperatures (K) of models trained on cut
      curves (`lfjax.data.cut`; the points below stay in "chi_t"), and "x" (B, n_points) the
      normalised observation when `norm` is given.
    """
    k_theta, k_noise = jax.random.split(key)
    theta = sample_theta(k_theta, batch_size, cfg)
    if sharding is not None:
        theta = jax.lax.with_sharding_constraint(theta, sharding)
    clean = simulate(cfg, theta)
    if "mh" in clean:
        chi_t, mh = observe(k_noise, cfg, theta, clean["chi_t"], clean["mh"])
        batch = {"theta": theta, "chi_t": chi_t, "mh": mh}
    else:
        batch = {"theta": theta, "chi_t": observe(k_noise, cfg, theta, clean["chi_t"])}
    if cfg.t_cut_max_k > 0:
        batch["t_cut_k"] = draw_cut(jax.random.fold_in(key, 1), cfg, batch_size)
    if norm is not None:
        batch["x"] = norm.normalise(observation(batch))
    return batch
