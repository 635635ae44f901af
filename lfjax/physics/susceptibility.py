"""Magnetic susceptibility per mole of ion (cgs: emu/mol) from a ligand-field Hamiltonian.

Zero field: Van Vleck linear response, chi_aa = N_A g^2 mu_B^2 / (k_B T) * R_a(H / T)
(see `_spectral`), powder chi = (chi_xx + chi_yy + chi_zz) / 3, exact for linear response.
Finite field B: chi = M / B with M = -N_A g mu_B <J . b> for H + g mu_B B (J . b), averaged
over field directions b (`sphere.hemisphere_quadrature`); this is what a SQUID reports.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax.numpy as jnp
import numpy as np

from lfjax.constants import MUB_OVER_KB_K_PER_OE, NA_MUB2_OVER_KB_EMU_K_PER_MOL, NA_MUB_EMU_PER_MOL
from lfjax.physics._spectral import thermal_mean, van_vleck_ratio
from lfjax.physics.hamiltonian import hamiltonian
from lfjax.physics.ions import Ion
from lfjax.physics.operators import spin_matrices
from lfjax.physics.sphere import hemisphere_quadrature


def _temps(temps_k, dtype):
    temps = jnp.asarray(temps_k, dtype=dtype)
    if temps.ndim != 1:
        raise ValueError(f"temps_k must be one-dimensional; got shape {temps.shape}")
    return temps


def chi_axes(ion: Ion, params: Mapping[str, object], temps_k, dtype=None) -> jnp.ndarray:
    """Zero-field chi_xx, chi_yy, chi_zz in emu/mol.

    Args:
      ion: the ion (`lfjax.ion`).
      params: dict name -> array (one shape S), kelvin; names as in `hamiltonian.stevens_params`.
      temps_k: temperatures in K, shape (n_T,).
      dtype: real precision (default: the parameters', at least float32).

    Returns:
      Array of shape S + (n_T, 3).
    """
    h = hamiltonian(ion, params, dtype=dtype)
    real = not jnp.iscomplexobj(h)
    temps = _temps(temps_k, jnp.real(h).dtype)
    jx, jy, jz = spin_matrices(ion.j)
    if real:  # keep real: i J_y is real antisymmetric, flagged by sign -1
        ops, signs = np.stack([jx.real, (1j * jy).real, jz.real]), (1, -1, 1)
    else:
        ops, signs = np.stack([jx, jy, jz]), (1, 1, 1)
    ratio = van_vleck_ratio(h, jnp.asarray(ops, dtype=h.dtype), 1.0 / temps, signs)
    return NA_MUB2_OVER_KB_EMU_K_PER_MOL * ion.g**2 * ratio / temps[:, None]


def chi_powder_finite_field(
    ion: Ion, params: Mapping[str, object], temps_k, field_oe, dtype=None, n_theta: int = 8, n_phi: int = 16
) -> jnp.ndarray:
    """Powder M / B in emu/mol at field `field_oe` (Oe, > 0), shape S + (n_T,).

    `field_oe` may be a scalar or broadcast against S + (n_T,) (a field per point).
    """
    h = hamiltonian(ion, params, dtype=dtype)
    rdtype = jnp.real(h).dtype
    cdtype = jnp.result_type(rdtype, jnp.complex64)
    temps = _temps(temps_k, rdtype)
    dirs, weights = hemisphere_quadrature(n_theta, n_phi)
    j_ops = np.stack(spin_matrices(ion.j))
    j_dir = jnp.asarray(np.einsum("da,aij->dij", dirs, j_ops), dtype=cdtype)  # (n_dir, N, N)
    field = jnp.asarray(field_oe, dtype=rdtype)
    zeeman_k_per_oe = ion.g * MUB_OVER_KB_K_PER_OE
    ops = j_dir[:, None, :, :]  # one operator (J . b) per direction
    if field.ndim == 0:  # one diagonalisation per direction serves every temperature
        h_tot = h.astype(cdtype)[..., None, :, :] + zeeman_k_per_oe * field * j_dir  # S, d, N, N
        mean_j = jnp.swapaxes(thermal_mean(h_tot, ops, 1.0 / temps)[..., 0], -1, -2)  # S, T, d
    else:  # a field per point: one diagonalisation per (point, direction)
        field = jnp.broadcast_to(field, h.shape[:-2] + temps.shape)
        h_tot = h.astype(cdtype)[..., None, None, :, :] + zeeman_k_per_oe * field[..., :, None, None, None] * j_dir
        beta = jnp.broadcast_to((1.0 / temps)[:, None, None], temps.shape + (j_dir.shape[0], 1))
        mean_j = thermal_mean(h_tot, ops, beta)[..., 0, 0]  # S, T, d
    moment = -NA_MUB_EMU_PER_MOL * ion.g * jnp.einsum("...d,d->...", mean_j, jnp.asarray(weights, rdtype))
    return moment / field


def chi_t_powder(ion: Ion, params: Mapping[str, object], temps_k, field_oe=0.0, dtype=None) -> jnp.ndarray:
    """Powder chi T in emu K/mol, shape S + (n_T,): zero-field Van Vleck, or M/B x T at a field.

    `field_oe` = 0 (a Python number) selects the zero-field formula; otherwise the finite-field
    powder average is used (scalar field, or one per point broadcast against S + (n_T,)).
    """
    temps = jnp.asarray(temps_k)
    if isinstance(field_oe, (int, float)) and field_oe == 0:
        chi = jnp.mean(chi_axes(ion, params, temps_k, dtype=dtype), axis=-1)
    else:
        chi = chi_powder_finite_field(ion, params, temps_k, field_oe, dtype=dtype)
    return chi * temps.astype(chi.dtype)
