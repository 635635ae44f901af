"""Zero-field Van Vleck susceptibility of an axial ligand field without diagonalisation.

With only q = 0 terms (B20, B40, B60) the Hamiltonian is diagonal in |J, m>:
E_m = sum_k B_k0 <m|O_k^0|m> (K). Then, with p_m = exp(-E_m / T) / Z,

  chi_zz T = C g^2 sum_m p_m m^2                                (J_z is diagonal),
  chi_xx T = chi_yy T = C g^2 sum_{a != b} |<a|J_x|b>|^2 T (p_a - p_b) / (E_b - E_a),

with C = N_A mu_B^2 / k_B (emu K/mol) and <m+-1|J_x|m> = sqrt(J(J+1) - m(m+-1)) / 2 the only
non-zero elements of J_x. The Van Vleck weight T (p_a - p_b) / (E_b - E_a) is evaluated as
exp(-(min(E_a, E_b) - E_0) / T) / Z' * phi(|E_b - E_a| / T), phi(x) = (1 - exp(-x)) / x (phi(0) = 1),
with E_0 the ground level subtracted, so float32 stays accurate for splittings of thousands of
kelvin at 1.8 K and degenerate pairs (m = +-1/2 of a Kramers ion) take the exact limit smoothly.
Powder chi = (2 chi_xx + chi_zz) / 3. Cost: O(2J + 1) per temperature, no eigh.
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np

from lfjax.constants import NA_MUB2_OVER_KB_EMU_K_PER_MOL
from lfjax.physics.ions import Ion
from lfjax.physics.operators import spin_matrices, stevens_operator

#: The Stevens terms this path serves.
AXIAL_NAMES = ("B20", "B40", "B60")


@functools.lru_cache(maxsize=None)
def _structure(j: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(diag O_k^0 (3, N), m (N,), |<m|J_x|m-1>|^2 (N - 1,)) for m = J ... -J."""
    diag = np.stack([np.real(np.diag(stevens_operator(j, k, 0))) for k in (2, 4, 6)])
    jx = np.real(spin_matrices(j)[0])
    m = np.real(np.diag(spin_matrices(j)[2]))
    return diag, m, np.diag(jx, k=1) ** 2


def _phi(x):
    """(1 - exp(-x)) / x for x >= 0, with phi(0) = 1 and a series below 1e-3 (smooth gradients)."""
    small = x < 1e-3
    safe = jnp.where(small, 1.0, x)
    return jnp.where(small, 1.0 - x / 2 + x * x / 6, -jnp.expm1(-safe) / safe)


def axial_levels(ion: Ion, b20, b40, b60, dtype=jnp.float32):
    """Levels E_m (K) for m = J ... -J, shape S + (2J + 1,), of H = B20 O20 + B40 O40 + B60 O60."""
    diag, _, _ = _structure(ion.j)
    b = jnp.stack(jnp.broadcast_arrays(*(jnp.asarray(x, dtype) for x in (b20, b40, b60))), axis=-1)
    return b @ jnp.asarray(diag, dtype)


def chi_t_axes_axial(ion: Ion, b20, b40, b60, temps_k, dtype=jnp.float32):
    """(chi_xx T, chi_zz T) in emu K/mol, each shape S + (n_T,), S the broadcast shape of the B's (K)."""
    _, m, jx2 = _structure(ion.j)
    levels = axial_levels(ion, b20, b40, b60, dtype)
    levels = levels - jnp.min(levels, axis=-1, keepdims=True)  # ground level at 0
    temps = jnp.asarray(temps_k, dtype)
    x = levels[..., None, :] / temps[:, None]  # S, T, N
    boltz = jnp.exp(-x)
    z = jnp.sum(boltz, axis=-1)
    c = NA_MUB2_OVER_KB_EMU_K_PER_MOL * ion.g**2
    chi_zz_t = c * jnp.sum(boltz * jnp.asarray(m**2, dtype), axis=-1) / z
    lo = jnp.minimum(x[..., :-1], x[..., 1:])
    gap = jnp.abs(x[..., 1:] - x[..., :-1])
    pair = jnp.exp(-lo) * _phi(gap)  # S, T, N - 1: neighbours (m, m - 1), both orders summed below
    chi_xx_t = c * 2.0 * jnp.sum(pair * jnp.asarray(jx2, dtype), axis=-1) / z
    return chi_xx_t, chi_zz_t


def chi_t_powder_axial(ion: Ion, b20, b40, b60, temps_k, dtype=jnp.float32):
    """Zero-field powder chi T (emu K/mol), shape S + (n_T,): (2 chi_xx + chi_zz) T / 3."""
    xx, zz = chi_t_axes_axial(ion, b20, b40, b60, temps_k, dtype)
    return (2.0 * xx + zz) / 3.0
