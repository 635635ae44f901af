"""Magnetic susceptibility per mole of ion (cgs: emu/mol) from a ligand-field Hamiltonian.

Zero field: Van Vleck linear response, chi_aa = N_A g^2 mu_B^2 / (k_B T) * R_a(H / T)
(see `_spectral`), powder chi = (chi_xx + chi_yy + chi_zz) / 3, exact for linear response.
Finite field B: chi = M / B with M = -N_A g mu_B <J . b> for H + g mu_B B (J . b), averaged
over field directions b (`sphere.hemisphere_quadrature`); this is what a SQUID reports.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.constants import MUB_OVER_KB_K_PER_OE, NA_MUB2_OVER_KB_EMU_K_PER_MOL, NA_MUB_EMU_PER_MOL
from lfjax.physics.blocks import chi_axes_axial, chi_axes_blocks, is_axial
from lfjax.physics._chunks import DEFAULT_BUDGET_BYTES, map_chunked
from lfjax.physics._spectral import thermal_mean, van_vleck_ratio
from lfjax.physics.hamiltonian import hamiltonian, is_real, stevens_params
from lfjax.physics.ions import Ion
from lfjax.physics.second_order import chi_t_powder_de
from lfjax.physics.operators import spin_matrices
from lfjax.physics.sphere import field_symmetry, hemisphere_quadrature


def _temps(temps_k, dtype):
    temps = jnp.asarray(temps_k, dtype=dtype)
    if temps.ndim != 1:
        raise ValueError(f"temps_k must be one-dimensional; got shape {temps.shape}")
    return temps


def _van_vleck_axes(ion: Ion, h, temps):
    """chi_xx, chi_yy, chi_zz (emu/mol) for h (..., N, N): shape (..., n_T, 3)."""
    real = not jnp.iscomplexobj(h)
    jx, jy, jz = spin_matrices(ion.j)
    if real:  # keep real: i J_y is real antisymmetric, flagged by sign -1
        ops, signs = np.stack([jx.real, (1j * jy).real, jz.real]), (1, -1, 1)
    else:
        ops, signs = np.stack([jx, jy, jz]), (1, 1, 1)
    ratio = van_vleck_ratio(h, jnp.asarray(ops, dtype=h.dtype), 1.0 / temps, signs)
    return NA_MUB2_OVER_KB_EMU_K_PER_MOL * ion.g**2 * ratio / temps[:, None]


def _flat_params(params: Mapping[str, object]):
    """(names, values (n, n_params), batch shape S) of a parameter dict."""
    names, values = stevens_params(params)
    return names, values.reshape((-1, values.shape[-1])), values.shape[:-1]


def chi_axes(ion: Ion, params: Mapping[str, object], temps_k, dtype=None,
             budget_bytes: float = DEFAULT_BUDGET_BYTES) -> jnp.ndarray:
    """Zero-field chi_xx, chi_yy, chi_zz in emu/mol.

    Args:
      ion: the ion (`lfjax.ion`).
      params: dict name -> array (one shape S), kelvin; names as in `hamiltonian.stevens_params`.
      temps_k: temperatures in K, shape (n_T,).
      dtype: real precision (default: the parameters', at least float32).
      budget_bytes: bound on the temporaries of one chunk of the batch: large batches run in
        chunks (`jax.lax.map`, Hamiltonians built inside each chunk), never as one
        (n, n_T, N, N) array.

    Returns:
      Array of shape S + (n_T, 3).
    """
    names, flat, batch = _flat_params(params)
    rdtype = jnp.dtype(dtype or jnp.result_type(flat.dtype, jnp.float32))
    temps = _temps(temps_k, rdtype)
    itemsize = rdtype.itemsize * (1 if is_real(names) else 2)
    per_item = 8 * itemsize * (temps.size + 3) * ion.dim**2

    if is_axial(names):  # diagonal in |m>: no eigh, O(N) per temperature (`blocks`)
        per_item = 8 * rdtype.itemsize * temps.size * ion.dim
        out = map_chunked(lambda v: chi_axes_axial(ion, names, v.astype(rdtype), temps), (flat,), per_item,
                          budget_bytes)
        return out.reshape(batch + out.shape[1:])

    def general(values, temps):
        h = hamiltonian(ion, dict(zip(names, jnp.moveaxis(values, -1, 0))), dtype=rdtype)
        return _van_vleck_axes(ion, h, temps)

    n_rot = field_symmetry(names)[0]
    path = _blocks_exact_jvp(ion, names, n_rot, general) if n_rot >= 3 else general
    fn = lambda values: path(values, temps)  # noqa: E731  (n blocks by m mod n for n >= 3, `blocks`)
    out = map_chunked(fn, (flat.astype(rdtype),), per_item, budget_bytes)
    return out.reshape(batch + out.shape[1:])


def _blocks_exact_jvp(ion: Ion, names, n_rot: int, exact):
    """(values (n, n_p), temps (n_T,)) -> chi axes from the block path, with `exact`'s derivatives."""

    @jax.custom_jvp
    def fast(values, temps):
        return chi_axes_blocks(ion, names, values, temps, n_rot)

    @fast.defjvp
    def _jvp(primals, tangents):
        return fast(*primals), jax.jvp(exact, primals, tangents)[1]

    return fast


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


#: Parameter names that the two-block tridiagonal path (`second_order`) serves at zero field.
_SECOND_ORDER = {"B20", "B22"}


def second_order_values(params: Mapping[str, object]):
    """(D, E) arrays when `params` holds only B20/B22 (or D/E) terms, else None."""
    names, values = stevens_params(params)
    if not set(names) <= _SECOND_ORDER:
        return None
    get = lambda n: values[..., names.index(n)] if n in names else jnp.zeros(values.shape[:-1], values.dtype)
    return 3.0 * get("B20"), get("B22")


def _fast_de_exact_jvp(ion: Ion, dtype, budget_bytes):
    """chi T (D, E) from the tridiagonal path, with the exact general path's derivatives."""

    def exact(d, e, temps):
        chi = jnp.mean(chi_axes(ion, {"B20": d / 3.0, "B22": e}, temps, dtype=dtype, budget_bytes=budget_bytes), -1)
        return chi * temps

    @jax.custom_jvp
    def fast(d, e, temps):
        d, e = jnp.broadcast_arrays(d, e)
        flat = jnp.stack([d.reshape(-1), e.reshape(-1)], -1)
        per_item = 16 * jnp.dtype(dtype).itemsize * temps.size * ion.dim
        out = map_chunked(lambda de: chi_t_powder_de(ion, de[:, 0], de[:, 1], temps, dtype=dtype), (flat,),
                          per_item, budget_bytes)
        return out.reshape(d.shape + temps.shape)

    @fast.defjvp
    def _jvp(primals, tangents):
        return fast(*primals), jax.jvp(exact, primals, tangents)[1]

    return fast


def chi_t_powder(ion: Ion, params: Mapping[str, object], temps_k, field_oe=0.0, dtype=None,
                 budget_bytes: float = DEFAULT_BUDGET_BYTES) -> jnp.ndarray:
    """Powder chi T in emu K/mol, shape S + (n_T,): zero-field Van Vleck, or M/B x T at a field.

    `field_oe` = 0 (a Python number) selects the zero-field formula; otherwise the finite-field
    powder average is used (scalar field, or one per point broadcast against S + (n_T,)).

    At zero field, parameters with only second-order terms B20, B22 (or D, E) take the two-block
    tridiagonal path (`second_order.chi_t_powder_de`, Kramers ions in float32, as accurate as the
    general path) with the general path's exact derivatives; axial terms only take the diagonal
    path (`blocks`); terms with every q a multiple of n >= 3 (D3d, D4h, D3h presets) take the
    n-block path (`blocks.chi_axes_blocks`, general-path derivatives); every other set takes the general Van Vleck path (`chi_axes`). All of them
    run large batches in chunks whose temporaries stay within `budget_bytes`.
    """
    temps = jnp.asarray(temps_k)
    if isinstance(field_oe, (int, float)) and field_oe == 0:
        de = second_order_values(params)
        if de is not None:
            rdtype = jnp.dtype(dtype or jnp.result_type(de[0].dtype, jnp.float32))
            if ion.kramers and rdtype == jnp.float32:
                fast = _fast_de_exact_jvp(ion, rdtype, budget_bytes)
                return fast(de[0].astype(rdtype), de[1].astype(rdtype), _temps(temps_k, rdtype))
        chi = jnp.mean(chi_axes(ion, params, temps_k, dtype=dtype, budget_bytes=budget_bytes), axis=-1)
    else:
        chi = chi_powder_finite_field(ion, params, temps_k, field_oe, dtype=dtype)
    return chi * temps.astype(chi.dtype)
