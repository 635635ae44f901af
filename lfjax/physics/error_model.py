"""The experimental error model: chi_exp = f_m * chi + chi_dia (emu/mol, per ion)."""

from __future__ import annotations

import jax.numpy as jnp


def apply_errors(chi_emu_per_mol, chi_dia_emu_per_mol=0.0, f_m=1.0):
    """Returns f_m * chi + chi_dia; f_m and chi_dia broadcast against chi's leading axes.

    chi_dia is a constant diamagnetic-correction (or TIP) error in emu/mol; f_m is a molar-mass
    (or weighing) factor. Both are per curve: shape (...) for chi of shape (..., n_T).
    """
    chi = jnp.asarray(chi_emu_per_mol)
    f_m = jnp.asarray(f_m, dtype=chi.dtype)[..., None]
    chi_dia = jnp.asarray(chi_dia_emu_per_mol, dtype=chi.dtype)[..., None]
    return f_m * chi + chi_dia


def apply_errors_chi_t(chi_t, temps_k, chi_dia_emu_per_mol=0.0, f_m=1.0):
    """The error model on chi T (emu K/mol): f_m * chiT + chi_dia * T."""
    temps = jnp.asarray(temps_k, dtype=jnp.asarray(chi_t).dtype)
    return apply_errors(jnp.asarray(chi_t) / temps, chi_dia_emu_per_mol, f_m) * temps
