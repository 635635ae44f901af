"""The fast (D, E) path against the general path."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lfjax.physics import chi_t_powder, chi_t_powder_de, ion

TEMPS = np.geomspace(1.8, 300, 64)


@pytest.mark.parametrize("name", ["Er", "Dy", "Yb", "Ce", "Tb", "Ho", "Pr", "3/2"])
def test_fast_path_matches_general_float64(name, x64):
    the_ion = ion(name, g=2.0) if "/" in name else ion(name)
    rng = np.random.default_rng(0)
    d, e = rng.uniform(-15, 15, 40), rng.uniform(-5, 5, 40)
    d[:3], e[:3] = [0.0, 4.0, -6.0], [0.0, 0.0, 2.0]  # free ion, E = 0, E = -D/3
    ref = chi_t_powder(the_ion, {"D": d, "E": e}, TEMPS)
    fast = chi_t_powder_de(the_ion, d, e, TEMPS, dtype=jnp.float64)
    assert np.max(np.abs(fast - ref) / ref) < 1e-8


def test_fast_path_float32_er():
    rng = np.random.default_rng(3)
    d, e = rng.uniform(-15, 15, 500), rng.uniform(-5, 5, 500)
    f32 = chi_t_powder_de(ion("Er"), d, e, TEMPS)
    assert f32.dtype == jnp.float32
    with jax.enable_x64(True):
        f64 = np.asarray(chi_t_powder_de(ion("Er"), d, e, TEMPS, dtype=jnp.float64))
    assert np.max(np.abs(np.asarray(f32, np.float64) - f64) / f64) < 1e-5


def test_fast_path_shapes_and_jit():
    er = ion("Er")
    out = jax.jit(lambda d, e: chi_t_powder_de(er, d, e, TEMPS))(jnp.zeros((2, 3)), jnp.ones((2, 3)))
    assert out.shape == (2, 3, 64)
