"""The prior over theta = (D, E, chi_dia, f_m), invariant under the six equivalence maps.

(D, E) in K: draw uniformly from the canonical wedge |D| <= d_max, 0 <= E <= |D| / 3 (area
density: |D| = d_max sqrt(u), a random sign, E = v |D| / 3), then apply one of the six maps
of docs/physics.md chosen uniformly: (D, E), (D, -E), ((3E - D)/2, +-(D + E)/2),
((-3E - D)/2, +-(D - E)/2). The maps form a group (rotations by 120 deg and reflections in
(D, sqrt(3) E)), so the prior is invariant under each of them and the posterior's six modes
carry equal weight. chi_dia ~ N(0, sigma_dia) in emu/mol, f_m ~ N(1, sigma_m).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lfjax.data.config import DataConfig
from lfjax.physics.equivalents import canonical, equivalents

#: Order of the columns of theta everywhere in lfjax (units: K, K, emu/mol, 1).
THETA_NAMES = ("D", "E", "chi_dia", "f_m")


def sample_canonical_de(key, n: int, d_max_k: float, dtype=jnp.float32) -> jnp.ndarray:
    """(n, 2) (D, E) in K, uniform on the wedge |D| <= d_max_k, 0 <= E <= |D| / 3."""
    k_r, k_sign, k_e = jax.random.split(key, 3)
    abs_d = d_max_k * jnp.sqrt(jax.random.uniform(k_r, (n,), dtype))
    sign = jnp.where(jax.random.bernoulli(k_sign, 0.5, (n,)), 1.0, -1.0).astype(dtype)
    e = jax.random.uniform(k_e, (n,), dtype) * abs_d / 3
    return jnp.stack([sign * abs_d, e], axis=-1)


def random_equivalent(key, de) -> jnp.ndarray:
    """Applies one of the six equivalence maps, uniformly at random, to each row of de (..., 2)."""
    choice = jax.random.randint(key, de.shape[:-1], 0, 6)
    eq = equivalents(de[..., 0], de[..., 1])  # (..., 6, 2)
    return jnp.take_along_axis(eq, choice[..., None, None], axis=-2)[..., 0, :]


def fold_theta(theta) -> jnp.ndarray:
    """(..., 4) theta -> the same with (D, E) replaced by its canonical equivalent (0 <= E <= |D|/3)."""
    de = canonical(theta[..., 0], theta[..., 1]).astype(theta.dtype)
    return jnp.concatenate([de, theta[..., 2:]], axis=-1)


def sample_theta(key, n: int, cfg: DataConfig, dtype=jnp.float32) -> jnp.ndarray:
    """(n, 4) prior draws of (D [K], E [K], chi_dia [emu/mol], f_m), see the module docstring."""
    k_de, k_map, k_dia, k_m = jax.random.split(key, 4)
    de = random_equivalent(k_map, sample_canonical_de(k_de, n, cfg.d_max_k, dtype))
    chi_dia = cfg.sigma_dia_emu_per_mol * jax.random.normal(k_dia, (n,), dtype)
    f_m = 1.0 + cfg.sigma_m * jax.random.normal(k_m, (n,), dtype)
    return jnp.concatenate([de, chi_dia[:, None], f_m[:, None]], axis=-1)
