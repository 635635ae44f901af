"""Axial ligand fields: the diagonal (no eigh) Van Vleck sums equal the general path."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lfjax.physics import chi_axes, hamiltonian, ion
from lfjax.physics.blocks import chi_axes_axial, chi_axes_blocks, is_axial
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


N_FOLD = {
    "D3d": (("B20", "B40", "B43", "B60", "B63", "B66"), 3),
    "D4h": (("B20", "B40", "B44", "B60", "B64"), 4),
    "D3h": (("B20", "B40", "B60", "B66"), 6),
    "C3 (sine terms)": (("B20", "B43", "B4-3", "B6-6"), 3),
}
_SCALE = {"2": 1.0, "4": 1e-2, "6": 1e-4}


@pytest.mark.parametrize("preset", list(N_FOLD))
@pytest.mark.parametrize("name", ["Er", "Dy", "Nd", "Tb", "Ho", "Pr", "Tm"])
def test_n_block_path_equals_general_path(preset, name, x64):
    """q multiples of n: n blocks by m mod n (Kramers partners from time reversal) equal the full eigh."""
    the_ion = ion(name)
    names, n = N_FOLD[preset]
    rng = np.random.default_rng(len(name) + n)
    values = rng.uniform(-1, 1, (4, len(names))) * np.array([_SCALE[nm[1]] for nm in names])
    values[1] = 0.0  # fully degenerate
    values[2, 1:] = 0.0  # axial B20 only: degenerate pairs across blocks
    values[3, 2:] *= 1e-9  # near degeneracies
    temps = jnp.asarray(TEMPS)
    h = hamiltonian(the_ion, dict(zip(names, values.T)))
    general = np.asarray(_van_vleck_axes(the_ion, h, temps))
    fast = np.asarray(chi_axes_blocks(the_ion, names, jnp.asarray(values), temps, n))
    assert np.allclose(fast, general, rtol=1e-10, atol=0), np.abs(fast / general - 1).max()
    dispatched = np.asarray(chi_axes(the_ion, dict(zip(names, values.T)), TEMPS))
    assert np.allclose(dispatched, general, rtol=1e-10)


def test_block_plan_partners_and_links():
    from lfjax.physics.blocks import BlockPlan

    plan = BlockPlan(7.5, 3)  # Er: N = 16, blocks of 6, 5, 5; block 0 its own Kramers partner
    assert [i.size for i in plan.idx] == [6, 5, 5] and plan.partner == [0, 2, 1] and plan.reps == [0, 1]
    assert sum(mult for _, mult in plan.links) == 3
    plan = BlockPlan(8.0, 4)  # Ho: N = 17
    assert plan.partner == [0, 3, 2, 1] and plan.reps == [0, 1, 2]
    for c in range(4):  # Q maps block c onto its partner: H_p = Q H_c Q^T for a real time-even H
        q = plan.q_matrix(c)
        assert np.allclose(q @ q.T, np.eye(q.shape[0]))


def test_n_block_path_float32_and_gradients_finite(x64):
    er = ion("Er")
    names, _ = N_FOLD["D3d"]
    values = np.array([[-0.7, 4e-3, 2e-2, 3e-5, -4e-4, 2e-4], [0.0] * 6])
    params64 = dict(zip(names, values.T))
    ref = np.asarray(chi_axes(er, params64, TEMPS))
    f32 = np.asarray(chi_axes(er, params64, TEMPS, dtype=jnp.float32))
    assert np.abs(f32 / ref - 1).max() < 5e-5

    def objective(x, path):
        params = dict(zip(names, x))
        if path == "general":
            return jnp.sum(_van_vleck_axes(er, hamiltonian(er, params), jnp.asarray(TEMPS)) * jnp.array([1.0, 2.0, 3.0]))
        return jnp.sum(chi_axes(er, params, TEMPS) * jnp.array([1.0, 2.0, 3.0]))

    for x0 in map(jnp.asarray, values):
        grad = np.asarray(jax.grad(objective)(x0, "blocks"))
        assert np.all(np.isfinite(grad))
        assert np.allclose(grad, jax.grad(objective)(x0, "general"), rtol=1e-10)
