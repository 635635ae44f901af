"""Thermal spectral sums of a Hermitian matrix with exact, degeneracy-safe derivatives.

Both functions take a Hamiltonian H (K, shape (..., N, N)), operators A_a (shape
(..., n_a, N, N)) and inverse temperatures beta (1/K, shape (..., n_b), broadcast against H's
leading axes); H is diagonalised once for all temperatures. With H = V diag(E) V^dagger,
x_i = beta (E_i - E_0), w_i = exp(-x_i), Z = sum_i w_i and A~ = V^dagger A V:

- `van_vleck_ratio`: R_a = -sum_ij s_a A~_ij A~_ji f[x_i, x_j] / Z, the Van Vleck sum
  (chi_aa = N_A mu_B^2 g^2 beta / k_B * R_a). f[.,.] is the first divided difference of exp(-x),
  which tends to -exp(-x_i) for degenerate pairs, so exact and near degeneracies (Kramers
  doublets, D = E = 0) are one smooth formula. s_a = +1 for Hermitian A_a and -1 for a real
  antisymmetric A_a = i J_y (used to keep real Hamiltonians real).
- `thermal_mean`: <A_a> = sum_i w_i A~_ii / Z. Its value needs only the diagonal Re A~_ii; for
  operators given as numpy arrays with few non-zero diagonals (J . b has three) that diagonal is
  summed along those bands, O(N^2) per matrix instead of the O(N^3) product V^dagger A V, which
  only the derivative computes.

`jnp.linalg.eigh` has infinite eigenvector derivatives at degenerate eigenvalues, so both carry a
custom JVP from the Daleckii-Krein formulas for K = beta H, which involve only divided
differences (f[x_i, x_j] and f[x_i, x_j, x_k], smooth in all arguments):
  d Tr(A f(K)) = sum_ij A~_ji f[x_i, x_j] dK~_ij,
  d sum_ij A~_ij A~_ji f[x_i, x_j] = 2 sum_ijk f[x_i, x_j, x_k] A~_ki A~_ij dK~_jk,
with dK~ = beta dH~ + dbeta diag(E). The operators are constants (their tangent is ignored).
Outputs have shape (..., n_b, n_a).

`zeeman_thermal_mean` is `thermal_mean` for the Zeeman sweeps of M(H), H = H_LF + s A with the
operator A itself: on the CPU its forward pass builds the matrices, diagonalises them and sums
<i|A|i> inside the host's threads (`_host_eigh`), and its JVP is `thermal_mean`'s. Every
eigensolver here goes through `_host_eigh.eigh` (all cores on the CPU, `jnp.linalg.eigh`
elsewhere).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.physics import _host_eigh


def _phi(d):
    """(1 - exp(-d)) / d for d >= 0, equal to 1 at d = 0."""
    safe = jnp.where(d > 0, d, 1.0)
    return jnp.where(d > 0, -jnp.expm1(-safe) / safe, 1.0)


def _minus_dphi(w):
    """-phi'(w) = (1 - exp(-w)(1 + w)) / w^2 for w >= 0, by its series below 0.5."""
    safe = jnp.where(w > 0.5, w, 1.0)
    direct = -jnp.expm1(-safe) / safe**2 - jnp.exp(-safe) / safe
    # sum_k (-1)^k (k + 1) w^k / (k + 2)!, to k = 8 (truncation < 1e-9 at w = 0.5).
    coeffs = [1 / 2, -1 / 3, 1 / 8, -1 / 30, 1 / 144, -1 / 840, 1 / 5760, -1 / 45360, 1 / 403200]
    series = jnp.zeros_like(w)
    for c in reversed(coeffs):
        series = series * w + c
    return jnp.where(w > 0.5, direct, series)


def divided_1(x):
    """First divided differences of exp(-x): (..., N) -> (..., N, N), diagonal -exp(-x_i)."""
    a, b = x[..., :, None], x[..., None, :]
    return -jnp.exp(-jnp.minimum(a, b)) * _phi(jnp.abs(a - b))


def divided_2(x):
    """Second divided differences of exp(-x): (..., N) -> (..., N, N, N), all positive."""
    n = x.shape[-1]
    shape = x.shape[:-1] + (n, n, n)
    triple = jnp.stack(
        [
            jnp.broadcast_to(x[..., :, None, None], shape),
            jnp.broadcast_to(x[..., None, :, None], shape),
            jnp.broadcast_to(x[..., None, None, :], shape),
        ],
        axis=-1,
    )
    lo, mid, hi = jnp.moveaxis(jnp.sort(triple, axis=-1), -1, 0)
    u, v = mid - lo, hi - lo
    gap = v - u
    delta = 1e-3 if x.dtype == jnp.float64 else 2e-2
    safe_gap = jnp.where(gap > delta, gap, 1.0)
    far = (_phi(u) - _phi(v)) / safe_gap
    near = _minus_dphi((u + v) / 2)
    return jnp.exp(-lo) * jnp.where(gap > delta, far, near)


