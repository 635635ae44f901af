"""Ligand-field levels and the ground doublet's g-tensor: what bulk data measure of a ligand field.

χT(T) and M(H) see the ligand field through its level scheme and the Zeeman response of the
lowest levels, so sets of Stevens parameters far apart can share them. These functions give, for
any batch of parameters:

- `levels(ion, params)`: the 2J+1 energies (K) above the ground level, ascending. For a Kramers
  ion (half-integer J) they come in degenerate pairs.
- `ground_g(ion, params)`: the principal g-values of the two lowest states as an effective spin
  1/2, ascending (K-independent, dimensionless). With P the projector on those states,
  (g g^T)_ab = 2 g_J^2 Re Tr(P J_a P J_b), whose eigenvalues are the squared principal g-values
  (for a pure |±m> doublet: g_z = 2 g_J m, g_x = g_y = 0, or g_J (J + 1/2) for m = 1/2). For a
  Kramers doublet this is the doublet's g-tensor; for a non-Kramers ion it is the effective
  (Ising-like) g of the two lowest states, meaningful when they are close.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax.numpy as jnp
import numpy as np

from lfjax.physics import _host_eigh
from lfjax.physics.hamiltonian import hamiltonian
from lfjax.physics.ions import Ion
from lfjax.physics.operators import spin_matrices


def _spectrum(ion: Ion, params: Mapping[str, object], dtype=None):
    h = hamiltonian(ion, params, dtype=dtype)
    energies, vecs = _host_eigh.eigh(h)
    return energies - energies[..., :1], vecs


def levels_and_g(ion: Ion, params: Mapping[str, object], dtype=None):
    """(`levels`, `ground_g`) from one diagonalisation."""
    energies, vecs = _spectrum(ion, params, dtype)
    pair = vecs[..., :2]  # (..., N, 2)
    j_ops = jnp.asarray(np.stack(spin_matrices(ion.j)), dtype=jnp.result_type(pair.dtype, jnp.complex64))
    m = jnp.einsum("...ia,dij,...jb->...dab", jnp.conj(pair), j_ops, pair)  # (..., 3, 2, 2)
    gg = 2 * ion.g**2 * jnp.real(jnp.einsum("...aij,...bji->...ab", m, m))
    return energies, jnp.sqrt(jnp.clip(jnp.linalg.eigvalsh(gg), 0.0, None))


def levels(ion: Ion, params: Mapping[str, object], dtype=None):
    """Energies above the ground level (K), shape (..., 2J+1), ascending."""
    return _spectrum(ion, params, dtype)[0]


def ground_g(ion: Ion, params: Mapping[str, object], dtype=None):
    """Principal g-values of the two lowest states (effective spin 1/2), shape (..., 3), ascending."""
    return levels_and_g(ion, params, dtype)[1]
