"""Thermal spectral sums of a Hermitian matrix with exact, degeneracy-safe derivatives.

Both functions take K = H / T (dimensionless, shape (..., N, N)) and operators A_a
(shape (..., n_a, N, N)). With K = V diag(x) V^dagger, w_i = exp(-x_i), Z = sum_i w_i and
A~ = V^dagger A V:

- `van_vleck_ratio`: R_a = -sum_ij s_a A~_ij A~_ji f[x_i, x_j] / Z, the Van Vleck sum
  (chi_aa = N_A mu_B^2 g^2 / (k_B T) * R_a). f[.,.] is the first divided difference of exp(-x),
  which tends to -exp(-x_i) for degenerate pairs, so exact and near degeneracies (Kramers
  doublets, D = E = 0) are one smooth formula. s_a = +1 for Hermitian A_a and -1 for a real
  antisymmetric A_a = i J_y (used to keep real Hamiltonians real).
- `thermal_mean`: <A_a> = sum_i w_i A~_ii / Z.

`jnp.linalg.eigh` has infinite eigenvector derivatives at degenerate eigenvalues, so both carry a
custom JVP from the Daleckii-Krein formulas, which involve only divided differences
(f[x_i, x_j] and f[x_i, x_j, x_k], smooth in all arguments):
  d Tr(A f(K)) = sum_ij A~_ji f[x_i, x_j] dK~_ij,
  d sum_ij A~_ij A~_ji f[x_i, x_j] = 2 sum_ijk f[x_i, x_j, x_k] A~_ki A~_ij dK~_jk.
The operators are treated as constants (their tangent is ignored).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp


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


def _spectrum(k_mat):
    x, vecs = jnp.linalg.eigh(k_mat)
    x = x - x[..., :1]  # ascending: shift the ground level to 0
    return x, vecs, jnp.exp(-x)


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def van_vleck_ratio(k_mat, ops, signs):
    """Returns R_a (..., n_a); see the module docstring. `signs` is a tuple of +-1 per operator."""
    x, vecs, w = _spectrum(k_mat)
    a_t = _rotate(vecs, ops)
    s = jnp.asarray(signs, dtype=x.dtype)
    pair = jnp.real(a_t * jnp.swapaxes(a_t, -1, -2))  # A~_ij A~_ji
    phi = -jnp.einsum("...aij,...ij->...a", pair, divided_1(x)) * s
    return phi / jnp.sum(w, axis=-1, keepdims=True)


@van_vleck_ratio.defjvp
def _van_vleck_ratio_jvp(signs, primals, tangents):
    k_mat, ops = primals
    k_dot, _ = tangents
    x, vecs, w = _spectrum(k_mat)
    a_t = _rotate(vecs, ops)
    s = jnp.asarray(signs, dtype=x.dtype)
    z = jnp.sum(w, axis=-1, keepdims=True)
    pair = jnp.real(a_t * jnp.swapaxes(a_t, -1, -2))
    phi = -jnp.einsum("...aij,...ij->...a", pair, divided_1(x)) * s
    ratio = phi / z
    kd_t = _rotate(vecs, k_dot[..., None, :, :])[..., 0, :, :]
    dz = -jnp.sum(w * jnp.real(jnp.diagonal(kd_t, axis1=-2, axis2=-1)), axis=-1, keepdims=True)
    dphi = -2.0 * s * jnp.real(
        jnp.einsum("...ijk,...aki,...aij,...jk->...a", divided_2(x), a_t, a_t, kd_t)
    )
    return ratio, (dphi - ratio * dz) / z


@jax.custom_jvp
def thermal_mean(k_mat, ops):
    """Returns <A_a> = Tr(A_a exp(-K)) / Tr(exp(-K)), shape (..., n_a); see the module docstring."""
    x, vecs, w = _spectrum(k_mat)
    diag = jnp.real(jnp.diagonal(_rotate(vecs, ops), axis1=-2, axis2=-1))
    return jnp.einsum("...ai,...i->...a", diag, w) / jnp.sum(w, axis=-1, keepdims=True)


@thermal_mean.defjvp
def _thermal_mean_jvp(primals, tangents):
    k_mat, ops = primals
    k_dot, _ = tangents
    x, vecs, w = _spectrum(k_mat)
    a_t = _rotate(vecs, ops)
    z = jnp.sum(w, axis=-1, keepdims=True)
    mean = jnp.einsum("...ai,...i->...a", jnp.real(jnp.diagonal(a_t, axis1=-2, axis2=-1)), w) / z
    kd_t = _rotate(vecs, k_dot[..., None, :, :])[..., 0, :, :]
    dz = -jnp.sum(w * jnp.real(jnp.diagonal(kd_t, axis1=-2, axis2=-1)), axis=-1, keepdims=True)
    dnum = jnp.real(jnp.einsum("...aji,...ij,...ij->...a", a_t, divided_1(x), kd_t))
    return mean, (dnum - mean * dz) / z
