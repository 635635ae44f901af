"""Magnetisation and susceptibility at finite field, single crystal or powder, with a mean field.

For a field B (Oe) along the unit vector b, the ion's Hamiltonian is H_LF + g mu_B B (J . b)
(kelvin) and its moment along b is M = -g <J . b> (mu_B per ion), the thermal average over the
levels at temperature T (`_spectral.zeeman_thermal_mean`: one diagonalisation per (point,
direction), degeneracy-safe derivatives; the value needs only <i|J . b|i>, summed along the three
bands of J . b, so the diagonalisation is nearly all the cost; on the CPU it runs on every core,
`_host_eigh`). A powder is the average of M over b on the irreducible wedge of
the sphere that the ligand field's symmetry leaves (`sphere.powder_quadrature`); directions in the
xz plane of a real ligand field, and those on its mirror planes (azimuth k pi / n, turned into the xz
plane with B_kq -> (-1)^(qk/n) B_kq), are diagonalised in real arithmetic. With a mean field lambda
(mol/emu) the moment is solved self-consistently along each direction before averaging
(`mean_field`). chi = M / H in emu/mol (N_A mu_B = 5584.939 emu/mol per mu_B/ion); at H = 0 it is
the Van Vleck limit b . chi_0 . b, with chi_0 / (1 - lambda chi_0) per direction under a mean field.

Temperatures and fields pair point by point (broadcast to one length n_points), so one call
serves an M(H) sweep at one T, an M(T) sweep at one H, or any mix. Batches of parameter sets
are evaluated in memory-bounded chunks.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax.numpy as jnp
import numpy as np

from lfjax.constants import MUB_OVER_KB_K_PER_OE, NA_MUB_EMU_PER_MOL
from lfjax.errors import ParameterError
from lfjax.physics import mean_field as _mf
from lfjax.physics._chunks import map_chunked
from lfjax.physics._serial import after
from lfjax.physics._spectral import van_vleck_ratio, zeeman_thermal_mean
from lfjax.physics.blocks import is_axial
from lfjax.physics.hamiltonian import hamiltonian, is_real, stevens_params
from lfjax.physics.ions import Ion
from lfjax.physics.operators import parse_stevens_name, spin_matrices
from lfjax.physics.sphere import field_symmetry, powder_quadrature
from lfjax.physics.susceptibility import chi_axes

#: Hamiltonian-sized temporaries per (point, direction) that a chunk's memory estimate counts. The
#: forward pass holds about 1.4 (H, its eigenvectors, fused elementwise work; peak RSS of 256 D3d
#: powder curves of 20 fields: 1.35 MB per curve against 0.98 MB for one copy of the Hamiltonians);
#: 3 leaves room for tangents without splitting batches that fit (the estimate was 8 before).
TEMPORARY_COPIES = 3

_AXES = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0)}


def directions(direction, names: tuple[str, ...], n_theta: int | None = None, n_phi: int | None = None,
               order: int | None = None):
    """Field directions (n, 3) and weights (n,) for "powder", "x", "y", "z" or a 3-vector.

    Raises:
      ParameterError: an unknown name, a vector that is not 3 long, or the zero vector.
    """
    if isinstance(direction, str):
        if direction == "powder":
            n_rot, mirror = field_symmetry(names)
            return powder_quadrature(n_rot, mirror, n_theta, n_phi, order)
        if direction not in _AXES:
            raise ParameterError(f"direction must be 'powder', 'x', 'y', 'z' or a 3-vector; got {direction!r}")
        vec = np.array(_AXES[direction])
    else:
        vec = np.asarray(direction, dtype=np.float64).reshape(-1)
        if vec.size != 3 or not np.all(np.isfinite(vec)):
            raise ParameterError(f"a field direction vector must have 3 finite components; got {direction!r}")
        norm = np.linalg.norm(vec)
        if norm == 0:
            raise ParameterError("the field direction is the zero vector; give e.g. (0, 0, 1) or 'z'")
        vec = vec / norm
    return vec[None, :], np.ones(1)


def _points(temps_k, fields_oe, dtype):
    temps, fields = jnp.asarray(temps_k, dtype=dtype), jnp.asarray(fields_oe, dtype=dtype)
    if temps.ndim > 1 or fields.ndim > 1:
        raise ParameterError(f"temps_k and fields_oe must be scalars or 1-D; got shapes {temps.shape}, "
                             f"{fields.shape}")
    try:
        shape = jnp.broadcast_shapes(temps.shape, fields.shape, (1,))
    except ValueError:
        raise ParameterError(f"temps_k ({temps.size}) and fields_oe ({fields.size}) must have one length "
                             "(or one of them a single value)") from None
    return jnp.broadcast_to(temps, shape), jnp.broadcast_to(fields, shape)


def _dir_ops(ion: Ion, dirs: np.ndarray, real: bool, names: tuple[str, ...]):
    """J . b per direction, which directions are real, and a sign per parameter for each direction.

    For a real field (q >= 0 only) with every q a multiple of n >= 2, a direction at azimuth
    k pi / n lies on a mirror plane: the turn by -k pi / n about z takes it into the xz plane
    (b_y = 0, real J . b) and takes B_kq to (-1)^(q k / n) B_kq (still real), leaving M . b
    unchanged. Such directions are replaced by their turned images with those signs; the rest keep
    sign +1 and stay complex unless b_y = 0.
    """
    j_ops = np.stack(spin_matrices(ion.j))
    qs = np.array([parse_stevens_name(nm)[1] for nm in names])
    signs = np.ones((dirs.shape[0], len(names)))
    n_rot = field_symmetry(names)[0]
    if real and n_rot >= 2:
        dirs = dirs.copy()
        rho = np.hypot(dirs[:, 0], dirs[:, 1])
        k = np.arctan2(dirs[:, 1], dirs[:, 0]) / (np.pi / n_rot)
        turn = (dirs[:, 1] != 0.0) & (np.abs(k - np.round(k)) < 1e-9)
        k = np.round(k).astype(int)
        signs[turn] = (-1.0) ** ((qs[None, :] * k[turn, None]) // n_rot)
        dirs[turn] = np.stack([rho[turn], np.zeros(turn.sum()), dirs[turn, 2]], -1)
    ops = np.einsum("da,aij->dij", dirs, j_ops)
    real_dir = (dirs[:, 1] == 0.0) & real
    return ops, real_dir, signs


class _Model:
    """Prepared per call: Hamiltonians, operators and the powder rule (static numpy where possible)."""

    def __init__(self, ion, params, temps_k, fields_oe, direction, dtype, n_theta, n_phi, order=None):
        names, values = stevens_params(params)
        self.ion, self.names = ion, names
        self.values = values.reshape((-1, values.shape[-1]))
        self.rdtype = jnp.dtype(dtype or jnp.result_type(values.dtype, jnp.float32))
        self.cdtype = jnp.result_type(self.rdtype, jnp.complex64)
        self.temps, self.fields = _points(temps_k, fields_oe, self.rdtype)
        self.dirs, self.weights = directions(direction, names, n_theta, n_phi, order)
        self.real = is_real(names)
        self.ops, self.real_dir, self.signs = _dir_ops(ion, self.dirs, self.real, names)
        self.batch = values.shape[:-1]

    def hamiltonian(self, values, dtype):
        """H (n, N, N) in `dtype` (real or complex) for flat parameter values (n, n_params)."""
        h = hamiltonian(self.ion, dict(zip(self.names, jnp.moveaxis(values, -1, 0))), dtype=self.rdtype)
        return h.astype(dtype)

    def groups(self):
        """(ops, weights, dtype, signs) per set of directions with one dtype (real or complex) and one
        parameter sign vector (`_dir_ops`)."""
        out = []
        for mask, dtype in ((self.real_dir, self.rdtype), (~self.real_dir, self.cdtype)):
            for signs in np.unique(self.signs[mask], axis=0):
                sub = mask & np.all(self.signs == signs, axis=1)
                ops = self.ops[sub].real if dtype == self.rdtype else self.ops[sub]
                out.append((np.asarray(ops, jnp.dtype(dtype)), self.weights[sub], dtype, signs))
        return out


def _moment_mub(ion: Ion, h, ops: np.ndarray, temps, h_eff):
    """-g <J . b> (mu_B/ion) for h (n, N, N), ops (D, N, N), temps (P,), h_eff (n, P, D) in Oe.

    `ops` stays a numpy array so that <i|J . b|i> is summed along its three bands.
    """
    zee = ion.g * MUB_OVER_KB_K_PER_OE
    return -ion.g * zeeman_thermal_mean(h, zee * h_eff, ops, 1.0 / temps)


def _moment_flat(ion, h, lam, temps, fields, ops, weights, n_iter):
    """Weighted sum over directions of M (mu_B/ion): h (n, N, N), lam (n,) -> (n, P)."""
    h_app = jnp.broadcast_to(fields[None, :, None], (h.shape[0], fields.size, ops.shape[0]))
    if lam is None:
        m = _moment_mub(ion, h, ops, temps, h_app)
    else:
        def moment_emu(hh, b):
            return NA_MUB_EMU_PER_MOL * _moment_mub(ion, hh, ops, temps, b)

        m = _mf.solve(moment_emu, h, h_app, lam[:, None, None], n_iter) / NA_MUB_EMU_PER_MOL
    return jnp.einsum("npd,d->np", m, jnp.asarray(weights, m.dtype))


def _static_zero(value) -> bool:
    return isinstance(value, (int, float)) and value == 0


def _evaluate(model: _Model, mean_field, n_iter, budget_bytes, fn_name="magnetization"):
    n = model.values.shape[0]
    lam = None
    if not _static_zero(mean_field):
        lam = jnp.broadcast_to(jnp.asarray(mean_field, model.rdtype), model.batch).reshape(n)
    total = jnp.zeros((n, model.temps.size), model.rdtype)
    dim = model.ion.dim
    for ops, weights, dtype, signs in model.groups():
        itemsize = jnp.dtype(dtype).itemsize
        # Temporaries per parameter set: TEMPORARY_COPIES Hamiltonian-sized arrays per (point, direction).
        per_item = (model.temps.size * ops.shape[0] * dim * dim * itemsize * TEMPORARY_COPIES
                    * (1 if lam is None else 2))

        def fn(values, *ll, ops=ops, weights=weights, dtype=dtype, signs=signs):
            h = model.hamiltonian(values * jnp.asarray(signs, values.dtype), dtype)
            return _moment_flat(model.ion, h, ll[0] if ll else None, model.temps,
                                model.fields, ops, weights, n_iter)

        values = after(model.values, total)  # one group's eigensolvers after the other's (`_serial`)
        args = (values,) if lam is None else (values, lam)
        total = total + map_chunked(fn, args, per_item, budget_bytes)
    return total.reshape(model.batch + (model.temps.size,))


def magnetization(ion: Ion, params: Mapping[str, object], temps_k, fields_oe, direction="powder",
                  mean_field=0.0, dtype=None, *, n_theta: int | None = None, n_phi: int | None = None,
                  order: int | None = None, n_iter: int = _mf.DEFAULT_ITERATIONS, budget_bytes: float = 256 * 1024**2) -> jnp.ndarray:
    """Magnetisation along the field, mu_B per ion, shape S + (n_points,).

    Args:
      ion: the ion (`lfjax.ion`).
      params: dict name -> array of one shape S, kelvin (Stevens Bkq, or D and E).
      temps_k: temperatures in K, scalar or (n_points,).
      fields_oe: applied fields in Oe, scalar or (n_points,), broadcast against temps_k.
      direction: "powder" (average over the sphere of the component along the field), "x", "y",
        "z", or a 3-vector in the ligand-field frame (normalised here).
      mean_field: lambda in mol/emu (scalar or shape S); see `lfjax.physics.mean_field`.
      dtype: real precision (default: the parameters', at least float32).
      n_theta, n_phi: powder product rule (default: `sphere.powder_quadrature` for the field's symmetry).
      order: Lebedev order of the powder rule (fields without a rotation axis of order >= 3 only).
      n_iter: Newton steps of the mean-field solver.
      budget_bytes: bound on the temporaries of one chunk of parameter sets.

    Raises:
      ParameterError: bad direction, parameters, or point shapes.
    """
    model = _Model(ion, params, temps_k, fields_oe, direction, dtype, n_theta, n_phi, order)
    return _evaluate(model, mean_field, n_iter, budget_bytes)


def chi_tensor(ion: Ion, params: Mapping[str, object], temps_k, dtype=None) -> jnp.ndarray:
    """Zero-field Van Vleck susceptibility tensor chi_ab (emu/mol), shape S + (n_T, 3, 3)."""
    from lfjax.constants import NA_MUB2_OVER_KB_EMU_K_PER_MOL

    h = hamiltonian(ion, params, dtype=dtype)
    rdtype = jnp.real(h).dtype
    cdtype = jnp.result_type(rdtype, jnp.complex64)
    temps = jnp.atleast_1d(jnp.asarray(temps_k, rdtype))
    jx, jy, jz = spin_matrices(ion.j)
    ops = np.stack([jx, jy, jz, jx + jy, jy + jz, jx + jz])
    ratio = van_vleck_ratio(h.astype(cdtype), jnp.asarray(ops, cdtype), 1.0 / temps, (1,) * 6)
    diag = ratio[..., :3]
    off = [(ratio[..., 3 + k] - diag[..., a] - diag[..., b]) / 2 for k, (a, b) in enumerate(((0, 1), (1, 2), (0, 2)))]
    xy, yz, xz = off
    rows = [jnp.stack([diag[..., 0], xy, xz], -1), jnp.stack([xy, diag[..., 1], yz], -1),
            jnp.stack([xz, yz, diag[..., 2]], -1)]
    tensor = jnp.stack(rows, -2)
    return NA_MUB2_OVER_KB_EMU_K_PER_MOL * ion.g**2 * tensor / temps[:, None, None]


def _chi_zero_field(ion, params, temps, direction, mean_field, dtype, n_theta, n_phi):
    """chi (emu/mol) at H = 0 along `direction` (powder: averaged), shape S + (n_points,)."""
    names, _ = stevens_params(params)
    if direction == "powder" and _static_zero(mean_field):
        return jnp.mean(chi_axes(ion, params, temps, dtype=dtype), axis=-1)
    dirs, weights = directions(direction, names, n_theta, n_phi)
    if is_axial(names):  # principal axes x, y, z, values from the diagonal path (no eigensolver)
        axes = chi_axes(ion, params, temps, dtype=dtype)  # S + (n_T, 3)
        chi_b = jnp.einsum("da,...a->...d", jnp.asarray(dirs**2, axes.dtype), axes)
    else:
        tensor = chi_tensor(ion, params, temps, dtype=dtype)
        chi_b = jnp.einsum("da,...ab,db->...d", jnp.asarray(dirs, tensor.dtype), tensor, jnp.asarray(dirs, tensor.dtype))
    if not _static_zero(mean_field):
        lam = jnp.asarray(mean_field, chi_b.dtype)
        lam = lam.reshape(lam.shape + (1, 1)) if lam.ndim else lam
        chi_b = chi_b / (1.0 - lam * chi_b)
    return jnp.einsum("...d,d->...", chi_b, jnp.asarray(weights, chi_b.dtype))


def chi(ion: Ion, params: Mapping[str, object], temps_k, fields_oe, direction="powder", mean_field=0.0,
        dtype=None, *, n_theta: int | None = None, n_phi: int | None = None,
        n_iter: int = _mf.DEFAULT_ITERATIONS, budget_bytes: float = 256 * 1024**2) -> jnp.ndarray:
    """chi = M / H in emu/mol per mole of ion, shape S + (n_points,); at H = 0 the Van Vleck limit.

    Arguments as for `magnetization`. chi T (emu K/mol) is chi * temps_k. Points with H = 0 give
    b . chi_0 . b (averaged over the powder rule, or exactly (chi_xx + chi_yy + chi_zz) / 3 for a
    powder without mean field), with chi_0 / (1 - lambda chi_0) per direction under a mean field.
    """
    model = _Model(ion, params, temps_k, fields_oe, direction, dtype, n_theta, n_phi)
    fields = model.fields
    try:
        f_np = np.asarray(fields_oe, dtype=np.float64)
        all_zero, none_zero = bool(np.all(f_np == 0)), bool(np.all(f_np != 0))
    except (TypeError, ValueError, RuntimeError):  # traced fields: compute both and select
        all_zero = none_zero = False
    parts = []
    if not all_zero:
        m = _evaluate(model, mean_field, n_iter, budget_bytes)
        safe = jnp.where(fields == 0, 1.0, fields)
        parts.append(NA_MUB_EMU_PER_MOL * m / safe)
    if not none_zero:
        parts.append(_chi_zero_field(ion, params, model.temps, direction, mean_field, dtype, n_theta, n_phi))
    if len(parts) == 1:
        return parts[0]
    return jnp.where(fields == 0, parts[1], parts[0])
