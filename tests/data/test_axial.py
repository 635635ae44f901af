"""The stream's axial route (`physics.blocks`, no eigh) against the general eigh path, and in float32."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lfjax
from lfjax.physics.blocks import chi_axes_axial
from lfjax.physics.hamiltonian import hamiltonian
from lfjax.data.config import DataConfig
from lfjax.data.prior import model_spec_of, sample_theta
from lfjax.data.stream import simulate

TEMPS = np.geomspace(1.8, 300.0, 40)


def chi_t_axes_axial(ion, b20, b40, b60, temps_k, dtype=jnp.float64):
    """(chi_xx T, chi_zz T) in emu K/mol through the diagonal axial path."""
    values = jnp.stack(jnp.broadcast_arrays(*(jnp.asarray(b, dtype) for b in (b20, b40, b60))), axis=-1)
    temps = jnp.asarray(temps_k, dtype)
    axes_t = chi_axes_axial(ion, ("B20", "B40", "B60"), values, temps) * temps[:, None]
    return axes_t[..., 0], axes_t[..., 2]


def chi_t_powder_axial(ion, b20, b40, b60, temps_k, dtype=jnp.float64):
    xx, zz = chi_t_axes_axial(ion, b20, b40, b60, temps_k, dtype)
    return (2 * xx + zz) / 3


@pytest.mark.parametrize("ion_name", ["Er3+", "Dy3+", "Yb3+", "Tb3+"])
def test_axial_path_equals_general_van_vleck_in_float64(x64, ion_name):
    ion = lfjax.ion(ion_name)
    spec = lfjax.model_spec(ion_name, preset="axial", scale_k=1000.0)
    theta = np.random.default_rng(0).uniform(spec.low, spec.high, size=(12, spec.n_params))
    params = spec.stevens_params(theta)
    b = [params.get(n, np.zeros(12)) for n in ("B20", "B40", "B60")]
    ref_axes = np.asarray(lfjax.chi_axes(ion, params, TEMPS, dtype=jnp.float64)) * TEMPS[:, None]
    xx, zz = (np.asarray(a) for a in chi_t_axes_axial(ion, *b, TEMPS, dtype=jnp.float64))
    np.testing.assert_allclose(xx, ref_axes[..., 0], rtol=1e-8)
    np.testing.assert_allclose(xx, ref_axes[..., 1], rtol=1e-8)
    np.testing.assert_allclose(zz, ref_axes[..., 2], rtol=1e-8)
    powder = np.asarray(chi_t_powder_axial(ion, *b, TEMPS, dtype=jnp.float64))
    np.testing.assert_allclose(powder, np.asarray(lfjax.chi_t_powder(ion, params, TEMPS, dtype=jnp.float64)), rtol=1e-8)


def test_free_ion_limit_and_ising_doublet(x64):
    ion = lfjax.ion("Er3+")
    zero = np.zeros(3)
    free = np.asarray(chi_t_powder_axial(ion, zero, zero, zero, TEMPS, dtype=jnp.float64))
    np.testing.assert_allclose(free, 0.1250494 * ion.g**2 * ion.j * (ion.j + 1), rtol=1e-6)  # 11.48 emu K/mol
    # B20 < 0 for J = 15/2 puts m = +-15/2 lowest; at 2 K with a large gap: Ising doublet,
    # chi_zz T = C g^2 m^2; chi_xx T is the Van Vleck term 2 C g^2 |<13/2|Jx|15/2>|^2 T / gap,
    # gap = 3 |B20| (15^2 - 13^2) / 4 = 210 K, |<13/2|Jx|15/2>|^2 = (J(J+1) - 15/2 13/2) / 4 = 3.75.
    xx, zz = chi_t_axes_axial(ion, -5.0, 0.0, 0.0, np.array([2.0]), dtype=jnp.float64)
    np.testing.assert_allclose(float(zz[0]), 0.3751481 * ion.g**2 * 7.5**2, rtol=1e-8)
    np.testing.assert_allclose(float(xx[0]), 2 * 0.3751481 * ion.g**2 * 3.75 * 2.0 / 210.0, rtol=1e-6)
    levels = np.diag(np.asarray(hamiltonian(ion, {"B20": -5.0}, dtype=jnp.float64)))
    assert np.argmin(levels) in (0, 15)


@pytest.mark.parametrize("b20", [0.0, 0.3])
def test_degenerate_kramers_pair_has_finite_gradient(x64, b20):
    # m = +-1/2 (and every +-m pair) stay exactly degenerate for any axial field; at B20 = 0 the
    # whole multiplet is degenerate and the powder derivative vanishes (a traceless perturbation).
    ion = lfjax.ion("Er3+")
    grad = jax.grad(lambda b: jnp.sum(chi_t_powder_axial(ion, b, 0.0, 0.0, TEMPS, dtype=jnp.float64)))(b20)
    assert np.isfinite(float(grad))
    step = 1e-6
    fd = (np.sum(np.asarray(chi_t_powder_axial(ion, b20 + step, 0.0, 0.0, TEMPS, dtype=jnp.float64)))
          - np.sum(np.asarray(chi_t_powder_axial(ion, b20 - step, 0.0, 0.0, TEMPS, dtype=jnp.float64)))) / (2 * step)
    # central-difference round-off: ~1e-16 x sum (~460) / 1e-6 ~ 1e-7
    np.testing.assert_allclose(float(grad), fd, rtol=1e-5, atol=1e-6)
    if b20 == 0.0:
        assert abs(float(grad)) < 1e-9


def test_float32_axial_stream_agrees_with_float64_on_prior_draws():
    cfg = DataConfig(ion="Er3+", preset="axial", scale_k=1000.0, n_temps=64)
    theta = np.asarray(sample_theta(jax.random.key(0), 2000, cfg))
    c32 = np.asarray(jax.jit(lambda t: simulate(cfg, t)["chi_t"])(theta))
    assert c32.dtype == np.float32
    spec = model_spec_of(cfg)
    with jax.enable_x64(True):
        ref = np.asarray(lfjax.chi_t_powder(lfjax.ion("Er3+"), spec.stevens_params(theta[:, :3].astype(np.float64)),
                                            cfg.temps_k(), dtype=jnp.float64))
    assert np.max(np.abs(c32 / ref - 1)) < 1e-5
