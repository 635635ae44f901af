"""Symmetry-adapted zero-field susceptibility: axial ligand fields need no diagonalisation.

With only q = 0 Stevens terms (B20, B40, B60: axial presets D4d, D-infinity-h, S8 to k <= 6)
H is diagonal in |J, m>: E_m = sum_k B_k0 O_k0(m). J_z is diagonal and J_x, J_y couple m to
m +- 1 only, so the Van Vleck sums (see `_spectral`) reduce to O(N) terms per temperature:
  R_z = sum_m m^2 w_m / Z,
  R_x = R_y = 2 sum_m |<m+1|J_x|m>|^2 g(x_m, x_{m+1}) / Z,   |<m+1|J_x|m>|^2 = (J(J+1) - m(m+1)) / 4,
with x_m = (E_m - E_min) / T, w_m = exp(-x_m), Z = sum_m w_m and
g(a, b) = -f[a, b] = exp(-min(a, b)) (1 - exp(-|a - b|)) / |a - b| (-> w at a = b), the same
degeneracy-safe divided difference as the general path, so values agree to round-off and
derivatives (plain autodiff of smooth functions) stay finite at degeneracies.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from lfjax.constants import NA_MUB2_OVER_KB_EMU_K_PER_MOL
from lfjax.physics._spectral import _phi
from lfjax.physics.ions import Ion
from lfjax.physics.operators import operator_stack, parse_stevens_name


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
    a, b = x[..., :-1], x[..., 1:]
    g = jnp.exp(-jnp.minimum(a, b)) * _phi(jnp.abs(a - b))
    ladder = (ion.j * (ion.j + 1) - m[1:] * (m[1:] + 1)) / 4  # |<m+1|J_x|m>|^2 for m = J-1, ..., -J
    r_x = 2 * jnp.einsum("...tm,m->...t", g, jnp.asarray(ladder, values.dtype)) / z
    ratio = jnp.stack([r_x, r_x, r_z], axis=-1)
    return NA_MUB2_OVER_KB_EMU_K_PER_MOL * ion.g**2 * ratio / temps[:, None]
