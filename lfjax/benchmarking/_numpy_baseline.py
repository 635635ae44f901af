"""The numpy baseline a fitting code uses: np.linalg.eigh on (2J+1) matrices + Van Vleck sum.

The Van Vleck powder sum in level form (see `lfjax.physics.second_order`):
  chi T = N_A mu_B^2 g^2 / (3 k_B) * sum_a w_a (C_a + T V_a) / sum_a w_a,  w_a = exp(-E_a / T),
with M_ab = sum_alpha |<a|J_alpha|b>|^2, C_a = sum over degenerate b of M_ab and
V_a = sum over the other b of 2 M_ab / (E_b - E_a). Works on one matrix or a batch.
"""

from __future__ import annotations

import numpy as np

from lfjax.constants import NA_MUB2_OVER_KB_EMU_K_PER_MOL
from lfjax.physics.ions import Ion
from lfjax.physics.operators import operator_stack, spin_matrices


def hamiltonians(ion: Ion, names: tuple[str, ...], values: np.ndarray) -> np.ndarray:
    """H = sum_p values[..., p] O_p in K, complex128 (..., 2J+1, 2J+1); real parts only if all q >= 0."""
    ops = operator_stack(ion.j, names)
    if not np.iscomplexobj(values) and all("-" not in n for n in names):
        ops = ops.real
    return np.einsum("...p,pij->...ij", values, ops)


def chi_t_van_vleck(ion: Ion, h: np.ndarray, temps_k: np.ndarray, tol_k: float = 1e-4) -> np.ndarray:
    """Zero-field powder chi T (emu K/mol) for Hamiltonians h (..., N, N) in K; shape (..., n_T)."""
    levels, vecs = np.linalg.eigh(h)
    levels = levels - levels[..., :1]
    vh = np.conj(np.swapaxes(vecs, -1, -2))
    weights = sum(np.abs(vh @ op @ vecs) ** 2 for op in spin_matrices(ion.j))  # M_ab
    gap = levels[..., None, :] - levels[..., :, None]  # E_b - E_a
    degenerate = np.abs(gap) < tol_k
    curie = np.sum(np.where(degenerate, weights, 0.0), axis=-1)
    vanvleck = np.sum(np.where(degenerate, 0.0, 2 * weights / np.where(degenerate, 1.0, gap)), axis=-1)
    boltz = np.exp(-levels[..., None, :] / temps_k[:, None])  # (..., n_T, N)
    num = np.einsum("...tn,...n->...t", boltz, curie) + temps_k * np.einsum("...tn,...n->...t", boltz, vanvleck)
    return NA_MUB2_OVER_KB_EMU_K_PER_MOL * ion.g**2 / 3 * num / np.sum(boltz, axis=-1)


def chi_t_loop(ion: Ion, names: tuple[str, ...], values: np.ndarray, temps_k: np.ndarray) -> np.ndarray:
    """One curve at a time, as per-curve fitting codes do: values (n, n_params) -> (n, n_T)."""
    out = np.empty((values.shape[0], temps_k.size))
    for i, row in enumerate(values):
        out[i] = chi_t_van_vleck(ion, hamiltonians(ion, names, row), temps_k)
    return out


def chi_t_batched(ion: Ion, names: tuple[str, ...], values: np.ndarray, temps_k: np.ndarray) -> np.ndarray:
    """All curves at once: batched np.linalg.eigh on (n, N, N), vectorised sum -> (n, n_T)."""
    return chi_t_van_vleck(ion, hamiltonians(ion, names, values), temps_k)
