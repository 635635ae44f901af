"""The prior over theta = (D, E, chi_dia, f_m), invariant under the six equivalence maps.

(D, E) in K: draw uniformly (by area) from the canonical wedge |D| <= d_max, 0 <= E <= |D| / 3
(`symmetry.sample_wedge`), then apply one of the six maps
of docs/physics.md chosen uniformly: (D, E), (D, -E), ((3E - D)/2, +-(D + E)/2),
((-3E - D)/2, +-(D - E)/2). The maps form a group (rotations by 120 deg and reflections in
(D, sqrt(3) E)), so the prior is invariant under each of them and the posterior's six modes
carry equal weight. chi_dia ~ N(0, sigma_dia) in emu/mol, f_m ~ N(1, sigma_m).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lfjax.data.config import DataConfig
from lfjax.symmetry import de_group, fold, random_image, sample_wedge

#: Order of the columns of theta everywhere in lfjax (units: K, K, emu/mol, 1).
THETA_NAMES = ("D", "E", "chi_dia", "f_m")


def random_equivalent(key, de) -> jnp.ndarray:
    """Applies one of the six equivalence maps, uniformly at random, to each row of de (..., 2)."""
    return random_image(de_group(), key, de).astype(de.dtype)


def fold_theta(theta) -> jnp.ndarray:
    """(..., 4) theta -> the same with (D, E) replaced by its canonical equivalent (0 <= E <= |D|/3)."""
    de = fold(de_group(), theta[..., :2]).astype(theta.dtype)
    return jnp.concatenate([de, theta[..., 2:]], axis=-1)


def sample_theta(key, n: int, cfg: DataConfig, dtype=jnp.float32) -> jnp.ndarray:
    """(n, 4) prior draws of (D [K], E [K], chi_dia [emu/mol], f_m), see the module docstring."""
    k_de, k_map, k_dia, k_m = jax.random.split(key, 4)
    de = random_equivalent(k_map, sample_wedge(k_de, n, cfg.d_max_k, dtype))
    chi_dia = cfg.sigma_dia_emu_per_mol * jax.random.normal(k_dia, (n,), dtype)
    f_m = 1.0 + cfg.sigma_m * jax.random.normal(k_m, (n,), dtype)
    return jnp.concatenate([de, chi_dia[:, None], f_m[:, None]], axis=-1)
