"""Chi T curves measured only above a cut-off temperature: training draws and the network input.

Real chi T curves often start above a model grid's lowest temperature, or their lowest points
carry what a single-ion model lacks (exchange between ions, slow relaxation) and are left out of
the analysis. A model trained with `DataConfig.t_cut_max_k > 0` sees, for a fraction
`CUT_FRACTION` of its training curves, only the grid points at or above a cut-off t_cut drawn
log-uniformly in [t_min_k, t_cut_max_k]; the other curves are whole (t_cut = t_min_k).

The network input is the observation's standardised features (`Normalisation.features`) with
the chi T points below t_cut set to 0 (the prior mean of every feature), followed by one number,
the cut-off's position (log t_cut - log t_min_k) / (log t_cut_max_k - log t_min_k) in [0, 1]
(0: whole curve). M(H) points are never cut. Without a cut-off range (t_cut_max_k = 0) the input
is the features alone, as for models trained before this option.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.data.config import DataConfig
from lfjax.data.normalise import Normalisation

#: Share of training curves that are cut (the rest are whole).
CUT_FRACTION = 0.5


def draw_cut(key, cfg: DataConfig, n: int) -> jnp.ndarray:
    """(n,) cut-off temperatures (K): t_min_k for whole curves, else log-uniform up to t_cut_max_k."""
    k_pick, k_t = jax.random.split(key)
    log_lo, log_hi = np.log(cfg.t_min_k), np.log(cfg.t_cut_max_k)
    cut = jnp.exp(log_lo + (log_hi - log_lo) * jax.random.uniform(k_t, (n,)))
    return jnp.where(jax.random.uniform(k_pick, (n,)) < CUT_FRACTION, cut, cfg.t_min_k).astype(jnp.float32)


def point_mask(cfg: DataConfig, t_cut_k) -> jnp.ndarray:
    """(..., n_points) True where a point is seen: chi T at T >= t_cut (t_cut_k (...,)), every M(H) point."""
    t_cut = jnp.asarray(t_cut_k, jnp.float32)[..., None]
    temps = jnp.asarray(cfg.temps_k(), jnp.float32)
    # a grid point within float32 rounding of the cut-off counts as measured
    chi = temps >= t_cut * (1.0 - 1e-5)
    if not cfg.n_mh:
        return chi
    return jnp.concatenate([chi, jnp.ones(chi.shape[:-1] + (cfg.n_mh,), bool)], axis=-1)


def network_input(norm: Normalisation, cfg: DataConfig, x, t_cut_k=None) -> jnp.ndarray:
    """Normalised observations x (..., n_points) -> network input (..., cfg.n_inputs).

    t_cut_k: cut-off temperatures (K), scalar or x's batch shape; None = whole curves. Ignored
    (and the input is the features alone) for models without a cut-off range.
    """
    f = norm.features(x)
    if cfg.t_cut_max_k <= 0:
        return f
    t_cut = jnp.broadcast_to(jnp.asarray(cfg.t_min_k if t_cut_k is None else t_cut_k, f.dtype), f.shape[:-1])
    f = jnp.where(point_mask(cfg, t_cut), f, 0.0)
    pos = (jnp.log(t_cut) - np.log(cfg.t_min_k)) / (np.log(cfg.t_cut_max_k) - np.log(cfg.t_min_k))
    return jnp.concatenate([f, jnp.clip(pos, 0.0, 1.0)[..., None].astype(f.dtype)], axis=-1)