def _rotate(vecs, ops):
    """V^dagger A V for a batch of operators: vecs (..., N, N), ops (..., n_a, N, N)."""
    vh = jnp.conj(jnp.swapaxes(vecs, -1, -2))
    return jnp.einsum("...ij,...ajk,...kl->...ail", vh, ops, vecs)


def _spectrum(h, beta):
    """Levels, eigenvectors, reduced levels x (..., n_b, N) and Boltzmann weights w."""
    levels, vecs = _host_eigh.eigh(h)
    levels = levels - levels[..., :1]  # ascending: ground level at 0
    x = beta[..., :, None] * levels[..., None, :]
    return levels, vecs, x, jnp.exp(-x)


def _k_dot(vecs, levels, beta, h_dot, beta_dot):
    """dK~ = beta V^dagger dH V + dbeta diag(E), shape (..., n_b, N, N)."""
    hd_t = _rotate(vecs, h_dot[..., None, :, :])[..., 0, :, :]
    eye = jnp.eye(levels.shape[-1], dtype=levels.dtype)
    return beta[..., :, None, None] * hd_t[..., None, :, :] + (
        beta_dot[..., :, None, None] * (levels[..., None, :, None] * eye)
    )


def _van_vleck_parts(h, ops, beta, signs):
    levels, vecs, x, w = _spectrum(h, beta)
    a_t = _rotate(vecs, ops)  # (..., n_a, N, N)
    s = jnp.asarray(signs, dtype=x.dtype)
    pair = jnp.real(a_t * jnp.swapaxes(a_t, -1, -2))  # A~_ij A~_ji
    phi = -jnp.einsum("...aij,...bij->...ba", pair, divided_1(x)) * s
    return levels, vecs, x, w, a_t, s, phi / jnp.sum(w, axis=-1)[..., None]


@functools.partial(jax.custom_jvp, nondiff_argnums=(3,))
def van_vleck_ratio(h, ops, beta, signs):
    """Returns R_a (..., n_b, n_a); see the module docstring. `signs` is a tuple of +-1 per operator."""
    return _van_vleck_parts(h, ops, beta, signs)[-1]


@van_vleck_ratio.defjvp
def _van_vleck_ratio_jvp(signs, primals, tangents):
    h, ops, beta = primals
    h_dot, _, beta_dot = tangents
    levels, vecs, x, w, a_t, s, ratio = _van_vleck_parts(h, ops, beta, signs)
    z = jnp.sum(w, axis=-1)[..., None]
    kd_t = _k_dot(vecs, levels, beta, h_dot, jnp.broadcast_to(beta_dot, beta.shape))
    dz = -jnp.sum(w * jnp.real(jnp.diagonal(kd_t, axis1=-2, axis2=-1)), axis=-1)[..., None]
    dphi = -2.0 * s * jnp.real(
        jnp.einsum("...bijk,...aki,...aij,...bjk->...ba", divided_2(x), a_t, a_t, kd_t)
    )
    return ratio, (dphi - ratio * dz) / z


#: Most non-zero diagonals for which `thermal_mean` sums A~_ii along the bands of A.
MAX_BANDS = 5


def static_bands(ops) -> tuple[int, ...] | None:
    """Offsets d of the diagonals A_{j, j + d} that are non-zero in some operator of `ops`.

    Only for operators known when the function is traced (numpy arrays or concrete jax arrays);
    returns None for traced operators or more than `MAX_BANDS` diagonals (then A~_ii comes from
    the dense product).
    """
    try:
        arr = np.asarray(ops)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None
    n = arr.shape[-1]
    bands = tuple(d for d in range(1 - n, n) if np.any(np.diagonal(arr, d, axis1=-2, axis2=-1) != 0))
    return bands if len(bands) <= MAX_BANDS else None


