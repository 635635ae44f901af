"""Axial ligand fields: the diagonal (no eigh) Van Vleck sums equal the general path."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lfjax.physics import chi_axes, hamiltonian, ion
from lfjax.physics.blocks import chi_axes_axial, is_axial
from lfjax.physics.susceptibility import _van_vleck_axes

TEMPS = np.geomspace(1.8, 300, 12)


@pytest.mark.parametrize("name", ["Er", "Dy", "Tb", "Ce", "Ho", "Nd"])
def test_axial_path_equals_general_path(name, x64):
    the_ion = ion(name)
    for params in ({"B20": -0.8, "B40": 4e-3, "B60": -2e-5}, {"B20": 0.0, "B40": 0.0}, {"B40": 1e-3}):
        names = tuple(params)
        assert is_axial(names)
        general = _van_vleck_axes(the_ion, hamiltonian(the_ion, params), jnp.asarray(TEMPS))
        fast = chi_axes_axial(the_ion, names, jnp.array([params[n] for n in names]), jnp.asarray(TEMPS))
        assert np.allclose(fast, general, rtol=1e-12)
        assert np.allclose(chi_axes(the_ion, params, TEMPS), general, rtol=1e-12)  # dispatched automatically
    assert not is_axial(("B20", "B43"))


def test_axial_gradients_finite_at_degeneracy_and_match_finite_differences(x64):
    er = ion("Er")

    def objective(x):
        return jnp.sum(chi_axes(er, {"B20": x[0], "B40": x[1], "B60": x[2]}, TEMPS) * jnp.array([1.0, 2.0, 3.0]))

    for x0 in (jnp.zeros(3), jnp.array([-0.5, 2e-3, 1e-5])):
        grad = np.asarray(jax.grad(objective)(x0))
        assert np.all(np.isfinite(grad))
        general = jax.grad(lambda x: jnp.sum(_van_vleck_axes(
            er, hamiltonian(er, {"B20": x[0], "B40": x[1], "B60": x[2]}), jnp.asarray(TEMPS)) * jnp.array([1.0, 2.0, 3.0])))(x0)
        assert np.allclose(grad, general, rtol=1e-8, atol=1e-8 * np.max(np.abs(general)))
