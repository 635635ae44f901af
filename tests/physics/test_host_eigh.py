"""Eigensolvers on the host's cores (`physics._host_eigh`): the numbers of jnp.linalg.eigh in every
precision, NaN for bad matrices, vmap, the fused Zeeman forward pass and its derivative."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lfjax.physics import _host_eigh, ion
from lfjax.physics._spectral import thermal_mean, zeeman_thermal_mean
from lfjax.physics.operators import spin_matrices


def _hermitian(rng, shape, dtype):
    a = rng.normal(size=shape)
    if np.issubdtype(dtype, np.complexfloating):
        a = a + 1j * rng.normal(size=shape)
    return (a + np.conj(np.swapaxes(a, -1, -2))).astype(dtype)


def _check_decomposition(h, levels, vecs, tol):
    levels, vecs = np.asarray(levels, np.float64), np.asarray(vecs)
    assert np.all(np.diff(levels, axis=-1) >= -tol)  # ascending
    rebuilt = np.einsum("...ij,...j,...kj->...ik", vecs, levels, np.conj(vecs))
    assert np.max(np.abs(rebuilt - h)) < tol * np.max(np.abs(h))


@pytest.mark.parametrize("dtype", [np.float32, np.complex64, np.float64, np.complex128])
def test_eigh_decomposes_like_jnp_in_every_precision(dtype):
    h = _hermitian(np.random.default_rng(0), (3, 70, 6, 6), dtype)  # 210 matrices: split over threads
    with jax.enable_x64(np.dtype(dtype).itemsize >= 8 and dtype != np.complex64):
        levels, vecs = jax.jit(_host_eigh.eigh)(jnp.asarray(h))
        assert levels.dtype == jnp.finfo(h.dtype).dtype and vecs.dtype == h.dtype  # no silent float32
        ref = np.asarray(jnp.linalg.eigh(jnp.asarray(h))[0])
        eager = np.asarray(_host_eigh.eigh(jnp.asarray(h))[0])
    tol = 1e-12 if np.finfo(levels.dtype).bits == 64 else 1e-5
    _check_decomposition(h, levels, vecs, tol)
    assert np.max(np.abs(np.asarray(levels) - ref)) < tol * np.max(np.abs(ref))
    np.testing.assert_array_equal(eager, np.asarray(levels))


def test_eigh_gives_nan_for_a_non_finite_matrix_only(x64):
    h = _hermitian(np.random.default_rng(1), (80, 4, 4), np.complex128)
    h[5, 0, 0] = np.nan
    levels, vecs = jax.jit(_host_eigh.eigh)(jnp.asarray(h))
    levels = np.asarray(levels)
    assert np.all(np.isnan(levels[5])) and np.all(np.isnan(np.asarray(vecs)[5]))
    others = np.delete(np.arange(80), 5)
    assert np.all(np.isfinite(levels[others]))
    _check_decomposition(h[others], levels[others], np.asarray(vecs)[others], 1e-12)


def test_eigh_under_vmap_and_disabled_context(x64):
    h = jnp.asarray(_hermitian(np.random.default_rng(2), (4, 50, 5, 5), np.float64))
    mapped = jax.vmap(_host_eigh.eigh)(h)[0]
    np.testing.assert_allclose(mapped, jnp.linalg.eigh(h)[0], rtol=0, atol=1e-12)
    assert "pure_callback" in str(jax.make_jaxpr(lambda x: _host_eigh.eigh(x))(h))
    with _host_eigh.disabled():  # decided when a function is traced (a fresh function here)
        assert not _host_eigh.active()
        assert "pure_callback" not in str(jax.make_jaxpr(lambda x: _host_eigh.eigh(x))(h))
    assert _host_eigh.active()


def _zeeman_setup(dtype):
    er = ion("Er3+")
    rng = np.random.default_rng(3)
    jx, jy, jz = spin_matrices(er.j)
    dirs = np.array([[0.0, 0.0, 1.0], [0.6, 0.0, 0.8], [0.36, 0.48, 0.8]])
    ops = np.einsum("da,aij->dij", dirs, np.stack([jx, jy, jz])).astype(dtype)
    h0 = _hermitian(rng, (3, 16, 16), np.float64) * 5.0
    scale = rng.uniform(0.0, 6.0, (3, 4, 3))  # (M, P, D): K per unit of J . b
    beta = np.array([0.5, 0.2, 0.1, 1.0])
    return jnp.asarray(h0, dtype), jnp.asarray(scale), ops, jnp.asarray(beta)


def _dense(h0, scale, ops, beta):
    h = h0[:, None, None] + scale[..., None, None] * jnp.asarray(ops, h0.dtype)
    return thermal_mean(h, ops[:, None], beta[:, None, None])[..., 0, 0]


def test_zeeman_forward_pass_and_derivative_equal_the_dense_thermal_mean(x64):
    h0, scale, ops, beta = _zeeman_setup(np.complex128)
    fused = jax.jit(lambda h, s, b: zeeman_thermal_mean(h, s, ops, b))  # operators: numpy constants
    assert "pure_callback" in str(jax.make_jaxpr(lambda h, s, b: zeeman_thermal_mean(h, s, ops, b))(h0, scale, beta))
    value = fused(h0, scale, beta)
    with _host_eigh.disabled():
        ref = jax.jit(lambda h, s, b: _dense(h, s, ops, b))(h0, scale, beta)
    assert value.shape == (3, 4, 3)
    np.testing.assert_allclose(value, ref, rtol=1e-10, atol=1e-12)

    def loss(fn, s):
        return jnp.sum(jnp.sin(fn(h0, s, ops, beta)))

    grad = jax.grad(lambda s: loss(zeeman_thermal_mean, s))(scale)
    with _host_eigh.disabled():
        grad_ref = jax.grad(lambda s: loss(_dense, s))(scale)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-8, atol=1e-10)


def test_zeeman_kernel_under_vmap_matches_one_call_at_a_time(x64):
    h0, scale, ops, beta = _zeeman_setup(np.complex128)
    stacked = jnp.stack([scale, 2.0 * scale])
    mapped = jax.vmap(lambda s: zeeman_thermal_mean(h0, s, ops, beta))(stacked)
    for k in range(2):
        np.testing.assert_allclose(mapped[k], zeeman_thermal_mean(h0, stacked[k], ops, beta), rtol=1e-12)


def test_the_switch_turns_the_host_path_off(monkeypatch):
    h = jnp.zeros((10, 3, 3))
    assert "pure_callback" in str(jax.make_jaxpr(lambda x: _host_eigh.eigh(x))(h))
    monkeypatch.setenv("LFJAX_HOST_EIGH", "0")
    assert "pure_callback" not in str(jax.make_jaxpr(lambda x: _host_eigh.eigh(x))(h))
