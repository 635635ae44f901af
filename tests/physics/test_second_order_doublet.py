"""The doublet (Kramers) form of `chi_t_powder_de` against the exact general path."""

import jax.numpy as jnp
import numpy as np
import pytest

from lfjax.physics import chi_t_powder, chi_t_powder_de, ion

TEMPS_K = np.geomspace(1.8, 300.0, 32)


@pytest.mark.parametrize("name", ["Er3+", "Ce3+", "Dy3+"])
def test_kramers_doublet_form_matches_general_path_float64(x64, name):
    the_ion = ion(name)
    rng = np.random.default_rng(3)
    d = rng.uniform(-15.0, 15.0, 24)
    e = np.abs(d) / 3 * rng.uniform(0.0, 1.0, 24)
    d[:3], e[:3] = [5.0, -5.0, 4.0], [0.0, 5.0 / 3, 4.0 / 3]  # axial; E = |D|/3 (sign of D moot)
    fast = np.asarray(chi_t_powder_de(the_ion, d, e, TEMPS_K, dtype=jnp.float64))
    exact = np.asarray(chi_t_powder(the_ion, {"D": d, "E": e}, TEMPS_K, dtype=jnp.float64))
    np.testing.assert_allclose(fast, exact, rtol=1e-12)


def test_float32_agrees_with_float64_and_keeps_broadcast_shape(x64):
    er = ion("Er3+")
    d = np.linspace(-15.0, 15.0, 12).reshape(3, 4)
    e = 0.5
    f32 = chi_t_powder_de(er, d.astype(np.float32), np.float32(e), TEMPS_K, dtype=jnp.float32)
    f64 = chi_t_powder_de(er, d, e, TEMPS_K, dtype=jnp.float64)
    assert f32.shape == (3, 4, 32) and f32.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(f32, np.float64), np.asarray(f64), rtol=2e-5)


def test_high_temperature_limit_is_free_ion_curie_constant(x64):
    er = ion("Er3+")
    chi_t = chi_t_powder_de(er, -5.0, 1.0, np.array([1e6]), dtype=jnp.float64)
    np.testing.assert_allclose(float(chi_t[0]), er.curie_constant, rtol=1e-5)