def _diagonal_of_rotated(vecs, ops, bands):
    """Re (V^dagger A_a V)_ii, shape (..., n_a, N), without forming the rotated matrices.

    Dense: sum_j conj(V_ji) (A V)_ji. Banded (offsets `bands`): `_host_eigh.banded_diagonal`.
    """
    ops = jnp.asarray(ops, dtype=vecs.dtype)
    if bands is None:
        av = jnp.matmul(ops, vecs[..., None, :, :])
        return jnp.real(jnp.sum(jnp.conj(vecs)[..., None, :, :] * av, axis=-2))
    bvals = _host_eigh.band_values(ops, bands, xp=jnp)  # (..., n_a, n_bands, N)
    return _host_eigh.banded_diagonal(vecs[..., None, :, :], bvals, bands, xp=jnp)


def _thermal_value(h, ops, beta, bands):
    """<A_a> from the levels and the diagonal of V^dagger A V only (the forward pass)."""
    levels, vecs, x, w = _spectrum(h, beta)
    diag = _diagonal_of_rotated(vecs, ops, bands)  # (..., n_a, N)
    return jnp.einsum("...ai,...bi->...ba", diag, w) / jnp.sum(w, axis=-1)[..., None]


def _thermal_parts(h, ops, beta):
    levels, vecs, x, w = _spectrum(h, beta)
    a_t = _rotate(vecs, ops)
    diag = jnp.real(jnp.diagonal(a_t, axis1=-2, axis2=-1))  # (..., n_a, N)
    mean = jnp.einsum("...ai,...bi->...ba", diag, w) / jnp.sum(w, axis=-1)[..., None]
    return levels, vecs, x, w, a_t, mean


def thermal_mean(h, ops, beta):
    """Returns <A_a> = Tr(A_a exp(-beta H)) / Tr(exp(-beta H)), shape (..., n_b, n_a).

    Pass constant operators as numpy arrays: banded ones (`static_bands`) then cost O(N^2) per
    matrix in the forward pass.
    """
    return _thermal_mean(h, ops, beta, static_bands(ops))


@functools.partial(jax.custom_jvp, nondiff_argnums=(3,))
def _thermal_mean(h, ops, beta, bands):
    return _thermal_value(h, ops, beta, bands)


@_thermal_mean.defjvp
def _thermal_mean_jvp(bands, primals, tangents):
    h, ops, beta = primals
    h_dot, _, beta_dot = tangents
    levels, vecs, x, w, a_t, mean = _thermal_parts(h, ops, beta)
    z = jnp.sum(w, axis=-1)[..., None]
    kd_t = _k_dot(vecs, levels, beta, h_dot, jnp.broadcast_to(beta_dot, beta.shape))
    dz = -jnp.sum(w * jnp.real(jnp.diagonal(kd_t, axis1=-2, axis2=-1)), axis=-1)[..., None]
    dnum = jnp.real(jnp.einsum("...aji,...bij,...bij->...ba", a_t, divided_1(x), kd_t))
    return mean, (dnum - mean * dz) / z


def _weighted_mean(levels, diag, beta):
    """sum_i w_i diag_i / sum_i w_i with w_i = exp(-beta (E_i - E_0)): levels, diag (..., N), beta (...)."""
    x = beta[..., None] * (levels - levels[..., :1])
    w = jnp.exp(-x)
    return jnp.sum(diag * w, axis=-1) / jnp.sum(w, axis=-1)


def zeeman_thermal_mean(h0, scale, ops: np.ndarray, beta):
    """<A_d> in the state of H = h0[m] + scale[m, p, d] A_d at inverse temperature beta[p].

    Args:
      h0: (M, N, N) Hamiltonians (K).
      scale: (M, P, D) coefficients of the operators (K per unit of A).
      ops: (D, N, N) numpy operators (constants), e.g. J . b per field direction.
      beta: (P,) inverse temperatures (1/K).

    Returns:
      (M, P, D). Equal to `thermal_mean(h0[:, None, None] + scale[..., None, None] * ops,
      ops[:, None], beta[:, None, None])[..., 0, 0]`, and differentiated as that.
    """
    ops = np.asarray(ops)
    bands = static_bands(ops)

    def dense(h0, scale, beta):
        h = h0[:, None, None] + scale[..., None, None] * jnp.asarray(ops, h0.dtype)
        return _thermal_mean(h, ops[:, None], beta[:, None, None], bands)[..., 0, 0]

    if bands is None or not _host_eigh.active():
        return dense(h0, scale, beta)

    @jax.custom_jvp
    def fused(h0, scale, beta):
        levels, diag = _host_eigh.zeeman_levels_diag(h0, scale, ops, bands)
        return _weighted_mean(levels, diag, beta[:, None])

    @fused.defjvp
    def _fused_jvp(primals, tangents):
        return jax.jvp(dense, primals, tangents)

    return fused(h0, scale, beta)
